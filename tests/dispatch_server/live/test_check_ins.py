"""Lone-worker mode over real sockets: warning, overdue and its incident, once each."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from tests.support.servers import ADMIN, in_process, settings_for


async def test_missed_check_ins_warn_then_open_an_incident(
    tmp_path: Path, database_url: str
) -> None:
    async with in_process(settings_for(database_url)) as server:
        lone = await server.handheld((await server.api.member("lone", "G05"))["token"]).connect()
        diligent = await server.handheld(
            (await server.api.member("diligent", "G05"))["token"]
        ).connect()
        elsewhere = await server.handheld(
            (await server.api.member("other", "G06"))["token"]
        ).connect()
        async with httpx.AsyncClient(
            base_url=server.base, headers={"Authorization": f"Bearer {ADMIN}"}
        ) as api:
            r = await api.put(
                "/api/check-in-rules",
                json={"grid_id": "G05", "period_s": 1.0, "overdue_after_s": 1.0},
            )
            assert r.status_code == 200 and r.json() == [
                {"grid_id": "G05", "period_s": 1.0, "overdue_after_s": 1.0}
            ]
            bad = await api.put("/api/check-in-rules", json={"period_s": 1.0})
            assert bad.status_code == 422
        for h in (lone, diligent, elsewhere):
            await h.start_shift()

        async def keep_checking_in() -> None:
            for _ in range(12):
                await diligent.send({"type": "check_in"})
                await diligent.expect("check_in_recorded")
                await asyncio.sleep(0.25)

        checking = asyncio.create_task(keep_checking_in())
        warning = await lone.expect("check_in_due", timeout=5)
        assert warning["state"] == "warning"
        overdue = await lone.expect("check_in_due", timeout=5)
        assert overdue["state"] == "overdue"
        await checking
        await asyncio.sleep(0.5)
        listing = await server.api.get("/api/incidents")
        head = listing["last_seq"]
        console = await server.console(ADMIN).connect(since=0)
        events = await console.events_until(lambda got: bool(got) and got[-1]["seq"] == head)

    steps = [
        (e["type"], e["member_id"])
        for e in events
        if e["type"] in ("check_in_warning", "check_in_overdue")
    ]
    lone_id = lone.welcome["member_id"]
    assert steps == [("check_in_warning", lone_id), ("check_in_overdue", lone_id)]
    incident = listing["incidents"]
    assert len(incident) == 1 and incident[0]["reporter_id"] == lone_id
    assert incident[0]["source"] == "check_in" and incident[0]["note"] is None
    overdue_event = next(e for e in events if e["type"] == "check_in_overdue")
    assert overdue_event["incident_id"] == incident[0]["incident_id"]
    assert any(
        e["type"] == "member_checked_in" and e["member_id"] == diligent.welcome["member_id"]
        for e in events
    )
