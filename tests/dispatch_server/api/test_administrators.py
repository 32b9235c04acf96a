"""Named administrators and whoami (decision 44), on a real server: a named administrator's
token acts under its own actor key and name, cannot deactivate itself, and stops working
(its console closed with 4401) once another administrator deactivates it."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from dispatch_server.protocol.frames import MAX_ID
from tests.support.servers import Running


async def _call(
    server: Running, method: str, path: str, token: str | None, body: Any = None
) -> httpx.Response:
    async with server.api.client(token) as c:
        return await c.request(method, path, json=body)


async def test_a_named_administrator_is_who_its_token_says(server: Running) -> None:
    admin = server.api.admin_token
    made = await _call(server, "POST", "/api/administrators", admin, {"name": "陈主任"})
    assert made.status_code == 201, made.text
    chen = made.json()
    assert set(chen) == {"administrator_id", "token"}
    me = (await _call(server, "GET", "/api/whoami", chen["token"])).json()
    assert me == {
        "kind": "admin",
        "id": chen["administrator_id"],
        "actor": f"admin:{chen['administrator_id']}",
        "name": "陈主任",
    }
    boot = (await _call(server, "GET", "/api/whoami", admin)).json()
    assert boot == {"kind": "admin", "id": 0, "actor": "admin:0", "name": None}
    m = await server.api.member("Li", "G01")
    assert (await _call(server, "GET", "/api/whoami", m["token"])).json() == {
        "kind": "member",
        "id": m["member_id"],
        "actor": f"member:{m['member_id']}",
        "name": "Li",
    }
    assert (await _call(server, "GET", "/api/whoami", None)).status_code == 401
    assert (await _call(server, "GET", "/api/whoami", "nobody-has-this")).status_code == 401

    # It may do what an administrator does, and the log says it was this one.
    wang = await _call(
        server, "POST", "/api/members", chen["token"], {"name": "Wang", "grid_id": "G02"}
    )
    assert wang.status_code == 201, wang.text
    [listed] = (await _call(server, "GET", "/api/administrators", admin)).json()
    assert listed["administrator_id"] == chen["administrator_id"]
    assert listed["name"] == "陈主任" and listed["deactivated_at"] is None
    assert listed["created_at"].endswith("Z")


async def test_refusals(server: Running) -> None:
    admin = server.api.admin_token
    d = await server.api.dispatcher()
    for token, status in ((None, 401), ("nobody-has-this", 401), (d["token"], 403)):
        made = await _call(server, "POST", "/api/administrators", token, {"name": "X"})
        assert made.status_code == status, made.text
        listed = await _call(server, "GET", "/api/administrators", token)
        assert listed.status_code == status
        gone = await _call(server, "POST", "/api/administrators/1/deactivate", token)
        assert gone.status_code == status
    for body in ({}, {"name": ""}, {"name": "x" * 101}, {"name": None}):
        refused = await _call(server, "POST", "/api/administrators", admin, body)
        assert refused.status_code == 422, (body, refused.text)
    missing = await _call(server, "POST", f"/api/administrators/{MAX_ID}/deactivate", admin)
    assert missing.status_code == 404 and missing.json()["detail"]
    assert (await _call(server, "GET", "/api/administrators", admin)).json() == []


async def test_deactivated_its_tokens_and_console_stop(server: Running) -> None:
    admin = server.api.admin_token
    chen = (await _call(server, "POST", "/api/administrators", admin, {"name": "Chen"})).json()
    zhao = (await _call(server, "POST", "/api/administrators", admin, {"name": "Zhao"})).json()
    own = f"/api/administrators/{chen['administrator_id']}/deactivate"
    refused = await _call(server, "POST", own, chen["token"])
    assert refused.status_code == 409 and "own" in refused.json()["detail"]
    console = await server.console(chen["token"]).connect()
    assert console.ws is not None

    done = await _call(server, "POST", own, zhao["token"])
    assert done.status_code == 200, done.text
    record = done.json()
    assert record["administrator_id"] == chen["administrator_id"]
    assert record["deactivated_at"] is not None
    with pytest.raises(ConnectionClosed):
        while True:
            await asyncio.wait_for(console.ws.recv(), 5)
    assert console.ws.close_code == 4401
    assert (await _call(server, "GET", "/api/whoami", chen["token"])).status_code == 401
    # Again: the same answer, nothing new on record.
    again = await _call(server, "POST", own, zhao["token"])
    assert again.status_code == 200 and again.json() == record
    audit = (await _call(server, "GET", "/api/admin/audit", admin)).json()["events"]
    deactivated = [e for e in audit if e["type"] == "administrator_deactivated"]
    assert [(e["actor"], e["actor_name"], e["data"]) for e in deactivated] == [
        (
            f"admin:{zhao['administrator_id']}",
            "Zhao",
            {"administrator_id": chen["administrator_id"]},
        )
    ]
