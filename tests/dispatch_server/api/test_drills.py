"""Drills and duress alarms on a real server (decision 50): a drill scheduled for a member
with a real handheld runs through the chain, is flagged, reaches only the partner that
opted in, leaves the real KPIs alone and counts in the drills'; an unannounced drill is a
real alarm to the console until acknowledged; a drill_id that is not the member's is
refused and writes nothing; a duress alarm is violence and its handheld is told nothing."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from tests.support.clients import Console, Handheld
from tests.support.servers import Running
from tests.support.webhook import Receiver

ANY_SECURITY_AT_ONCE = [{"trigger": "immediate", "to": "security"}]


async def _put(server: Running, path: str, body: Any) -> Any:
    async with server.api.client(server.api.admin_token) as c:
        r = await c.put(path, json=body)
    r.raise_for_status()
    return r.json()


async def _partners(server: Running, hotel: Receiver, estate: Receiver) -> tuple[int, int]:
    """Two webhook partners covering G03: the hotel opted in to drills, the estate did not."""
    await _put(server, "/api/escalation-rules", ANY_SECURITY_AT_ONCE)
    body = {"grids": ["G03"], "webhook_url": hotel.url, "accepts_drills": True}
    opted = await server.api.post("/api/partners", {"name": "锦江酒店保安", **body})
    body = {"grids": ["G03"], "webhook_url": estate.url}
    other = await server.api.post("/api/partners", {"name": "Estate", **body})
    return opted["partner_id"], other["partner_id"]


async def _kpis(server: Running, token: str) -> dict[str, Any]:
    body: dict[str, Any] = await server.api.get("/api/kpis", token)
    return body


def _opened(events: list[dict[str, Any]], incident_id: int | None = None) -> bool:
    """Until `incident_opened` (of this incident) came."""
    return any(
        e["type"] == "incident_opened" and incident_id in (None, e["incident_id"]) for e in events
    )


async def _timeline_until(server: Running, incident_id: int, kind: str) -> list[dict[str, Any]]:
    async with asyncio.timeout(10):
        while True:
            view = await server.api.get(f"/api/incidents/{incident_id}")
            if any(e["type"] == kind for e in view["timeline"]):
                return list(view["timeline"])
            await asyncio.sleep(0.05)


async def test_an_unannounced_drill_runs_through_the_real_chain(server: Running) -> None:
    hotel, estate = await Receiver().start(), await Receiver().start()
    try:
        d = await server.api.dispatcher("张阿姨")
        m = await server.api.member("王大爷", "G03")
        other = await server.api.member("Li", "G03")
        console = await server.console(d["token"]).connect()
        h = await server.handheld(m["token"]).connect()
        await h.start_shift()
        # A real alarm first, acknowledged: the real figures have something to keep.
        real = await h.alarm(category="medical")
        await server.api.post(f"/api/incidents/{real['incident_id']}/acknowledge", {}, d["token"])
        resolved = {"disposition": "true_alarm"}
        await server.api.post(f"/api/incidents/{real['incident_id']}/resolve", resolved)
        hotel_id, estate_id = await _partners(server, hotel, estate)
        before = await _kpis(server, d["token"])
        assert before["real"]["total"]["alarms"] == 1 and before["drills"]["total"]["alarms"] == 0

        drill = await server.api.post(
            "/api/drills", {"member_id": m["member_id"], "announced": False}, d["token"]
        )
        assert drill["member_id"] == m["member_id"] and drill["announced"] is False
        asked = await h.expect("drill")
        assert asked == {"type": "drill", "drill_id": drill["drill_id"]}

        # Another member cannot answer it, nor can anyone answer a drill that does not exist.
        count = len((await server.api.get("/api/incidents"))["incidents"])
        h2 = await server.handheld(other["token"]).connect()
        for wrong in (drill["drill_id"], 999):
            await h2.send({"type": "alert", "alert_id": str(uuid.uuid4()), "drill_id": wrong})
            error = await h2.expect("error", ref_type="alert")
            assert error["code"] == "conflict" and "drill" in error["message"]
        assert len((await server.api.get("/api/incidents"))["incidents"]) == count

        alert_id = str(uuid.uuid4())
        accepted = await h.alarm(alert_id, drill_id=drill["drill_id"])
        incident_id = accepted["incident_id"]
        # A retry of the same alarm is the same incident, not a refusal.
        again = await h.alarm(alert_id, drill_id=drill["drill_id"])
        assert (again["incident_id"], again["duplicate"]) == (incident_id, True)

        # The console sees a real alarm: no drill mark anywhere, the drill's own events withheld.
        seen = await console.events_until(lambda got: _opened(got, incident_id))
        opened = seen[-1]
        assert not {"drill", "drill_id", "drill_announced"} & opened.keys()
        withheld = [e for e in seen if e["type"] == "withheld"]
        assert len(withheld) == 2 and all(set(e) == {"type", "seq", "at"} for e in withheld)
        assert not any(e["type"].startswith("drill_") for e in seen)
        view = await server.api.get(f"/api/incidents/{incident_id}", d["token"])
        assert view["drill"] is False and view["drill_id"] is None
        assert all("drill" not in e for e in view["timeline"])

        # Escalation: only the partner that opted in; the other is skipped, and that is no
        # problem to ring about.
        await hotel.wait_for(1)
        payload = hotel.got[0].json
        assert payload["incident"]["drill"] is True
        assert "drill_skipped" not in payload["event"]
        assert payload["incident"]["escalated_to"] == [hotel_id]
        timeline = await _timeline_until(server, incident_id, "delivery_succeeded")
        truth = await server.api.get(f"/api/incidents/{incident_id}")
        assert truth["escalation_problems"] == [] and truth["escalated_to"] == [hotel_id]
        [step] = [e for e in timeline if e["type"] == "incident_escalated"]
        assert step["partner_ids"] == [hotel_id] and "problem" not in step

        # Acknowledged: now the console learns it was a drill.
        await server.api.post(f"/api/incidents/{incident_id}/acknowledge", {}, d["token"])
        acked = await console.events_until(
            lambda got: any(e["type"] == "incident_acknowledged" for e in got)
        )
        ack = next(e for e in acked if e["type"] == "incident_acknowledged")
        assert (ack["drill"], ack["drill_id"]) == (True, drill["drill_id"])
        view = await server.api.get(f"/api/incidents/{incident_id}", d["token"])
        assert (view["drill"], view["drill_id"], view["drill_announced"]) == (
            True,
            drill["drill_id"],
            False,
        )
        [step] = [e for e in view["timeline"] if e["type"] == "incident_escalated"]
        assert step["drill_skipped"] == [estate_id]
        opening = next(e for e in view["timeline"] if e["type"] == "incident_opened")
        assert opening["drill"] is True

        [listed] = await server.api.get("/api/drills", d["token"])
        assert (listed["state"], listed["incident_id"]) == ("raised", incident_id)

        after = await _kpis(server, d["token"])
        assert after["real"] == before["real"], "a drill moved the real figures"
        assert after["drills"]["total"]["alarms"] == 1
        assert after["drills"]["total"]["answer"]["ended"] == 1
        await asyncio.sleep(0.5)  # a wrong delivery to the estate would have come by now
        assert estate.got == []
    finally:
        await hotel.stop()
        await estate.stop()


async def test_an_announced_grid_drill_is_shown_as_one_from_the_start(server: Running) -> None:
    d = await server.api.dispatcher()
    m = await server.api.member("王大爷", "G05")
    console = await server.console(d["token"]).connect()
    h = await server.handheld(m["token"]).connect()
    await h.start_shift()
    drill = await server.api.post("/api/drills", {"grid_id": "G05", "announced": True}, d["token"])
    assert (drill["member_id"], drill["grid_id"], drill["state"]) == (None, "G05", "scheduled")
    asked = await h.expect("drill")
    accepted = await h.alarm(drill_id=asked["drill_id"])
    seen = await console.events_until(_opened)
    drills = [e for e in seen if e["type"].startswith("drill_")]
    assert [e["type"] for e in drills] == ["drill_scheduled", "drill_started"]
    assert drills[1]["member_id"] == m["member_id"]
    opened = seen[-1]
    assert (opened["drill"], opened["drill_id"]) == (True, drill["drill_id"])
    view = await server.api.get(f"/api/incidents/{accepted['incident_id']}")
    assert view["drill"] is True and view["drill_announced"] is True


async def test_a_grid_drill_with_nobody_on_shift_says_so(server: Running) -> None:
    await server.api.member("off shift", "G07")
    drill = await server.api.post("/api/drills", {"grid_id": "G07", "announced": True})
    async with asyncio.timeout(10):
        while (listed := await server.api.get("/api/drills"))[0]["state"] == "scheduled":
            await asyncio.sleep(0.05)
    assert listed[0]["drill_id"] == drill["drill_id"] and listed[0]["state"] == "no_member"


async def test_a_handheld_that_connects_later_is_asked_again(server: Running) -> None:
    m = await server.api.member("王大爷", "G03")
    drill = await server.api.post("/api/drills", {"member_id": m["member_id"], "announced": True})
    async with asyncio.timeout(10):
        while (await server.api.get("/api/drills"))[0]["state"] != "started":
            await asyncio.sleep(0.05)
    h = await server.handheld(m["token"]).connect()
    assert (await h.expect("drill"))["drill_id"] == drill["drill_id"]


async def test_a_duress_alarm_is_violence_and_its_handheld_hears_nothing_more(
    server: Running,
) -> None:
    d = await server.api.dispatcher()
    m = await server.api.member("王大爷", "G03")
    h: Handheld = await server.handheld(m["token"]).connect()
    console: Console = await server.console(d["token"]).connect()
    accepted = await h.alarm(category="medical", duress=True)
    incident_id = accepted["incident_id"]
    opened = (await console.events_until(_opened))[-1]
    assert (opened["duress"], opened["category"]) == (True, "violence")
    view = await server.api.get(f"/api/incidents/{incident_id}", d["token"])
    assert (view["duress"], view["category"], view["drill"]) == (True, "violence", False)
    await server.api.post(f"/api/incidents/{incident_id}/acknowledge", {}, d["token"])
    # By default violence goes to security at once (here nobody covers G03: a problem).
    timeline = await _timeline_until(server, incident_id, "incident_escalated")
    step = next(e for e in timeline if e["type"] == "incident_escalated")
    assert step["trigger"] == "immediate" and step["rule_category"] == "violence"
    # The handheld is told nothing of its alarm's progress, now or on its next hello.
    await h.send({"type": "heartbeat"})
    await asyncio.sleep(0.5)
    assert [f for f in h.inbox if f["type"] == "alert_update"] == []
    with_timeout = h.expect("alert_update", timeout=0.5)
    try:
        await with_timeout
        raise AssertionError("the duress alarm's handheld was told of its progress")
    except TimeoutError:
        pass
    await h.close()
    again = await server.handheld(m["token"]).connect()
    try:
        await again.expect("alert_update", timeout=0.5)
        raise AssertionError("the duress alarm was re-sent on hello")
    except TimeoutError:
        pass


async def test_bad_drill_requests_are_refused(server: Running) -> None:
    m = await server.api.member("王大爷", "G03")
    async with server.api.client(server.api.admin_token) as c:
        both = {"member_id": m["member_id"], "grid_id": "G03", "announced": True}
        assert (await c.post("/api/drills", json=both)).status_code == 422
        assert (await c.post("/api/drills", json={"announced": True})).status_code == 422
        grid = {"grid_id": "G99", "announced": True}
        assert (await c.post("/api/drills", json=grid)).status_code == 422
        far = {"member_id": m["member_id"], "announced": True, "at": "2999-01-01T00:00:00Z"}
        assert (await c.post("/api/drills", json=far)).status_code == 422
        nobody = {"member_id": 999, "announced": True}
        assert (await c.post("/api/drills", json=nobody)).status_code == 404
        assert (await c.put("/api/partners/999/drills", json={"accepts": True})).status_code == 404
        assert (await c.get("/api/drills")).json() == []
    async with server.api.client(m["token"]) as c:
        body = {"member_id": m["member_id"], "announced": True}
        assert (await c.post("/api/drills", json=body)).status_code == 403
