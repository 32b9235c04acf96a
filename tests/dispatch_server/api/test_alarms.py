"""`POST /api/alarms`, a service worker's alarm: the `alert` frame over REST, with the same
validation, intake and `alert_id` rules, on a real server."""

from __future__ import annotations

import asyncio
import random
import uuid
from typing import Any

import httpx

from tests.support.clients import Handheld
from tests.support.servers import Running


async def _post(server: Running, token: str, body: dict[str, Any]) -> httpx.Response:
    async with server.api.client(token) as c:
        return await c.post("/api/alarms", json=body)


async def test_an_alarm_over_rest_opens_an_incident_once(server: Running) -> None:
    m = await server.api.member("王大爷", "G03")
    alert_id = str(uuid.uuid4())
    body = {"alert_id": alert_id, "lon": 113.04, "lat": 28.13, "category": "medical",
            "note": "老人摔倒", "pressed_at": "2026-11-22T08:30:00.123Z"}  # fmt: skip
    first = await _post(server, m["token"], body)
    assert first.status_code == 201, first.text
    taken = first.json()
    assert taken["alert_id"] == alert_id and taken["duplicate"] is False
    assert set(taken) == {"alert_id", "incident_id", "duplicate", "unattended"}
    again = await _post(server, m["token"], body)
    assert again.status_code == 200, "a repeat: the same incident"
    assert again.json() == {**taken, "duplicate": True, "unattended": False}
    view = await server.api.get(f"/api/incidents/{taken['incident_id']}")
    assert (view["alert_id"], view["category"], view["note"]) == (alert_id, "medical", "老人摔倒")
    assert view["reporter_id"] == m["member_id"] and view["pressed_at"] is not None
    other = await server.api.member("李四", "G03")
    stolen = await _post(server, other["token"], body)
    assert stolen.status_code == 409, "another member's alert_id"


async def test_the_frames_validation_not_a_lax_one(server: Running) -> None:
    m = await server.api.member("王大爷", "G03")
    head = (await server.api.get("/api/incidents"))["last_seq"]
    for body, where in [
        ({"alert_id": str(uuid.uuid4()), "lon": "113.04", "lat": 28.1}, "lon"),
        ({"alert_id": str(uuid.uuid4()), "lon": 113.04}, "body"),  # lat missing
        ({"alert_id": "not-a-uuid"}, "alert_id"),
        ({"alert_id": str(uuid.uuid4()), "category": "earthquake"}, "category"),
        ({"alert_id": str(uuid.uuid4()), "pressed_at": 1790000000}, "pressed_at"),
        ({"alert_id": str(uuid.uuid4()), "note": True}, "note"),
        ({"lon": 113.0, "lat": 28.0}, "alert_id"),
    ]:
        r = await _post(server, m["token"], body)
        assert r.status_code == 422, (body, r.status_code, r.text)
        assert any(where in map(str, e["loc"]) for e in r.json()["detail"]), (body, r.text)
    assert (await server.api.get("/api/incidents"))["last_seq"] == head, "nothing written"


async def test_only_a_members_token(server: Running) -> None:
    d = await server.api.dispatcher()
    partner = await server.api.post("/api/partners", {"name": "hotel", "grids": ["G01"]})
    body = {"alert_id": str(uuid.uuid4())}
    for token in (d["token"], partner["token"], server.api.admin_token):
        assert (await _post(server, token, body)).status_code == 403
    async with httpx.AsyncClient(base_url=server.base) as c:
        assert (await c.post("/api/alarms", json=body)).status_code == 401


async def _by_socket(h: Handheld, alert_id: str) -> tuple[int, bool]:
    accepted = await h.alarm(alert_id)
    return accepted["incident_id"], accepted["duplicate"]


async def _by_rest(server: Running, token: str, alert_id: str) -> tuple[int, bool]:
    r = await _post(server, token, {"alert_id": alert_id})
    assert r.status_code in (200, 201), r.text
    return r.json()["incident_id"], r.json()["duplicate"]


async def test_rest_and_socket_sends_of_one_alert_id_make_one_incident(server: Running) -> None:
    """In any order and at once, over real sockets: exactly one incident per alert_id, and
    exactly one of the sends says it was not a duplicate."""
    m = await server.api.member("王大爷", "G03")
    h = await server.handheld(m["token"]).connect()
    rng = random.Random(2026)
    alert_ids = []
    for _ in range(25):
        alert_id = str(uuid.uuid4())
        alert_ids.append(alert_id)
        sends = [_by_rest(server, m["token"], alert_id) for _ in range(rng.randint(1, 3))]
        sends.append(_by_socket(h, alert_id))
        rng.shuffle(sends)
        if rng.random() < 0.3:  # one after another, in a random order
            results = [await s for s in sends]
        else:  # all at once
            results = await asyncio.gather(*sends)
        assert len({i for i, _ in results}) == 1, results
        assert sorted(d for _, d in results) == [False] + [True] * (len(results) - 1), results
    listing = await server.api.get("/api/incidents", limit=1000)
    mine = [i["alert_id"] for i in listing["incidents"] if i["alert_id"] in alert_ids]
    assert sorted(mine) == sorted(alert_ids), "each once"
