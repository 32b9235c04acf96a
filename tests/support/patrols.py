"""Real handhelds (PatrolClient, the code volunteers run) for tests: started, awaited, stopped."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

from patrol_client.client import PatrolClient
from patrol_client.connection import Backoff, Refused


def fast_backoff() -> Backoff:
    return Backoff(initial_s=0.05, maximum_s=0.2)


async def until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def running(client: PatrolClient) -> AsyncIterator[asyncio.Task[None]]:
    """The client's run loop as a task for the block's life; stopped and awaited after."""
    task = asyncio.create_task(client.run())
    try:
        yield task
    finally:
        client.stop()
        with contextlib.suppress(Refused):
            async with asyncio.timeout(10):
                await task
