"""Console commands over REST: each is one event; illegal moves are 409s; tokens are checked."""

from __future__ import annotations

import httpx
import pytest

from tests.support.clients import Handheld
from tests.support.servers import Running


async def _scene(server: Running) -> tuple[Handheld, Handheld, Handheld, str, int]:
    """A reporter and two responders on shift in G01, a dispatcher at a console (so the
    centre is attended), and one open incident."""
    d = await server.api.dispatcher("Wang")
    await server.console(d["token"]).connect()  # kept open by the fixture till the end
    hh = []
    for name in ("reporter", "doctor", "guard"):
        skills = ["medical"] if name == "doctor" else []
        m = await server.api.member(name, "G01", skills)
        h = await server.handheld(m["token"]).connect()
        await h.start_shift()
        hh.append(h)
    accepted = await hh[0].alarm(category="medical")
    return hh[0], hh[1], hh[2], d["token"], accepted["incident_id"]


async def _post(server: Running, token: str, path: str, body: dict | None = None) -> httpx.Response:  # type: ignore[type-arg]
    async with server.api.client(token) as c:
        return await c.post(path, json=body or {})


async def test_full_incident_life(server: Running) -> None:
    _, doctor, guard, token, iid = await _scene(server)
    opened = await server.api.get(f"/api/incidents/{iid}", token)
    ranked = [r["member_id"] for r in opened["responders"]]
    assert ranked == [doctor.welcome["member_id"], guard.welcome["member_id"]]
    assert "medical fits a medical alarm" in opened["responders"][0]["reason"]

    r = await _post(server, token, f"/api/incidents/{iid}/acknowledge")
    assert r.status_code == 200 and r.json()["status"] == "acknowledged"
    ids = [doctor.welcome["member_id"], guard.welcome["member_id"]]
    r = await _post(server, token, f"/api/incidents/{iid}/dispatch", {"member_ids": ids})
    assert r.json()["status"] == "dispatched"

    for h in (doctor, guard):
        a = await h.expect("assignment", incident_id=iid)
        assert a["category"] == "medical" and a["grid_id"] == opened["grid_id"]
    await doctor.send({"type": "assignment_reply", "incident_id": iid, "accept": True})
    await doctor.expect("assignment_recorded", incident_id=iid, accept=True)
    await guard.send({"type": "assignment_reply", "incident_id": iid, "accept": False})
    await guard.expect("assignment_recorded", accept=False)
    # The same answer again (a handheld's retry) is recorded once.
    await doctor.send({"type": "assignment_reply", "incident_id": iid, "accept": True})
    await doctor.expect("assignment_recorded", accept=True)

    r = await _post(
        server, token, f"/api/incidents/{iid}/notes", {"text": "老人已送医 taken to hospital"}
    )
    assert r.status_code == 200
    r = await _post(server, token, f"/api/incidents/{iid}/resolve", {"disposition": "true_alarm"})
    assert r.json()["status"] == "resolved"

    detail = await server.api.get(f"/api/incidents/{iid}", token)
    assert [e["type"] for e in detail["timeline"]] == [
        "incident_opened",
        "incident_acknowledged",
        "responders_dispatched",
        "assignment_replied",
        "assignment_replied",
        "note_added",
        "incident_resolved",
    ]
    seqs = [e["seq"] for e in detail["timeline"]]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert detail["disposition"] == "true_alarm"
    assert {a["member_id"]: a["reply"] for a in detail["assignments"]} == {
        doctor.welcome["member_id"]: "accepted",
        guard.welcome["member_id"]: "declined",
    }
    assert detail["notes"][0]["text"] == "老人已送医 taken to hospital"


