"""The audit trail (decision 44), on a real server: each step a named administrator takes is
listed newest first with its name, paged by `before_seq`, and holds no token."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.support.servers import Running


async def test_each_admin_step_newest_first_with_the_administrators_name(
    server: Running,
) -> None:
    boot = server.api.admin_token
    chen = await server.api.post("/api/administrators", {"name": "陈主任"})
    actor = f"admin:{chen['administrator_id']}"
    token = chen["token"]
    async with server.api.client(token) as c:

        async def ok(method: str, path: str, body: Any) -> Any:
            r = await c.request(method, path, json=body)
            assert r.status_code < 300, (path, r.text)
            return r.json()

        m = await ok("POST", "/api/members", {"name": "Li", "grid_id": "G01"})
        d = await ok("POST", "/api/dispatchers", {"name": "Zhou"})
        await ok("PATCH", f"/api/members/{m['member_id']}", {"name": "Li Na"})
        rules = [{"trigger": "immediate", "to": "police", "category": "fire"}]
        await ok("PUT", "/api/escalation-rules", rules)
        await ok("PUT", "/api/roster/G01/evening", {"member_ids": [m["member_id"]]})
        await ok("PUT", "/api/check-in-rules", {"grid_id": "G01", "period_s": 600})
        await ok("POST", f"/api/members/{m['member_id']}/enrolment", {})
        rotated = await ok("POST", f"/api/dispatchers/{d['dispatcher_id']}/token", None)
        # What is not an administrator's is not in the trail.
        h = await server.handheld(m["token"]).connect()
        await h.start_shift()

        answer = await c.get("/api/admin/audit")
        assert answer.status_code == 200, answer.text
        trail = answer.json()
    assert trail["next_before_seq"] is None
    events = trail["events"]
    assert [e["type"] for e in events] == [
        "token_rotated",
        "enrolment_created",
        "check_in_rule_set",
        "roster_slot_set",
        "escalation_rules_replaced",
        "member_updated",
        "dispatcher_registered",
        "member_registered",
        "administrator_registered",
    ]
    assert [e["seq"] for e in events] == sorted((e["seq"] for e in events), reverse=True)
    mine = events[:-1]
    assert {(e["actor"], e["actor_name"]) for e in mine} == {(actor, "陈主任")}
    assert (events[-1]["actor"], events[-1]["actor_name"]) == ("admin:0", None)
    by_type = {e["type"]: e["data"] for e in events}
    assert by_type["escalation_rules_replaced"] == {
        "rules": [
            {
                "trigger": "immediate",
                "to": "police",
                "after_s": 0.0,
                "category": "fire",
                "grid_id": None,
            }
        ]
    }
    assert by_type["roster_slot_set"] == {
        "grid_id": "G01",
        "shift": "evening",
        "member_ids": [m["member_id"]],
    }
    assert by_type["check_in_rule_set"] == {
        "grid_id": "G01",
        "period_s": 600.0,
        "overdue_after_s": server.settings.check_in_overdue_after_s,
    }
    assert by_type["member_updated"] == {
        "member_id": m["member_id"],
        "changes": {"name": ["Li", "Li Na"]},
    }
    text = json.dumps(trail)
    for secret in (token, boot, m["token"], d["token"], rotated["token"]):
        assert secret not in text

    # Paged: two at a time, with no gap and no repeat.
    paged: list[dict[str, Any]] = []
    before = None
    async with server.api.client(boot) as c:
        while True:
            params = {"limit": 2} | ({"before_seq": before} if before else {})
            page = (await c.get("/api/admin/audit", params=params)).json()
            paged += page["events"]
            before = page["next_before_seq"]
            if before is None:
                break
            assert before == page["events"][-1]["seq"]
        for bad in ({"limit": 0}, {"limit": 501}, {"before_seq": -1}, {"limit": "x"}):
            assert (await c.get("/api/admin/audit", params=bad)).status_code == 422, bad
    assert paged == events


async def test_the_trail_is_for_administrators_only(server: Running) -> None:
    d = await server.api.dispatcher()
    async with httpx.AsyncClient(base_url=server.base) as c:
        assert (await c.get("/api/admin/audit")).status_code == 401
        headers = {"Authorization": f"Bearer {d['token']}"}
        assert (await c.get("/api/admin/audit", headers=headers)).status_code == 403
