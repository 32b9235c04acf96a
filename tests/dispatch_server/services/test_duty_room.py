"""The duty room watch on a real server: the log says when no console was open, once per
crossing, and the KPIs count the minutes nobody watched while patrols were out."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select

from dispatch_server.store.tables import EVENT
from tests.support.servers import Running, in_process, settings_for

GRACE = 0.6
ROOM = ("duty_room_empty", "duty_room_staffed")


async def room_events(server: Running) -> list[dict[str, Any]]:
    def read(conn: Any) -> list[dict[str, Any]]:
        rows = conn.execute(
            select(EVENT.c.type, EVENT.c.at, EVENT.c.actor, EVENT.c.data)
            .where(EVENT.c.type.in_(ROOM))
            .order_by(EVENT.c.seq)
        ).all()
        return [dict(r._mapping) for r in rows]

    events: list[dict[str, Any]] = await server.ctx.read(read)
    return events


async def test_the_log_says_when_the_duty_room_was_empty_and_the_kpis_count_it(
    database_url: str,
) -> None:
    async with in_process(settings_for(database_url, duty_room_grace_s=GRACE)) as server:
        duty = await server.api.dispatcher()
        member = await server.api.member("王大爷", "G03")
        patrol = await server.handheld(member["token"]).connect()
        await patrol.start_shift()
        console = await server.console(duty["token"]).connect()

        # A reload: closed and open again within the grace time. Nothing is said.
        await console.close()
        console = await server.console(duty["token"]).connect()
        await asyncio.sleep(2 * GRACE)
        assert await room_events(server) == []

        # Closed for good: said once, however long it stays empty.
        await console.close()
        await _wait_for(server, 1)
        await asyncio.sleep(3 * GRACE)
        said = await room_events(server)
        assert [e["type"] for e in said] == ["duty_room_empty"]
        assert said[0]["actor"] == "system:duty-room" and said[0]["data"]["consoles_open"] == 0

        # A console opens: staffed at once.
        console = await server.console(duty["token"]).connect()
        await _wait_for(server, 2)
        said = await room_events(server)
        assert [e["type"] for e in said] == ["duty_room_empty", "duty_room_staffed"]
        gap = said[1]["at"] - said[0]["at"]
        assert gap >= 3 * GRACE

        # The member was on shift all along: every second of the gap was unwatched.
        kpis = await server.api.get("/api/kpis", duty["token"])
        assert abs(kpis["unwatched_s"] - gap) <= 0.11, (kpis["unwatched_s"], gap)
        await patrol.close()


async def _wait_for(server: Running, n: int) -> None:
    async with asyncio.timeout(5):
        while len(await room_events(server)) < n:
            await asyncio.sleep(0.05)
