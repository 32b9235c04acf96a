"""Sequence 1 of issue 10, exactly: the routine duty-room sequence that once stopped every
clock in the server for good while health still said ok.

A fire alarm in a grid with a security partner goes to that partner at once; the partner
acknowledges from its feed; nobody in the centre acknowledges, so the no-ack step falls
due for the same partner. That step must fire (a new event, a new delivery), and every
clock must keep going afterwards: a roll call closes on time, a later alarm's no-ack step
fires.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.support.servers import ADMIN, Running
from tests.support.webhook import Receiver


async def _timeline(server: Running, incident_id: int) -> list[dict[str, Any]]:
    return list((await server.api.get(f"/api/incidents/{incident_id}"))["timeline"])


async def _until_escalated(server: Running, incident_id: int, times: int) -> list[dict[str, Any]]:
    async with asyncio.timeout(10):
        while True:
            timeline = await _timeline(server, incident_id)
            if [e["type"] for e in timeline].count("incident_escalated") >= times:
                return timeline
            await asyncio.sleep(0.05)


async def test_no_ack_to_the_partner_already_on_the_incident_keeps_every_clock(
    server: Running,
) -> None:
    receiver = await Receiver().start()
    try:
        partner = await server.api.post(
            "/api/partners",
            {"name": "锦江酒店保安", "grids": ["G03"], "webhook_url": receiver.url},
        )
        rules = [
            {"trigger": "immediate", "to": "security", "category": "fire"},
            {"trigger": "no_ack", "to": "security", "after_s": 3.0},
        ]
        async with server.api.client(ADMIN) as api:
            assert (await api.put("/api/escalation-rules", json=rules)).status_code == 200
        d = await server.api.dispatcher()
        await server.console(d["token"]).connect()  # attended: the unattended rule is moot
        h = await server.handheld((await server.api.member("Li", "G03"))["token"]).connect()
        fire = (await h.alarm(category="fire"))["incident_id"]
        await _until_escalated(server, fire, 1)
        async with httpx.AsyncClient(base_url=server.base) as c:
            r = await c.post(
                f"/api/partner/incidents/{fire}/acknowledge",
                headers={"Authorization": f"Bearer {partner['token']}"},
            )
            assert r.status_code == 200
        # The no-ack step falls due 3 s after the alarm: for the same partner.
        timeline = await _until_escalated(server, fire, 2)
        await receiver.wait_for(2)
        steps = [e for e in timeline if e["type"] == "incident_escalated"]
        assert [s["trigger"] for s in steps] == ["immediate", "no_ack"]
        assert all(s["partner_ids"] == [partner["partner_id"]] for s in steps)
        assert all("problem" not in s for s in steps), "the partner was reached twice"

        # Every clock still runs: a roll call closes on time ...
        async with server.api.client(d["token"]) as api:
            started = (await api.post("/api/roll-calls", json={"timeout_s": 2.0})).json()
        rid = started["roll_call_id"]
        async with asyncio.timeout(6):
            while (await server.api.get(f"/api/roll-calls/{rid}"))["open"]:
                await asyncio.sleep(0.1)
        # ... and a later alarm's no-ack step fires.
        later = (await h.alarm(category="other"))["incident_id"]
        await _until_escalated(server, later, 1)
        health = await server.api.get("/api/health")
        assert health["ok"] is True
    finally:
        await receiver.stop()
    detail = await server.api.get(f"/api/incidents/{fire}")
    assert detail["escalated_to"] == [partner["partner_id"]]
    kinds = [e["type"] for e in detail["timeline"] if e["type"].startswith("delivery")]
    assert kinds.count("delivery_succeeded") == 2, "one delivery per step"
