"""Redis pub/sub between dispatch instances: notices, never the record.

What crosses Redis is small and safe to lose: "the log has grown to seq N",
presence (who was heard, where), and "reload this setting". An instance that
misses a notice (Redis restarted, a network blip) loses nothing: the log is in
the database, and each instance also looks at it once a second
(services/cluster.py). So publishing never blocks or fails a write: notices
wait in a bounded queue and the oldest are dropped if Redis is away.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], None]


class RedisLink:
    """One connection to publish and one to listen, each reconnecting on its own."""

    def __init__(
        self, url: str, prefix: str, timeout_s: float = 2.0, queue_max: int = 1000
    ) -> None:
        self.url = url
        self.prefix = prefix
        self.timeout_s = timeout_s
        self._out: asyncio.Queue[tuple[str, str]] = asyncio.Queue(queue_max)
        self._handlers: dict[str, Handler] = {}
        self.connected = False  # the listener's state, for /api/health and tests
        self.dropped = 0  # notices dropped while Redis was away

    def channel(self, name: str) -> str:
        return f"{self.prefix}:{name}"

    def on(self, name: str, handler: Handler) -> None:
        self._handlers[self.channel(name)] = handler

    def publish(self, name: str, message: dict[str, Any]) -> None:
        """Queue a notice; never waits. A full queue drops the oldest (a newer one says more)."""
        item = (self.channel(name), json.dumps(message, separators=(",", ":")))
        if self._out.full():
            with contextlib.suppress(asyncio.QueueEmpty):
                self._out.get_nowait()
                self.dropped += 1
        self._out.put_nowait(item)

    async def run(self) -> None:
        """Both loops, until cancelled."""
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self._publish_loop())
            tasks.create_task(self._listen_loop())

    def _client(self) -> aioredis.Redis:
        return aioredis.Redis.from_url(
            self.url,
            socket_timeout=self.timeout_s,
            socket_connect_timeout=self.timeout_s,
            health_check_interval=5,
        )

    async def _publish_loop(self) -> None:
        backoff = 0.1
        while True:
            client = self._client()
            try:
                while True:
                    channel, body = await self._out.get()
                    try:
                        async with asyncio.timeout(self.timeout_s):
                            await client.publish(channel, body)
                    except (RedisError, OSError, TimeoutError):
                        self.dropped += 1
                        raise
                    backoff = 0.1
            except (RedisError, OSError, TimeoutError) as exc:
                log.warning("redis publish failed (%s); retrying in %.1f s", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await client.aclose()

    async def _listen_loop(self) -> None:
        backoff = 0.1
        while True:
            client = self._client()
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            try:
                async with asyncio.timeout(self.timeout_s):
                    await pubsub.subscribe(*self._handlers)
                self.connected = True
                backoff = 0.1
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is None:
                        async with asyncio.timeout(self.timeout_s):
                            await pubsub.ping()  # notices a dead server within seconds
                        continue
                    self._dispatch(message)
            except (RedisError, OSError, TimeoutError) as exc:
                self.connected = False
                log.warning("redis subscription lost (%s); retrying in %.1f s", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)
            finally:
                self.connected = False
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
                    await client.aclose()

    def _dispatch(self, message: dict[str, Any]) -> None:
        if message.get("type") != "message":
            return  # the answers to our pings
        channel = message["channel"]
        channel = channel.decode() if isinstance(channel, bytes) else channel
        handler = self._handlers.get(channel)
        if handler is None:
            return
        try:
            handler(json.loads(message["data"]))
        except Exception:  # one bad notice must not stop the listener
            log.exception("redis notice on %s could not be handled", channel)
