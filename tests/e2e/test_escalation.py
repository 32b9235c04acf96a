"""Escalation end to end: signed webhooks that survive a restart, partners kept apart,
alarms that find no duty volunteer."""

from __future__ import annotations

import asyncio
import json
import time
from hashlib import sha256
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from tests.dispatch_server.api.conftest import PNG
from tests.support.servers import ADMIN, Running, ServerProcess
from tests.support.webhook import Receiver

ALL_GRIDS = [f"G{i:02d}" for i in range(1, 11)]
# Every call the partner page (/partner/) makes. tests/dispatch_server/static/
# test_partner_page.py checks that the page makes no other; the isolation test below makes
# each with a second partner's token.
PARTNER_PAGE_CALLS = [
    ("GET", "/api/partner/me"),
    ("GET", "/api/partner/grids"),
    ("GET", "/api/partner/incidents"),
    ("GET", "/api/partner/incidents/{incident_id}"),
    ("POST", "/api/partner/incidents/{incident_id}/acknowledge"),
    ("POST", "/api/partner/incidents/{incident_id}/updates"),
    ("GET", "/api/media/{media_id}"),
    ("WS", "/ws/partner"),
]
# What would say who is where, or who anyone is: never in anything a partner gets.
WHEREABOUTS = {
    "member_id",
    "member_ids",
    "reporter_id",
    "responders",
    "suggested",
    "assignments",
    "fix",
    "accuracy_m",
    "actor",
    "acknowledged_by",
    "resolved_by",
    "alert_id",
}


def _no_whereabouts(body: Any, where: str, point: tuple[float, float]) -> None:
    """No key that names a member or a position, anywhere in `body`; the only coordinates
    are the incident's own point (`lon`/`lat` beside `incident_id`)."""
    if isinstance(body, list):
        for item in body:
            _no_whereabouts(item, where, point)
        return
    if not isinstance(body, dict):
        return
    assert not WHEREABOUTS & set(body), (where, sorted(WHEREABOUTS & set(body)), body)
    if "lon" in body or "lat" in body:
        assert (body.get("lon"), body.get("lat")) == point, (where, body)
    for value in body.values():
        _no_whereabouts(value, where, point)


@pytest.mark.slow
async def test_signed_webhook_fails_twice_then_arrives_across_a_restart(
    tmp_path: Path, database_url: str
) -> None:
    receiver = await Receiver(answers=[500, 500]).start()
    proc = ServerProcess(
        database_url, tmp_path / "server.log", env={"DISPATCH_WEBHOOK_RETRY_S": "1.0"}
    )
    server = proc.start()
    try:
        partner = await server.api.post(
            "/api/partners",
            {
                "name": "锦江酒店保安",
                "grids": ALL_GRIDS,
                "kind": "security",
                "webhook_url": receiver.url,
            },
        )
        d = await server.api.dispatcher()
        await server.console(d["token"]).connect()  # attended: only the fire rule applies
        h = await server.handheld((await server.api.member("Li", "G03"))["token"]).connect()
        incident_id = (await h.alarm(category="fire"))["incident_id"]
        await receiver.wait_for(1)  # the first try, answered 500 ...

        async def logged(kind: str) -> bool:
            timeline = (await server.api.get(f"/api/incidents/{incident_id}"))["timeline"]
            return any(e["type"] == kind for e in timeline)

        async with asyncio.timeout(10):
            while not await logged("delivery_failed"):  # ... and recorded, retry scheduled
                await asyncio.sleep(0.05)
        proc.kill()  # a retry is owed now: it must survive this
        await server.close_clients()
        server = proc.start()
        await receiver.wait_for(3)
        await asyncio.sleep(0.5)
        detail = await server.api.get(f"/api/incidents/{incident_id}")
    finally:
        proc.stop()
        await receiver.stop()

    assert [r.status for r in receiver.got] == [500, 500, 200]
    for r in receiver.got:
        assert r.signed_by(partner["webhook_secret"]), "the signature verifies"
        assert abs(int(r.headers["x-dispatch-timestamp"]) - time.time()) < 60  # replay window
        body = r.json
        assert (
            body["incident"]["incident_id"] == incident_id
            and body["incident"]["category"] == "fire"
        )
        assert body["event"]["type"] == "incident_escalated"
        assert "responders" not in body["incident"], "a partner sees no one's whereabouts"
    kinds = [
        e["type"] for e in detail["timeline"] if e["type"].startswith(("incident_esc", "delivery"))
    ]
    assert kinds == [
        "incident_escalated",
        "delivery_failed",
        "delivery_failed",
        "delivery_succeeded",
    ]
    assert detail["escalated_to"] == [partner["partner_id"]]
    assert not receiver.got[0].signed_by("not the secret")


