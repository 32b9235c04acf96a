"""Names and records (issue 12) over REST: duty volunteers and partners named beside their ids
in the incident view and both exports, the closing note kept, what a partner may learn, and
a roll call's `need_help` saying what it is."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from typing import Any

from tests.support.clients import Handheld
from tests.support.servers import Running


async def _worked_fire(server: Running) -> dict[str, Any]:
    """A fire in G01 escalated at once to two security partners; one duty volunteer
    acknowledges and notes, the estate's guards acknowledge and write, a second duty volunteer,
    registered only now, resolves it with a closing note."""
    hotel = await server.api.post("/api/partners", {"name": "锦江酒店保安", "grids": ["G01"]})
    estate = await server.api.post("/api/partners", {"name": "Estate guards", "grids": ["G01"]})
    desk = await server.api.dispatcher("张阿姨")
    member = await server.api.member("王大爷", "G01")
    reporter = await server.handheld(member["token"]).connect()
    incident_id = (await reporter.alarm(category="fire"))["incident_id"]
    path = f"/api/incidents/{incident_id}"
    async with asyncio.timeout(10):
        while len((await server.api.get(path))["escalated_to"]) < 2:
            await asyncio.sleep(0.05)
    await server.api.post(f"{path}/acknowledge", {}, desk["token"])
    await server.api.post(f"{path}/notes", {"text": "已电话联系酒店"}, desk["token"])
    partner_path = f"/api/partner/incidents/{incident_id}"
    await server.api.post(f"{partner_path}/acknowledge", {}, estate["token"])
    await server.api.post(f"{partner_path}/updates", {"text": "two guards sent"}, estate["token"])
    later = await server.api.dispatcher("Desk Two")  # after the others: its name shows too
    resolved = await server.api.post(
        f"{path}/resolve", {"disposition": "true_alarm", "note": "灭火器扑灭"}, later["token"]
    )
    assert resolved["resolved_by_name"] == "Desk Two" and resolved["closing_note"] == "灭火器扑灭"
    return {
        "incident_id": incident_id,
        "hotel": hotel,
        "estate": estate,
        "desk": desk,
        "later": later,
        "member": member,
    }


async def test_the_incident_view_names_duty_volunteers_and_partners(server: Running) -> None:
    s = await _worked_fire(server)
    detail = await server.api.get(f"/api/incidents/{s['incident_id']}", s["desk"]["token"])
    desk, later = s["desk"]["dispatcher_id"], s["later"]["dispatcher_id"]
    hotel, estate = s["hotel"]["partner_id"], s["estate"]["partner_id"]
    assert detail["names"] == {
        f"dispatcher:{desk}": "张阿姨",
        f"dispatcher:{later}": "Desk Two",
        f"member:{s['member']['member_id']}": "王大爷",
        f"partner:{hotel}": "锦江酒店保安",
        f"partner:{estate}": "Estate guards",
    }
    assert detail["acknowledged_by_name"] == "张阿姨" and detail["reporter_name"] == "王大爷"
    assert detail["resolved_by_name"] == "Desk Two" and detail["closing_note"] == "灭火器扑灭"
    assert [(n["by_name"], n["text"]) for n in detail["notes"]] == [
        ("张阿姨", "已电话联系酒店"),
        ("Estate guards", "two guards sent"),
    ]
    [resolve] = [e for e in detail["timeline"] if e["type"] == "incident_resolved"]
    assert resolve["note"] == "灭火器扑灭"
    # Names only: no token or webhook secret of anyone travels with them.
    text = json.dumps(detail, ensure_ascii=False)
    for token in (s[k]["token"] for k in ("hotel", "estate", "desk", "later", "member")):
        assert token not in text


async def test_both_exports_carry_the_names_and_the_closing_note(server: Running) -> None:
    s = await _worked_fire(server)
    async with server.api.client(s["desk"]["token"]) as c:
        text = (await c.get("/api/incidents/export")).text
        body = (await c.get("/api/incidents/export", params={"format": "json"})).json()
    [row] = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
    assert (row["acknowledged_by"], row["acknowledged_by_name"]) == (
        f"dispatcher:{s['desk']['dispatcher_id']}",
        "张阿姨",
    )
    assert row["resolved_by_name"] == "Desk Two" and row["closing_note"] == "灭火器扑灭"
    assert row["escalated_to_names"] == "锦江酒店保安; Estate guards"
    assert row["partner_acks_names"] == "Estate guards"
    assert row["notes"] == "张阿姨: 已电话联系酒店 | Estate guards: two guards sent"
    [view] = body["incidents"]
    assert view["acknowledged_by_name"] == "张阿姨" and view["resolved_by_name"] == "Desk Two"
    assert view["closing_note"] == "灭火器扑灭"


async def test_a_partner_sees_partners_names_not_the_centres_people(server: Running) -> None:
    s = await _worked_fire(server)
    hotel, estate = s["hotel"], s["estate"]
    mine = await server.api.get(f"/api/partner/incidents/{s['incident_id']}", hotel["token"])
    assert mine["names"] == {
        f"partner:{hotel['partner_id']}": "锦江酒店保安",
        f"partner:{estate['partner_id']}": "Estate guards",
    }
    assert mine["partner_acks"] == [estate["partner_id"]]
    assert [(n["by_name"], n["text"]) for n in mine["notes"]] == [
        (None, "已电话联系酒店"),
        ("Estate guards", "two guards sent"),
    ]
    assert mine["closing_note"] == "灭火器扑灭"
    named = {e["type"]: e.get("partner_name") for e in mine["timeline"] if "partner_id" in e}
    assert named == {"partner_acknowledged": "Estate guards", "partner_update": "Estate guards"}
    text = json.dumps(mine, ensure_ascii=False)
    for private in ("张阿姨", "Desk Two", "王大爷"):
        assert private not in text, private
    [listed] = await server.api.get("/api/partner/incidents", estate["token"])
    assert listed["names"] == mine["names"]


async def test_a_roll_call_need_help_says_so(server: Running) -> None:
    desk = await server.api.dispatcher("张阿姨")
    helper_m = await server.api.member("李医生", "G03", ["medical"])
    asking_m = await server.api.member("王大爷", "G03")
    hands: list[Handheld] = []
    for m in (helper_m, asking_m):
        h = await server.handheld(m["token"]).connect()
        await h.start_shift(113.041186, 28.1332667)
        hands.append(h)
    helper, asking = hands
    rc = await server.api.post("/api/roll-calls", {"grid_ids": ["G03"]}, desk["token"])
    rid = rc["roll_call_id"]
    await asking.expect("roll_call", roll_call_id=rid)
    await asking.send(
        {"type": "roll_call_reply", "roll_call_id": rid, "status": "need_help", "note": "脚扭了"}
    )
    await asking.expect("roll_call_recorded", roll_call_id=rid)
    [inc] = (await server.api.get("/api/incidents", desk["token"]))["incidents"]
    assert (inc["source"], inc["roll_call_id"], inc["note"]) == ("roll_call", rid, "脚扭了")
    assert inc["reporter_name"] == "王大爷" and inc["grid_id"] == "G03"
    path = f"/api/incidents/{inc['incident_id']}"
    helper_id = helper_m["member_id"]
    await server.api.post(f"{path}/dispatch", {"member_ids": [helper_id]}, desk["token"])
    called = await helper.expect("assignment", incident_id=inc["incident_id"])
    assert (called["source"], called["roll_call_id"], called["note"]) == (
        "roll_call",
        rid,
        "脚扭了",
    )
    async with server.api.client(desk["token"]) as c:
        text = (await c.get("/api/incidents/export")).text
    [row] = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
    assert (row["source"], row["roll_call_id"]) == ("roll_call", str(rid))
