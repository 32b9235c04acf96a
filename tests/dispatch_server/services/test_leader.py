"""Leader election on the machine's PostgreSQL: one leader, and a hand-over when it goes."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from dispatch_server.services.leader import Leadership, while_leading


async def test_sqlite_leads_at_once() -> None:
    assert Leadership(None).leading


@pytest.mark.only_on("postgresql", "the election is a PostgreSQL advisory lock")
async def test_one_leader_at_a_time_and_a_hand_over(database_url: str) -> None:
    a, b = Leadership(database_url, every_s=0.05), Leadership(database_url, every_s=0.05)
    ran: list[str] = []

    async def duty(name: str) -> None:
        ran.append(name)
        await asyncio.Event().wait()

    runs = [asyncio.create_task(x.run()) for x in (a, b)]
    duties = [
        asyncio.create_task(while_leading(a, lambda: duty("a"))),
        asyncio.create_task(while_leading(b, lambda: duty("b"))),
    ]
    try:
        async with asyncio.timeout(5):
            while not (a.leading or b.leading):
                await asyncio.sleep(0.02)
        await asyncio.sleep(0.3)
        assert a.leading != b.leading, "exactly one leads"
        first, second = (a, b) if a.leading else (b, a)
        assert ran == ["a" if first is a else "b"]
        # The leader goes (its session ends, as when the process is killed).
        runs[0 if first is a else 1].cancel()
        async with asyncio.timeout(5):
            await second.wait_for(True)
        await asyncio.sleep(0.1)
        assert ran[-1] == ("b" if first is a else "a") and len(ran) == 2
    finally:
        for t in (*runs, *duties):
            t.cancel()
        for t in (*runs, *duties):
            with contextlib.suppress(asyncio.CancelledError):
                await t