async def _closed_with(url: str, token: str) -> int | None:
    async with websockets.connect(url) as ws:
        await ws.send(json.dumps({"type": "hello", "token": token}))
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 10)
        return ws.close_code


async def test_partners_see_only_what_was_escalated_to_them(server: Running) -> None:
    hotel = await server.api.post("/api/partners", {"name": "hotel", "grids": ["G03"]})
    estate = await server.api.post("/api/partners", {"name": "estate", "grids": ["G04"]})
    d = await server.api.dispatcher()
    await server.console(d["token"]).connect()
    feeds = {}
    for name, p in (("hotel", hotel), ("estate", estate)):
        feed = server.console(p["token"])
        feed.url = feed.url.replace("/ws/console", "/ws/partner")
        feeds[name] = await feed.connect(since=0)
    h = await server.handheld((await server.api.member("Li", "G03"))["token"]).connect()
    fire = (await h.alarm(category="fire"))[
        "incident_id"
    ]  # no fix: the reporter's G03, the hotel's

    escalated = await feeds["hotel"].events_until(
        lambda got: any(e["type"] == "incident_escalated" for e in got)
    )
    frame = next(e for e in escalated if e["type"] == "incident_escalated")
    assert frame["incident_id"] == fire and frame["incident"]["grid_id"] == "G03"
    assert "responders" not in frame["incident"] and "actor" not in frame
    assert all(e["incident_id"] == fire for e in escalated), "nothing else reaches a partner"
    with pytest.raises(TimeoutError):
        await feeds["estate"].event(timeout=0.5)

    async with httpx.AsyncClient(base_url=server.base) as c:

        def as_(p: dict[str, Any]) -> dict[str, str]:
            return {"Authorization": f"Bearer {p['token']}"}

        assert [
            i["incident_id"]
            for i in (await c.get("/api/partner/incidents", headers=as_(hotel))).json()
        ] == [fire]
        assert (await c.get("/api/partner/incidents", headers=as_(estate))).json() == []
        mine = (await c.get(f"/api/partner/incidents/{fire}", headers=as_(hotel))).json()
        assert "responders" not in mine and "assignments" not in mine
        assert (
            await c.post(f"/api/partner/incidents/{fire}/acknowledge", headers=as_(hotel))
        ).status_code == 200
        r = await c.post(
            f"/api/partner/incidents/{fire}/updates",
            headers=as_(hotel),
            json={"text": "保安已到场"},
        )
        assert r.status_code == 200
        # The other partner, on every partner route: 403, for this incident and for none.
        for incident_id in (fire, 9999):
            assert (
                await c.get(f"/api/partner/incidents/{incident_id}", headers=as_(estate))
            ).status_code == 403
            assert (
                await c.post(
                    f"/api/partner/incidents/{incident_id}/acknowledge", headers=as_(estate)
                )
            ).status_code == 403
            r = await c.post(
                f"/api/partner/incidents/{incident_id}/updates",
                headers=as_(estate),
                json={"text": "x"},
            )
            assert r.status_code == 403
        # A partner token anywhere else: 403.
        for method, path in [
            ("GET", "/api/members"),
            ("GET", "/api/incidents"),
            ("GET", f"/api/incidents/{fire}"),
            ("POST", f"/api/incidents/{fire}/acknowledge"),
            ("POST", f"/api/incidents/{fire}/resolve"),
            ("GET", "/api/grids"),
            ("GET", "/api/roll-calls"),
            ("POST", "/api/roll-calls"),
            ("GET", "/api/roster"),
            ("GET", "/api/escalation-rules"),
            ("PUT", "/api/escalation-rules"),
            ("GET", "/api/check-in-rules"),
            ("POST", "/api/partners"),
        ]:
            r = await c.request(method, path, headers=as_(hotel), json={})
            assert r.status_code == 403, (method, path, r.status_code)
        # Dispatchers and members cannot use the partner routes.
        assert (await c.get("/api/partner/incidents", headers=as_(d))).status_code == 403

        # The partner page's own calls: each partner gets only its own.
        for p, grids in ((hotel, ["G03"]), (estate, ["G04"])):
            me = (await c.get("/api/partner/me", headers=as_(p))).json()
            assert me["partner_id"] == p["partner_id"] and me["grids"] == grids
            shown = (await c.get("/api/partner/grids", headers=as_(p))).json()
            assert [f["id"] for f in shown["features"]] == grids
        for method, path in [
            ("GET", "/api/partner/me"),
            ("GET", "/api/partner/grids"),
            ("GET", f"/api/partner/incidents/{fire}"),
        ]:
            r = await c.request(method, path, headers=as_(d))
            assert r.status_code == 403, (method, path)
    base = f"ws://{server.host}:{server.port}"
    assert await _closed_with(f"{base}/ws/console", hotel["token"]) == 4403
    assert await _closed_with(f"{base}/ws/patrol", hotel["token"]) == 4403
    assert await _closed_with(f"{base}/ws/partner", d["token"]) == 4403
    detail = await server.api.get(f"/api/incidents/{fire}")
    assert detail["partner_acks"] == [hotel["partner_id"]]
    assert any(
        e["type"] == "partner_update" and e["text"] == "保安已到场" for e in detail["timeline"]
    )