async def test_accepted_responder_is_busy_and_not_ranked(server: Running) -> None:
    reporter, doctor, guard, token, iid = await _scene(server)
    await _post(
        server,
        token,
        f"/api/incidents/{iid}/dispatch",
        {"member_ids": [doctor.welcome["member_id"]]},
    )
    await doctor.send({"type": "assignment_reply", "incident_id": iid, "accept": True})
    await doctor.expect("assignment_recorded")
    second = await reporter.alarm(category="medical")
    detail = await server.api.get(f"/api/incidents/{second['incident_id']}", token)
    assert [r["member_id"] for r in detail["responders"]] == [guard.welcome["member_id"]]
    # Resolving frees the doctor again.
    await _post(server, token, f"/api/incidents/{iid}/resolve", {"disposition": "true_alarm"})
    third = await reporter.alarm(category="medical")
    detail = await server.api.get(f"/api/incidents/{third['incident_id']}", token)
    assert detail["responders"][0]["member_id"] == doctor.welcome["member_id"]


async def test_pending_assignment_is_resent_on_reconnect(server: Running) -> None:
    _, doctor, _, token, iid = await _scene(server)
    await doctor.close()
    await _post(
        server,
        token,
        f"/api/incidents/{iid}/dispatch",
        {"member_ids": [doctor.welcome["member_id"]]},
    )
    again = await server.handheld(doctor.token).connect()
    assert (await again.expect("assignment"))["incident_id"] == iid


async def test_illegal_moves_are_409_and_write_nothing(server: Running) -> None:
    reporter, doctor, guard, token, iid = await _scene(server)
    assert (await _post(server, token, f"/api/incidents/{iid}/acknowledge")).status_code == 200
    head = (await server.api.get("/api/incidents", token))["last_seq"]
    cases = [
        ("acknowledge", None, "already acknowledged"),
        ("dispatch", {"member_ids": [reporter.welcome["member_id"]]}, "raised this alarm"),
    ]
    for action, body, words in cases:
        r = await _post(server, token, f"/api/incidents/{iid}/{action}", body)
        assert r.status_code == 409, r.text
        assert words in r.json()["detail"]
    await _post(server, token, f"/api/incidents/{iid}/resolve", {"disposition": "false_alarm"})
    head = (await server.api.get("/api/incidents", token))["last_seq"]
    for action, body in [
        ("resolve", {"disposition": "test"}),
        ("dispatch", {"member_ids": [doctor.welcome["member_id"]]}),
    ]:
        r = await _post(server, token, f"/api/incidents/{iid}/{action}", body)
        assert r.status_code == 409, r.text
    await guard.send({"type": "assignment_reply", "incident_id": iid, "accept": True})
    assert (await guard.expect("error"))["code"] == "not_assigned"
    assert (await server.api.get("/api/incidents", token))["last_seq"] == head


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/api/incidents/999/acknowledge", None, 404),
        ("/api/incidents/{iid}/resolve", {}, 422),  # the disposition is required
        ("/api/incidents/{iid}/resolve", {"disposition": "meh"}, 422),
        ("/api/incidents/{iid}/dispatch", {"member_ids": []}, 422),
        ("/api/incidents/{iid}/dispatch", {"member_ids": [999]}, 404),
        ("/api/incidents/{iid}/notes", {"text": ""}, 422),
    ],
)
async def test_bad_commands(server: Running, path: str, body: dict | None, status: int) -> None:  # type: ignore[type-arg]
    *_, token, iid = await _scene(server)
    r = await _post(server, token, path.format(iid=iid), body)
    assert r.status_code == status, r.text


