"""A roll call over 30 real patrol clients: 27 answer, 3 stay silent, one needs help."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from patrol_client.client import PatrolClient
from patrol_client.outbox import Outbox
from patrol_client.position import FixedPoint
from tests.support.servers import Running

SILENT_GRID = "G07"


async def test_roll_call_tally_silence_and_need_help(server: Running, tmp_path: Path) -> None:
    d = await server.api.dispatcher()
    console = await server.console(d["token"]).connect()
    clients: list[PatrolClient] = []
    grid_of: dict[PatrolClient, str] = {}
    for i in range(30):
        grid = f"G{i % 10 + 1:02d}"
        m = await server.api.member(f"m{i}", grid)
        c = PatrolClient(
            server.base, m["token"], Outbox(tmp_path / f"o{i}.sqlite3"), FixedPoint(113.04, 28.13)
        )
        c.set_shift(True)
        clients.append(c)
        grid_of[c] = grid
    runners = [asyncio.create_task(c.run()) for c in clients]
    try:
        async with asyncio.timeout(15):
            while not all(c.view.on_shift for c in clients):
                await asyncio.sleep(0.02)
        helper = next(c for c in clients if grid_of[c] == "G02")
        async with server.api.client(d["token"]) as api:
            started = (await api.post("/api/roll-calls", json={"timeout_s": 2.0})).json()
        rid = started["roll_call_id"]
        assert sum(row["expected"] for row in started["tally"].values()) == 30

        async with asyncio.timeout(10):
            while not all(rid in c.view.roll_calls for c in clients):
                await asyncio.sleep(0.02)
        for c in clients:
            if grid_of[c] == SILENT_GRID:
                continue  # these three never answer
            c.answer_roll_call(rid, "need_help" if c is helper else "all_normal")

        def done(got: list[dict[str, Any]]) -> bool:
            return any(e["type"] == "roll_call_closed" for e in got)

        events = await console.events_until(done, timeout=15)
    finally:
        for c in clients:
            c.stop()
        await asyncio.gather(*runners, return_exceptions=True)

    answered = [e for e in events if e["type"] == "roll_call_answered"]
    assert len(answered) == 27 and all(e["roll_call_id"] == rid for e in answered)
    closed = next(e for e in events if e["type"] == "roll_call_closed")
    assert closed["silent_grids"] == [SILENT_GRID]
    tally = closed["tally"]
    for grid, row in tally.items():
        assert row["expected"] == 3
        if grid == SILENT_GRID:
            assert len(row["missing"]) == 3 and not row["all_normal"]
        elif grid == "G02":
            assert len(row["need_help"]) == 1 and len(row["all_normal"]) == 2
        else:
            assert len(row["all_normal"]) == 3 and not row["missing"]
    # The cry for help opened an incident, from that member.
    opened = [e for e in events if e["type"] == "incident_opened"]
    assert len(opened) == 1 and opened[0]["reporter_id"] == tally["G02"]["need_help"][0]
    assert opened[0]["source"] == "roll_call" and opened[0]["roll_call_id"] == rid
    # And the log keeps it all.
    detail = await server.api.get(f"/api/roll-calls/{rid}")
    assert detail["open"] is False and detail["silent_grids"] == [SILENT_GRID]
    assert len([e for e in detail["timeline"] if e["type"] == "roll_call_answered"]) == 27
    assert [r["roll_call_id"] for r in await server.api.get("/api/roll-calls")] == [rid]