async def test_every_call_of_the_partner_page_keeps_partners_apart_and_names_no_one(
    server: Running,
) -> None:
    """Each call in PARTNER_PAGE_CALLS, as the partner the incident went to (its answers
    name no member and place no one but the incident) and as another partner (403 for the
    incident, its own for the rest, nothing on its feed)."""
    hotel = await server.api.post("/api/partners", {"name": "hotel", "grids": ["G03"]})
    estate = await server.api.post("/api/partners", {"name": "estate", "grids": ["G04"]})
    d = await server.api.dispatcher()
    await server.console(d["token"]).connect()
    feeds = {}
    for name, p in (("hotel", hotel), ("estate", estate)):
        feed = server.console(p["token"])
        feed.url = feed.url.replace("/ws/console", "/ws/partner")
        feeds[name] = await feed.connect()
    reporter = await server.handheld(
        (await server.api.member("Reporter Li", "G03"))["token"]
    ).connect()
    helper_m = await server.api.member("Responder Wang", "G03")
    helper = await server.handheld(helper_m["token"]).connect()
    await helper.start_shift(113.0415, 28.1335)  # on shift, a live position near the fire
    point = (113.041186, 28.1332667)
    fire = (await reporter.alarm(category="fire", lon=point[0], lat=point[1]))["incident_id"]
    async with server.api.client(d["token"]) as api:
        await api.post(f"/api/incidents/{fire}/acknowledge")
        await api.post(
            f"/api/incidents/{fire}/dispatch", json={"member_ids": [helper_m["member_id"]]}
        )
        await helper.expect("assignment", incident_id=fire)
        await helper.send({"type": "assignment_reply", "incident_id": fire, "accept": True})
        await helper.expect("assignment_recorded", incident_id=fire)
        await api.post(f"/api/incidents/{fire}/notes", json={"text": "brigade called"})
    # The reporter's photo of the fire (the phone page's upload).
    async with httpx.AsyncClient(base_url=server.base) as c:
        auth = {"Authorization": f"Bearer {reporter.token}"}
        body = {"sha256": sha256(PNG).hexdigest(), "size": len(PNG), "kind": "photo"}
        declared = await c.post(
            f"/api/incidents/{fire}/media", json={**body, "content_type": "image/png"}, headers=auth
        )
        media_id = declared.json()["media_id"]
        await c.put(f"/api/media/{media_id}/content?offset=0", content=PNG, headers=auth)

    got: dict[tuple[str, str], Any] = {}
    async with httpx.AsyncClient(base_url=server.base) as c:

        async def call(
            p: dict[str, Any], method: str, path: str, body: Any = None
        ) -> httpx.Response:
            headers = {"Authorization": f"Bearer {p['token']}"}
            return await c.request(
                method, path.format(incident_id=fire, media_id=media_id), headers=headers, json=body
            )

        for method, path, body in [
            ("GET", "/api/partner/me", None),
            ("GET", "/api/partner/grids", None),
            ("GET", "/api/partner/incidents", None),
            ("GET", "/api/partner/incidents/{incident_id}", None),
            ("POST", "/api/partner/incidents/{incident_id}/acknowledge", None),
            ("POST", "/api/partner/incidents/{incident_id}/updates", {"text": "on our way"}),
            ("GET", "/api/media/{media_id}", None),
        ]:
            r = await call(hotel, method, path, body)
            assert r.status_code == 200, (method, path, r.text)
            got[(method, path)] = r.content == PNG or r.json()
            other = await call(estate, method, path, body)
            if "_id}" in path:
                assert other.status_code == 403, (method, path, other.status_code)
            else:  # its own: what it is, its grids, its incidents (below)
                assert other.status_code == 200, (method, path, other.status_code)
        assert got[("GET", "/api/partner/me")]["grids"] == ["G03"]
        assert (await call(estate, "GET", "/api/partner/me")).json()["grids"] == ["G04"]
        assert [f["id"] for f in got[("GET", "/api/partner/grids")]["features"]] == ["G03"]
        estate_grids = (await call(estate, "GET", "/api/partner/grids")).json()
        assert [f["id"] for f in estate_grids["features"]] == ["G04"]
        assert (await call(estate, "GET", "/api/partner/incidents")).json() == []
        mine = got[("GET", "/api/partner/incidents/{incident_id}")]
        assert mine["responders_coming"] == 1 and mine["acknowledged"] is True
        assert [e["type"] for e in mine["timeline"]] == [
            "incident_escalated",
            "incident_acknowledged",
            "note_added",
            "media_attached",
        ]
        assert got[("GET", "/api/media/{media_id}")] is True
        assert [m["media_id"] for m in mine["media"]] == [media_id]
    frames = await feeds["hotel"].events_until(
        lambda seen: any(e["type"] == "partner_update" for e in seen)
    )
    assert {e["incident_id"] for e in frames} == {fire}
    got[("WS", "/ws/partner")] = frames
    with pytest.raises(TimeoutError):
        await feeds["estate"].event(timeout=0.5)

    assert set(got) == set(PARTNER_PAGE_CALLS), "every call the page makes is checked here"
    for (method, path), body in got.items():
        _no_whereabouts(body, f"{method} {path}", point)
        text = json.dumps(body, ensure_ascii=False)
        assert "Reporter Li" not in text and "Responder Wang" not in text, (path, text)
        assert "113.0415," not in text and "28.1335," not in text, (path, text)


