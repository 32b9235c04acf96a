"""Members, duty volunteers and partners under the administrator's hand (decision 44), on a
real server: listed, changed (the live roster follows), deactivated (sockets closed with
4401, never ranked, planned or escalated to), reactivated, given a new token; a partner's
webhook tested against a real local receiver."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from dispatch_server.protocol.frames import MAX_ID
from tests.support.clients import Console, Handheld
from tests.support.servers import Running, free_port
from tests.support.webhook import Receiver


async def _call(
    server: Running, method: str, path: str, token: str | None = None, body: Any = None
) -> httpx.Response:
    async with server.api.client(token or server.api.admin_token) as c:
        return await c.request(method, path, json=body)


async def _audit(server: Running) -> list[dict[str, Any]]:
    answer = await _call(server, "GET", "/api/admin/audit")
    assert answer.status_code == 200, answer.text
    events: list[dict[str, Any]] = answer.json()["events"]
    return events


async def _closed(ws: Any, within: float = 5.0) -> int:
    """Read until the server closes the socket; its close code."""
    with pytest.raises(ConnectionClosed):
        while True:
            await asyncio.wait_for(ws.recv(), within)
    code: int = ws.close_code
    return code


async def _refused_hello(server: Running, socket: str, token: str) -> int | None:
    url = f"ws://{server.host}:{server.port}/ws/{socket}"
    async with websockets.connect(url, open_timeout=10, close_timeout=1) as ws:
        await ws.send(json.dumps({"type": "hello", "token": token}))
        return await _closed(ws)


def _partner_feed(server: Running, token: str) -> Console:
    feed = Console(f"ws://{server.host}:{server.port}/ws/partner", token)
    server.keep.append(feed)
    return feed


# --- members ------------------------------------------------------------------------------


async def test_members_are_listed_and_changed_and_the_roster_follows(server: Running) -> None:
    li = await server.api.member("Li", "G01", ["first_aid"])
    wang = await server.api.member("Wang", "G02")
    listed = (await _call(server, "GET", "/api/admin/members")).json()
    assert [(m["member_id"], m["name"], m["grid_id"], m["skills"]) for m in listed] == [
        (li["member_id"], "Li", "G01", ["first_aid"]),
        (wang["member_id"], "Wang", "G02", []),
    ]
    assert listed[0]["devices"] == 0 and listed[0]["deactivated_at"] is None
    assert listed[0]["created_at"].endswith("Z")

    path = f"/api/members/{li['member_id']}"
    body = {"name": "Li Na", "grid_id": "G03", "skills": ["medical", "first_aid", "medical"]}
    changed = await _call(server, "PATCH", path, body=body)
    assert changed.status_code == 200, changed.text
    record = changed.json()
    assert (record["name"], record["grid_id"], record["skills"]) == (
        "Li Na",
        "G03",
        ["medical", "first_aid"],
    )
    live = {m["member_id"]: m for m in await server.api.get("/api/members")}
    assert (live[li["member_id"]]["name"], live[li["member_id"]]["grid_id"]) == ("Li Na", "G03")
    ctx = server.ctx
    i = ctx.roster.row[li["member_id"]]
    assert ctx.roster.home_x[i], ctx.roster.home_y[i] == ctx.grids.representative_xy("G03")

    # The same again changes nothing and logs nothing; a name alone logs only the name.
    again = await _call(server, "PATCH", path, body={"name": "Li Na", "grid_id": "G03"})
    assert again.status_code == 200 and again.json() == record
    await _call(server, "PATCH", path, body={"name": "Li Na", "skills": ["medical"]})
    updates = [e for e in await _audit(server) if e["type"] == "member_updated"]
    assert [e["data"]["changes"] for e in updates] == [
        {"skills": [["medical", "first_aid"], ["medical"]]},
        {
            "name": ["Li", "Li Na"],
            "grid_id": ["G01", "G03"],
            "skills": [["first_aid"], ["medical", "first_aid"]],
        },
    ]
    registered = [e for e in await _audit(server) if e["type"] == "member_registered"]
    assert registered[-1]["data"] == {
        "member_id": li["member_id"],
        "name": "Li",
        "grid_id": "G01",
        "skills": ["first_aid"],
    }


async def test_member_changes_refused(server: Running) -> None:
    li = await server.api.member("Li", "G01")
    d = await server.api.dispatcher()
    path = f"/api/members/{li['member_id']}"
    for body in ({}, {"grid_id": "G99"}, {"name": None}, {"skills": ["juggling"]}, {"name": ""}):
        refused = await _call(server, "PATCH", path, body=body)
        assert refused.status_code == 422, (body, refused.text)
    unknown = await _call(server, "PATCH", f"/api/members/{MAX_ID}", body={"name": "X"})
    assert unknown.status_code == 404
    assert (await _call(server, "PATCH", path, d["token"], {"name": "X"})).status_code == 403
    async with httpx.AsyncClient(base_url=server.base) as c:
        assert (await c.patch(path, json={"name": "X"})).status_code == 401
    for what in ("deactivate", "reactivate", "token"):
        assert (await _call(server, "POST", f"{path}/{what}", d["token"])).status_code == 403
        assert (await _call(server, "POST", f"/api/members/{MAX_ID}/{what}")).status_code == 404
    for listing in ("members", "dispatchers", "partners", "audit"):
        assert (await _call(server, "GET", f"/api/admin/{listing}", d["token"])).status_code == 403
    types = [e["type"] for e in await _audit(server)]
    assert types == ["dispatcher_registered", "member_registered"], "nothing refused is logged"


async def test_a_deactivated_member_is_shut_out_and_can_come_back(server: Running) -> None:
    li = await server.api.member("Li", "G01")
    wang = await server.api.member("Wang", "G01")
    h = await server.handheld(li["token"]).connect()
    await h.start_shift()
    async with server.api.client(server.api.admin_token) as c:
        planned = await c.put("/api/roster/G01/morning", json={"member_ids": [li["member_id"]]})
        assert planned.status_code == 200, planned.text
    assert h.ws is not None
    path = f"/api/members/{li['member_id']}"
    waiting = (await server.api.post(f"{path}/enrolment", {}))["code"]

    done = await _call(server, "POST", f"{path}/deactivate")
    assert done.status_code == 200, done.text
    record = done.json()
    assert record["member_id"] == li["member_id"] and record["deactivated_at"] is not None
    assert await _closed(h.ws) == 4401
    assert await _refused_hello(server, "patrol", li["token"]) == 4401
    assert (await _call(server, "GET", "/api/incidents", li["token"])).status_code == 401
    # No handheld for it either: a code made before is expired, a new one refused.
    late = await _call(server, "POST", "/api/enrol", body={"code": waiting, "device_name": "x"})
    assert late.status_code == 410, late.text
    assert (await _call(server, "POST", f"{path}/enrolment", body={})).status_code == 409
    cards = await _call(server, "POST", "/api/member-cards", body={"member_ids": [li["member_id"]]})
    assert cards.status_code == 409
    ctx = server.ctx
    assert not ctx.roster.on_shift[ctx.roster.row[li["member_id"]]], "off shift: never ranked"
    roster = await server.api.get("/api/roster")
    assert all(li["member_id"] not in [m["member_id"] for m in s["members"]] for s in roster)
    async with server.api.client(server.api.admin_token) as c:
        slot = {"member_ids": [wang["member_id"], li["member_id"]]}
        replan = await c.put("/api/roster/G01/morning", json=slot)
    assert replan.status_code == 409 and "deactivated" in replan.json()["detail"]
    audit = await _audit(server)
    assert [(e["type"], e["actor"]) for e in audit[:2]] == [
        ("member_deactivated", "admin:0"),
        ("shift_ended", "admin:0"),
    ]
    # Again: the same answer, nothing new; no new token for a deactivated member.
    again = await _call(server, "POST", f"{path}/deactivate")
    assert again.status_code == 200 and again.json() == record
    assert (await _call(server, "POST", f"{path}/token")).status_code == 409
    assert len(await _audit(server)) == len(audit)

    back = await _call(server, "POST", f"{path}/reactivate")
    assert back.status_code == 200, back.text
    assert back.json()["member_id"] == li["member_id"]
    h2 = await server.handheld(back.json()["token"]).connect()
    assert h2.welcome["member_id"] == li["member_id"]
    assert (await _call(server, "POST", f"{path}/reactivate")).status_code == 409
    assert (await _audit(server))[0]["type"] == "member_reactivated"


async def test_a_new_member_token_shuts_the_old_one_but_not_handhelds(server: Running) -> None:
    li = await server.api.member("Li", "G01")
    path = f"/api/members/{li['member_id']}"
    code = (await server.api.post(f"{path}/enrolment", {}))["code"]
    phone = await server.api.post("/api/enrol", {"code": code, "device_name": "phone"})
    old = await server.handheld(li["token"]).connect()
    kept = await server.handheld(phone["token"]).connect()
    assert old.ws is not None and kept.ws is not None

    rotated = await _call(server, "POST", f"{path}/token")
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()
    assert new["member_id"] == li["member_id"] and new["token"] != li["token"]
    assert await _closed(old.ws) == 4401
    assert await _refused_hello(server, "patrol", li["token"]) == 4401
    h = await server.handheld(new["token"]).connect()
    assert h.welcome["member_id"] == li["member_id"]
    await kept.send({"type": "heartbeat"})
    assert (await kept.alarm())["duplicate"] is False, "the handheld's token still works"
    [event] = [e for e in await _audit(server) if e["type"] == "token_rotated"]
    assert event["data"] == {"kind": "member", "subject_id": li["member_id"]}
    listed = (await _call(server, "GET", "/api/admin/members")).json()
    assert listed[0]["devices"] == 1


# --- duty volunteers ----------------------------------------------------------------------


async def test_dispatchers_deactivated_reactivated_and_given_new_tokens(server: Running) -> None:
    d = await server.api.dispatcher("Zhou")
    path = f"/api/dispatchers/{d['dispatcher_id']}"
    [listed] = (await _call(server, "GET", "/api/admin/dispatchers")).json()
    assert listed["dispatcher_id"] == d["dispatcher_id"] and listed["name"] == "Zhou"
    assert listed["deactivated_at"] is None

    console = await server.console(d["token"]).connect()
    assert console.ws is not None
    rotated = (await _call(server, "POST", f"{path}/token")).json()
    assert rotated["dispatcher_id"] == d["dispatcher_id"]
    assert await _closed(console.ws) == 4401
    assert await _refused_hello(server, "console", d["token"]) == 4401
    console = await server.console(rotated["token"]).connect()
    assert console.ws is not None

    done = await _call(server, "POST", f"{path}/deactivate")
    assert done.status_code == 200 and done.json()["deactivated_at"] is not None
    assert await _closed(console.ws) == 4401
    assert (await _call(server, "GET", "/api/incidents", rotated["token"])).status_code == 401
    assert (await _call(server, "POST", f"{path}/token")).status_code == 409
    back = (await _call(server, "POST", f"{path}/reactivate")).json()
    assert (await _call(server, "GET", "/api/incidents", back["token"])).status_code == 200
    types = [e["type"] for e in await _audit(server)]
    assert types == [
        "dispatcher_reactivated",
        "dispatcher_deactivated",
        "token_rotated",
        "dispatcher_registered",
    ]


# --- partners -----------------------------------------------------------------------------


async def test_a_deactivated_partner_is_never_escalated_to(server: Running) -> None:
    async with server.api.client(server.api.admin_token) as c:
        rules = [{"trigger": "immediate", "to": "security", "category": "fire"}]
        assert (await c.put("/api/escalation-rules", json=rules)).status_code == 200
    hotel = await server.api.post("/api/partners", {"name": "hotel", "grids": ["G01"]})
    estate = await server.api.post("/api/partners", {"name": "estate", "grids": ["G01"]})
    feed = await _partner_feed(server, estate["token"]).connect()
    assert feed.ws is not None
    done = await _call(server, "POST", f"/api/partners/{estate['partner_id']}/deactivate")
    assert done.status_code == 200 and done.json()["deactivated_at"] is not None
    assert await _closed(feed.ws) == 4401
    assert estate["partner_id"] not in server.ctx.partners

    m = await server.api.member("Li", "G01")
    console = await server.console(server.api.admin_token).connect()
    h: Handheld = await server.handheld(m["token"]).connect()
    await h.alarm(category="fire")
    events = await console.events_until(
        lambda got: any(e["type"] == "incident_escalated" for e in got)
    )
    [escalated] = [e for e in events if e["type"] == "incident_escalated"]
    assert escalated["partner_ids"] == [hotel["partner_id"]]

    back = await _call(server, "POST", f"/api/partners/{estate['partner_id']}/reactivate")
    assert back.status_code == 200 and estate["partner_id"] in server.ctx.partners
    assert (await _call(server, "GET", "/api/partner/me", back.json()["token"])).status_code == 200


async def test_partner_changes_and_a_webhook_secret_shown_once(server: Running) -> None:
    hotel = await server.api.post("/api/partners", {"name": "hotel", "grids": ["G01"]})
    path = f"/api/partners/{hotel['partner_id']}"
    set_hook = {"webhook_url": "https://hotel.example/hook", "grids": ["G01", "G02", "G01"]}
    changed = await _call(server, "PATCH", path, body=set_hook)
    assert changed.status_code == 200, changed.text
    record = changed.json()
    secret = record.pop("webhook_secret")
    assert secret and record["grids"] == ["G01", "G02"]
    assert record["webhook_url"] == "https://hotel.example/hook"
    assert server.ctx.partners[hotel["partner_id"]].webhook_secret == secret
    moved = await _call(server, "PATCH", path, body={"webhook_url": "https://hotel.example/2"})
    assert "webhook_secret" not in moved.json(), "a secret only where there was no webhook"
    kind = await _call(server, "PATCH", path, body={"kind": "police", "name": "station"})
    assert (kind.json()["kind"], kind.json()["name"]) == ("police", "station")
    removed = await _call(server, "PATCH", path, body={"webhook_url": None})
    assert removed.status_code == 200 and removed.json()["webhook_url"] is None
    assert server.ctx.partners[hotel["partner_id"]].webhook_secret is None
    for body in ({}, {"grids": []}, {"grids": ["G99"]}, {"name": None}, {"kind": "army"}):
        refused = await _call(server, "PATCH", path, body=body)
        assert refused.status_code == 422, (body, refused.text)
    [listed] = (await _call(server, "GET", "/api/admin/partners")).json()
    assert "webhook_secret" not in listed and listed["name"] == "station"
    audit = await _audit(server)
    assert secret not in json.dumps(audit) and hotel["token"] not in json.dumps(audit)
    updates = [e["data"]["changes"] for e in audit if e["type"] == "partner_updated"]
    assert updates[0] == {"webhook_url": ["https://hotel.example/2", None]}
    assert updates[-1]["grids"] == [["G01"], ["G01", "G02"]]
    assert audit[-1]["type"] == "partner_registered"
    assert audit[-1]["data"] == {
        "partner_id": hotel["partner_id"],
        "name": "hotel",
        "kind": "security",
        "grids": ["G01"],
        "webhook": False,
    }


async def test_the_test_webhook_reaches_a_real_receiver_signed(server: Running) -> None:
    receiver = await Receiver().start()
    try:
        hotel = await server.api.post("/api/partners", {"name": "hotel", "grids": ["G01"]})
        path = f"/api/partners/{hotel['partner_id']}"
        assert (await _call(server, "POST", f"{path}/test-webhook")).status_code == 409
        secret = (await _call(server, "PATCH", path, body={"webhook_url": receiver.url})).json()[
            "webhook_secret"
        ]
        answer = await _call(server, "POST", f"{path}/test-webhook")
        assert answer.status_code == 200, answer.text
        outcome = answer.json()
        assert outcome["ok"] is True and outcome["status_code"] == 200
        assert outcome["error"] is None and outcome["body"] == ""
        assert outcome["elapsed_ms"] >= 0
        [got] = receiver.got
        assert got.signed_by(secret)
        assert got.json["type"] == "test" and got.json["partner_id"] == hotel["partner_id"]
        assert got.json["sent_at"].endswith("Z") and got.json["message"]

        receiver.answers = [200, 503]
        assert (await _call(server, "POST", f"{path}/test-webhook")).json()["ok"] is False
        assert len(receiver.got) == 2, "not retried"
    finally:
        await receiver.stop()
    refused_url = f"http://127.0.0.1:{free_port()}/hook"
    await _call(server, "PATCH", path, body={"webhook_url": refused_url})
    failed = (await _call(server, "POST", f"{path}/test-webhook")).json()
    assert failed["ok"] is False and failed["status_code"] is None
    assert failed["error"] and failed["body"] is None
    tested = [e["data"] for e in await _audit(server) if e["type"] == "webhook_tested"]
    assert tested == [
        {"partner_id": hotel["partner_id"], "ok": False, "status_code": None},
        {"partner_id": hotel["partner_id"], "ok": False, "status_code": 503},
        {"partner_id": hotel["partner_id"], "ok": True, "status_code": 200},
    ]

    def deliveries(conn: Any) -> int:
        return len(conn.exec_driver_sql("SELECT id FROM delivery").all())

    assert await server.ctx.read(deliveries) == 0, "not a delivery"
