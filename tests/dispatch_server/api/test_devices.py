"""Enrolment over REST and the sockets, on a real server: the link an administrator gets,
the exchange of a code for a device token (once, before it expires), a code refused as a
bearer token on every route and socket, and a revoked device's patrol socket closed with
4401 within 2 s."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from dispatch_server.protocol.frames import MAX_ID
from tests.dispatch_server.services.conftest import Hands
from tests.support.servers import Running, in_process, settings_for


async def _enrolment(server: Running, member_id: int) -> dict[str, Any]:
    made: dict[str, Any] = await server.api.post(f"/api/members/{member_id}/enrolment", {})
    return made


async def _enrol(server: Running, code: str, name: str = "phone") -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.base, timeout=10) as c:
        return await c.post("/api/enrol", json={"code": code, "device_name": name})


async def _closed_with(url: str, token: str) -> int | None:
    async with websockets.connect(url, open_timeout=10, close_timeout=1) as ws:
        await ws.send(json.dumps({"type": "hello", "token": token}))
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 10)
        return ws.close_code


async def test_a_code_becomes_a_device_token_once(server: Running) -> None:
    m = await server.api.member("Li", "G01")
    made = await _enrolment(server, m["member_id"])
    # No DISPATCH_PUBLIC_URL: the link is on the address the administrator used.
    assert made["url"] == f"{server.base}/h/#enrol={made['code']}"
    assert made["expires_at"].endswith("Z")

    first = await _enrol(server, made["code"], "Li's phone")
    assert first.status_code == 200, first.text
    device = first.json()
    assert device["member_id"] == m["member_id"] and device["device_name"] == "Li's phone"
    h = await server.handheld(device["token"]).connect()
    assert h.welcome["member_id"] == m["member_id"], "a device token is the member's"
    assert (await h.alarm())["duplicate"] is False

    again = await _enrol(server, made["code"], "another")
    assert again.status_code == 409 and "already used" in again.json()["detail"]
    unknown = await _enrol(server, "not-a-code")
    assert unknown.status_code == 404 and unknown.json()["detail"]
    listed = await server.api.get(f"/api/members/{m['member_id']}/devices")
    assert [(d["device_id"], d["name"], d["revoked_at"]) for d in listed] == [
        (device["device_id"], "Li's phone", None)
    ]


async def test_an_expired_code_is_gone(database_url: str) -> None:
    hands = Hands()
    settings = settings_for(database_url, public_url="https://patrol.example.org/")
    async with in_process(settings, hands) as server:
        m = await server.api.member("Li", "G01")
        made = await _enrolment(server, m["member_id"])
        assert made["url"] == f"https://patrol.example.org/h/#enrol={made['code']}"
        hands.now += 24 * 3600
        expired = await _enrol(server, made["code"])
        assert expired.status_code == 410 and "expired" in expired.json()["detail"]
        assert await server.api.get(f"/api/members/{m['member_id']}/devices") == []


def _fill(path: str, ids: dict[str, str]) -> str:
    return path.format(**ids)


async def test_a_code_is_never_a_bearer_token(server: Running) -> None:
    """On every route that takes a token, and in the hello of all three sockets: a code,
    used or not, is an unknown token."""
    partner = await server.api.post("/api/partners", {"name": "hotel", "grids": ["G01"]})
    m = await server.api.member("Li", "G01")
    fresh = (await _enrolment(server, m["member_id"]))["code"]
    used = (await _enrolment(server, m["member_id"]))["code"]
    device = (await _enrol(server, used)).json()
    ids = {
        "member_id": str(m["member_id"]),
        "device_id": str(device["device_id"]),
        "incident_id": "1",
        "roll_call_id": "1",
        "media_id": "1",
        "grid_id": "G01",
        "shift": "morning",
        "dispatcher_id": "1",
        "partner_id": str(partner["partner_id"]),
        "administrator_id": "1",
    }
    async with httpx.AsyncClient(base_url=server.base, timeout=10) as c:
        openapi = (await c.get("/openapi.json")).json()
        secured = [
            (method.upper(), _fill(path, ids))
            for path, ops in openapi["paths"].items()
            for method, op in ops.items()
            if op.get("security")
        ]
        assert ("DELETE", f"/api/members/{m['member_id']}/devices/{device['device_id']}") in secured
        assert len(secured) > 20
        for code in (fresh, used):
            for method, url in secured:
                r = await c.request(method, url, headers={"Authorization": f"Bearer {code}"})
                assert r.status_code == 401, (method, url, r.status_code, r.text)
    base = f"ws://{server.host}:{server.port}"
    for code in (fresh, used):
        for socket in ("patrol", "console", "partner"):
            assert await _closed_with(f"{base}/ws/{socket}", code) == 4401, socket
    # The codes and tokens themselves still do what they should.
    assert (await _enrol(server, fresh)).status_code == 200
    assert await server.api.get("/api/partner/me", partner["token"])


async def test_a_revoked_devices_socket_is_closed_4401_within_2s(server: Running) -> None:
    m = await server.api.member("Li", "G01")
    phone = (await _enrol(server, (await _enrolment(server, m["member_id"]))["code"])).json()
    tablet = (await _enrol(server, (await _enrolment(server, m["member_id"]))["code"])).json()
    h = await server.handheld(phone["token"]).connect()
    kept = await server.handheld(tablet["token"]).connect()
    assert h.ws is not None
    console = await server.console(server.api.admin_token).connect()

    started = time.monotonic()
    url = f"/api/members/{m['member_id']}/devices/{phone['device_id']}"
    async with server.api.client(server.api.admin_token) as c:
        revoked = await c.delete(url)
        assert revoked.status_code == 200, revoked.text
        assert revoked.json()["revoked_at"] is not None
        with pytest.raises(ConnectionClosed):
            while True:
                await asyncio.wait_for(h.ws.recv(), 2.0)
        took = time.monotonic() - started
        assert h.ws.close_code == 4401 and took < 2.0, (h.ws.close_code, took)
        assert h.ws.close_reason is not None and "revoked" in h.ws.close_reason
        again = await c.delete(url)
        assert again.status_code == 200 and again.json() == revoked.json()
        none = await c.delete(f"/api/members/{m['member_id']}/devices/{MAX_ID}")
        assert none.status_code == 404
    event = await console.event()
    assert event["type"] == "device_revoked" and event["actor"] == "admin:0"
    assert event["device_id"] == phone["device_id"]
    base = f"ws://{server.host}:{server.port}"
    assert await _closed_with(f"{base}/ws/patrol", phone["token"]) == 4401
    await kept.send({"type": "shift_start"})
    assert (await kept.expect("shift"))["on_shift"] is True, "the member's other device stays"


async def test_many_phones_with_one_code_at_once_one_wins(server: Running) -> None:
    m = await server.api.member("Li", "G01")
    code = (await _enrolment(server, m["member_id"]))["code"]
    answers = await asyncio.gather(*(_enrol(server, code, f"phone {n}") for n in range(10)))
    assert sorted(r.status_code for r in answers) == [200] + [409] * 9
    assert len(await server.api.get(f"/api/members/{m['member_id']}/devices")) == 1


async def test_a_devices_token_raises_an_alarm_over_rest_and_nothing_else_does(
    server: Running,
) -> None:
    """`POST /api/alarms` (a service worker's alarm): a device token is a member's; a
    dispatcher's is 403; an enrolment code, used or not, is no token at all (401)."""
    m = await server.api.member("Li", "G01")
    fresh = (await _enrolment(server, m["member_id"]))["code"]
    used = (await _enrolment(server, m["member_id"]))["code"]
    device = (await _enrol(server, used)).json()
    d = await server.api.dispatcher()
    body = {"alert_id": "5f0c0000-0000-4000-8000-000000000001"}
    async with httpx.AsyncClient(base_url=server.base, timeout=10) as c:

        async def post(token: str) -> httpx.Response:
            return await c.post(
                "/api/alarms", json=body, headers={"Authorization": f"Bearer {token}"}
            )

        assert (await post(d["token"])).status_code == 403
        assert (await post(fresh)).status_code == 401
        assert (await post(used)).status_code == 401
        taken = await post(device["token"])
        assert taken.status_code == 201, taken.text
        view = await server.api.get(f"/api/incidents/{taken.json()['incident_id']}")
        assert view["reporter_id"] == m["member_id"]