async def test_an_alarm_with_no_duty_console_goes_straight_to_security(server: Running) -> None:
    security = await server.api.post("/api/partners", {"name": "estate", "grids": ALL_GRIDS})
    police = await server.api.post(
        "/api/partners", {"name": "police", "grids": ALL_GRIDS, "kind": "police"}
    )
    h = await server.handheld((await server.api.member("Li", "G05"))["token"]).connect()
    accepted = await h.alarm(category="theft")
    assert accepted["unattended"] is True  # the handheld is told
    async with asyncio.timeout(5):
        while not (detail := await server.api.get(f"/api/incidents/{accepted['incident_id']}"))[
            "escalated_to"
        ]:
            await asyncio.sleep(0.05)
    assert detail["escalated_to"] == [security["partner_id"]]  # not the police, not yet
    assert detail["unattended"] is True and detail["next_escalation_at"] is not None
    assert police["partner_id"] not in detail["escalated_to"]


async def test_escalation_rules_are_editable_and_no_ack_fires_once(server: Running) -> None:
    partner = await server.api.post("/api/partners", {"name": "estate", "grids": ALL_GRIDS})
    rules = [{"trigger": "no_ack", "to": "security", "after_s": 0.5}]
    async with server.api.client(ADMIN) as api:
        assert (await api.put("/api/escalation-rules", json=rules)).status_code == 200
        assert (
            await api.put("/api/escalation-rules", json=[{"trigger": "soon", "to": "x"}])
        ).status_code == 422
    d = await server.api.dispatcher()
    await server.console(d["token"]).connect()
    h = await server.handheld((await server.api.member("Li", "G05"))["token"]).connect()
    ignored = (await h.alarm())["incident_id"]
    seen = (await h.alarm())["incident_id"]
    async with server.api.client(d["token"]) as api:
        await api.post(f"/api/incidents/{seen}/acknowledge")
    await asyncio.sleep(1.5)
    got = await server.api.get(f"/api/incidents/{ignored}")
    assert [e["type"] for e in got["timeline"]].count("incident_escalated") == 1
    assert got["escalated_to"] == [partner["partner_id"]]
    assert (await server.api.get(f"/api/incidents/{seen}"))["escalated_to"] == []


async def test_a_receiver_that_never_answers_well_is_dead_lettered(
    tmp_path: Path, database_url: str
) -> None:
    from tests.support.servers import in_process, settings_for

    receiver = await Receiver(answers=[500] * 10).start()
    settings = settings_for(database_url, webhook_retry_s=0.1, webhook_attempts=3)
    try:
        async with in_process(settings) as server:
            await server.api.post(
                "/api/partners", {"name": "p", "grids": ALL_GRIDS, "webhook_url": receiver.url}
            )
            # Attended, so only the violence rule fires (unattended would be a second step,
            # with a delivery of its own).
            await server.console((await server.api.dispatcher())["token"]).connect()
            h = await server.handheld((await server.api.member("Li", "G01"))["token"]).connect()
            incident_id = (await h.alarm(category="violence"))["incident_id"]
            await receiver.wait_for(3)
            async with asyncio.timeout(10):
                while True:
                    timeline = (await server.api.get(f"/api/incidents/{incident_id}"))["timeline"]
                    kinds = [e["type"] for e in timeline if e["type"].startswith("delivery")]
                    if "delivery_dead_lettered" in kinds:
                        break
                    await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)  # and nothing more is tried
    finally:
        await receiver.stop()
    assert kinds == ["delivery_failed", "delivery_failed", "delivery_dead_lettered"]
    assert len(receiver.got) == 3