async def test_tokens_are_checked_on_every_route(server: Running) -> None:
    reporter, _, _, dispatcher_token, iid = await _scene(server)
    partner = await server.api.post("/api/partners", {"name": "Hotel security", "grids": ["G03"]})
    routes = [
        ("GET", "/api/grids"),
        ("GET", "/api/members"),
        ("GET", "/api/incidents"),
        ("GET", f"/api/incidents/{iid}"),
        ("POST", f"/api/incidents/{iid}/acknowledge"),
        ("POST", "/api/dispatchers"),
        ("GET", "/api/roll-calls"),
        ("POST", "/api/roll-calls"),
    ]
    for method, path in routes:
        async with httpx.AsyncClient(base_url=server.base) as c:
            assert (await c.request(method, path)).status_code == 401
            bad = {"Authorization": "Bearer nope"}
            assert (await c.request(method, path, headers=bad)).status_code == 401
            for token in (reporter.token, partner["token"]):
                r = await c.request(
                    method, path, headers={"Authorization": f"Bearer {token}"}, json={}
                )
                assert r.status_code == 403, (path, r.text)
    # A dispatcher cannot administer.
    r = await _post(server, dispatcher_token, "/api/members", {"name": "x", "grid_id": "G01"})
    assert r.status_code == 403


async def test_admin_input_is_validated(server: Running) -> None:
    async with server.api.client(server.api.admin_token) as c:
        r = await c.post("/api/members", json={"name": "x", "grid_id": "G99"})
        assert r.status_code == 422 and "unknown grid G99" in r.text
        r = await c.post(
            "/api/members", json={"name": "x", "grid_id": "G01", "skills": ["juggling"]}
        )
        assert r.status_code == 422
        r = await c.post(
            "/api/partners",
            json={"name": "p", "grids": ["G01"], "webhook_url": "https://h.example/x"},
        )
        assert r.status_code == 201 and r.json()["webhook_secret"]


async def test_listing_filters(server: Running) -> None:
    reporter, _, _, token, iid = await _scene(server)
    fire = await reporter.alarm(category="fire")
    await _post(server, token, f"/api/incidents/{iid}/resolve", {"disposition": "test"})
    q = lambda **p: server.api.get("/api/incidents", token, **p)  # noqa: E731
    assert [i["incident_id"] for i in (await q(status="open"))["incidents"]] == [
        fire["incident_id"]
    ]
    assert [i["incident_id"] for i in (await q(category="medical"))["incidents"]] == [iid]
    assert [i["incident_id"] for i in (await q(disposition="test"))["incidents"]] == [iid]
    assert len((await q(grid_id="G01"))["incidents"]) == 2
    assert (await q(grid_id="G02"))["incidents"] == []
    assert (await q(since="2999-01-01T00:00:00Z"))["incidents"] == []
    changed = await q(
        since_seq=(await server.api.get(f"/api/incidents/{fire['incident_id']}"))["last_seq"]
    )
    assert [i["incident_id"] for i in changed["incidents"]] == [iid]


async def test_reporter_sees_the_alarms_progress(server: Running) -> None:
    reporter, doctor, _, token, iid = await _scene(server)
    await _post(server, token, f"/api/incidents/{iid}/acknowledge")
    update = await reporter.expect("alert_update", incident_id=iid)
    assert update["acknowledged"] is True and update["status"] == "acknowledged"
    await _post(
        server,
        token,
        f"/api/incidents/{iid}/dispatch",
        {"member_ids": [doctor.welcome["member_id"]]},
    )
    await reporter.expect("alert_update", status="dispatched")
    await doctor.send({"type": "assignment_reply", "incident_id": iid, "accept": True})
    coming = await reporter.expect("alert_update", status="responding")
    assert coming["coming"] == [
        {
            "member_id": doctor.welcome["member_id"],
            "name": "doctor",
            "distance_m": None,  # no fix sent: no distance
            "arrived": False,
            "done": False,
        }
    ]
    # A handheld that was away learns the outcome on its next hello.
    await reporter.close()
    await _post(server, token, f"/api/incidents/{iid}/resolve", {"disposition": "true_alarm"})
    back = await server.handheld(reporter.token).connect()
    assert back.welcome["grid"]["geometry"]["type"] in ("Polygon", "MultiPolygon")
    final = await back.expect("alert_update", incident_id=iid)
    assert final["status"] == "resolved" and final["disposition"] == "true_alarm"
