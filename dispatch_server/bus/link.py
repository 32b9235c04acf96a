"""The link between instances, chosen by the bus URL's scheme (as encode/broadcaster
does): `redis://` (or `rediss://`) for a real cluster, `memory://` for the in-memory twin.

Both carry small notices that are safe to lose (the log is in the database).
The twin delivers within one process, among links that share a `MemoryBroker`:
tests run two instances' cluster logic against it without Redis; a single
instance with no bus URL gets a twin of its own, which nobody else hears.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any, Protocol

from dispatch_server.bus.redis import RedisLink

Handler = Callable[[dict[str, Any]], None]


class Link(Protocol):
    connected: bool

    def on(self, name: str, handler: Handler) -> None: ...

    def publish(self, name: str, message: dict[str, Any]) -> None:
        """Queue a notice; never waits, never fails a caller."""
        ...

    async def run(self) -> None:
        """Keep the link up until cancelled."""
        ...


class MemoryBroker:
    """What the in-memory links share: every link subscribed to a channel gets each notice,
    the sender's own included (as with Redis)."""

    def __init__(self) -> None:
        self.links: list[MemoryLink] = []


class MemoryLink:
    def __init__(self, broker: MemoryBroker | None = None, prefix: str = "dispatch") -> None:
        self.prefix = prefix
        self.broker = broker or MemoryBroker()
        self.broker.links.append(self)
        self._handlers: dict[str, Handler] = {}
        self.connected = True

    def on(self, name: str, handler: Handler) -> None:
        self._handlers[name] = handler

    def publish(self, name: str, message: dict[str, Any]) -> None:
        # Through JSON, as over the wire, and delivered later, never inside the caller.
        body = json.dumps(message, separators=(",", ":"))
        loop = asyncio.get_running_loop()
        for link in self.broker.links:
            if link.prefix == self.prefix and name in link._handlers:
                loop.call_soon(link._deliver, name, body)

    def _deliver(self, name: str, body: str) -> None:
        self._handlers[name](json.loads(body))

    async def run(self) -> None:
        await asyncio.Event().wait()  # nothing to keep up: until cancelled


def link_for(url: str | None, prefix: str) -> Link:
    """The link a bus URL names; none: an in-memory link of this instance's own."""
    if url is None or url.startswith("memory://"):
        return MemoryLink(prefix=prefix)
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisLink(url, prefix)
    raise ValueError(f"DISPATCH_BUS_URL must be redis://..., rediss://... or memory://, not {url}")
