"""Leader election on the machine's PostgreSQL: one leader, a hand-over when it goes, and
the duty that runs only while leading. Each round of the election is driven by hand
(`look`), so nothing here waits on a timer."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from dispatch_server.services.leader import Leadership, while_leading

PG_ONLY = pytest.mark.only_on("postgresql", "the election is a PostgreSQL advisory lock")


async def test_sqlite_leads_at_once() -> None:
    leader = Leadership(None)
    assert leader.leading and not leader.elects
    assert await leader.look() is True


@pytest.fixture
async def pair(database_url: str) -> AsyncIterator[tuple[Leadership, Leadership]]:
    a, b = Leadership(database_url), Leadership(database_url)
    try:
        yield a, b
    finally:
        await a.close()
        await b.close()


@PG_ONLY
async def test_one_leader_at_a_time_and_a_hand_over(pair: tuple[Leadership, Leadership]) -> None:
    a, b = pair
    assert await a.look() is True
    assert await b.look() is False, "the lock is taken"
    assert await a.look() is True, "the leader keeps it"
    assert await b.look() is False
    await a.close()  # its session ends, as when the process is killed
    assert not a.leading
    assert await b.look() is True, "the next look elsewhere takes it over"
    assert await a.look() is False


@PG_ONLY
async def test_the_duty_runs_only_while_leading(pair: tuple[Leadership, Leadership]) -> None:
    a, b = pair
    started: list[str] = []
    running = {"a": asyncio.Event(), "b": asyncio.Event()}
    stopped = {"a": asyncio.Event(), "b": asyncio.Event()}

    async def duty(name: str) -> None:
        started.append(name)
        running[name].set()
        try:
            await asyncio.Event().wait()
        finally:
            stopped[name].set()

    watchers = [
        asyncio.create_task(while_leading(a, lambda: duty("a"))),
        asyncio.create_task(while_leading(b, lambda: duty("b"))),
    ]
    try:
        async with asyncio.timeout(10):
            await a.look()
            await b.look()
            await running["a"].wait()
            assert started == ["a"], "exactly one runs it"
            await a.close()
            await stopped["a"].wait()  # cancelled the moment it stops leading
            await b.look()
            await running["b"].wait()
        assert started == ["a", "b"]
    finally:
        for w in watchers:
            w.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await w
