"""A TCP load balancer for tests, standing in for nginx in front of the instances.

Like nginx with `proxy_next_upstream error`, each new connection goes to the
next instance in turn, and to the one after that if it refuses; a connection
whose instance dies is closed, and the client reconnects through the balancer
to an instance that is alive. Websocket upgrades pass through untouched (it
forwards bytes).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator


class Balancer:
    def __init__(self, backends: list[tuple[str, int]]) -> None:
        self.backends = backends
        self._turn = itertools.count()
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()
        self.port = 0
        self.routed: list[int] = []  # the backend port of each connection, in order

    async def start(self, port: int = 0) -> None:
        """Listen on `port` (0: an ephemeral one): a known port lets a test open the way to
        the servers only after a client has tried it for a while."""
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in list(self._pipes):
            task.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        start = next(self._turn)
        for k in range(len(self.backends)):
            host, port = self.backends[(start + k) % len(self.backends)]
            try:
                async with asyncio.timeout(2):
                    up_reader, up_writer = await asyncio.open_connection(host, port)
            except (OSError, TimeoutError):
                continue
            self.routed.append(port)
            task = asyncio.current_task()
            assert task is not None
            self._pipes.add(task)
            try:
                async with asyncio.TaskGroup() as tasks:
                    tasks.create_task(_pipe(reader, up_writer))
                    tasks.create_task(_pipe(up_reader, writer))
            except* (OSError, ConnectionError):
                pass
            finally:
                self._pipes.discard(task)
                for w in (writer, up_writer):
                    w.close()
            return
        writer.close()  # no instance alive: as nginx's 502, the client retries


async def _pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
    try:
        while data := await src.read(65536):
            dst.write(data)
            await dst.drain()
    finally:
        # One side ended: end the other, so neither client nor server keeps a dead link.
        with contextlib.suppress(OSError):
            dst.close()


@contextlib.asynccontextmanager
async def balancing(backends: list[tuple[str, int]], port: int = 0) -> AsyncIterator[Balancer]:
    balancer = Balancer(backends)
    await balancer.start(port)
    try:
        yield balancer
    finally:
        await balancer.close()
