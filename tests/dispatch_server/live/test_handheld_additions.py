"""What a phone handheld needs of /ws/patrol, over real websockets: a responder's arrived and
done, the reporter's category after the press (applied after its alarm even when sent right
behind it), and the richer `assignment` and `alert_update` frames."""

from __future__ import annotations

import json
import random
import uuid
from typing import Any

from tests.support.clients import Handheld
from tests.support.geodesy import random_point_in, sample_shapes
from tests.support.servers import Running


def _inside(grid_id: str, seed: int = 0) -> tuple[float, float]:
    return random_point_in(sample_shapes()[grid_id], random.Random(f"{grid_id}{seed}"))


async def _on_shift(server: Running, name: str, grid_id: str = "G01") -> tuple[int, Handheld]:
    m = await server.api.member(name, grid_id)
    h = await server.handheld(m["token"]).connect()
    lon, lat = _inside(grid_id, m["member_id"])
    await h.start_shift(lon, lat)
    return m["member_id"], h


async def _head(server: Running) -> int:
    head: int = (await server.api.get("/api/incidents"))["last_seq"]
    return head


async def _called(server: Running) -> tuple[Handheld, Handheld, int, dict[str, Any]]:
    """A reporter's alarm in G01, a responder called to it who accepted."""
    await server.console(server.api.admin_token).connect()  # attended: no unattended step
    _, reporter = await _on_shift(server, "王大爷")
    responder_id, responder = await _on_shift(server, "张医生")
    lon, lat = _inside("G01", 99)
    accepted = await reporter.alarm(lon=lon, lat=lat, category="medical")
    incident_id = accepted["incident_id"]
    await server.api.post(f"/api/incidents/{incident_id}/dispatch", {"member_ids": [responder_id]})
    assignment = await responder.expect("assignment", incident_id=incident_id)
    await responder.send({"type": "assignment_reply", "incident_id": incident_id, "accept": True})
    await responder.expect("assignment_recorded", incident_id=incident_id)
    return reporter, responder, incident_id, assignment


async def test_an_assignment_names_the_grid_and_the_reporter(server: Running) -> None:
    _, _, _, assignment = await _called(server)
    assert assignment["grid_id"] == "G01" and assignment["reporter_name"] == "王大爷"
    grid = next(f for f in (await server.api.get("/api/grids"))["features"] if f["id"] == "G01")
    props = grid["properties"]
    assert (assignment["grid_name_zh"], assignment["grid_name_en"]) == (
        props["name_zh"],
        props["name_en"],
    )


async def test_a_responder_arrives_and_is_done_and_the_reporter_sees_it(server: Running) -> None:
    reporter, responder, incident_id, _ = await _called(server)
    update = await reporter.expect("alert_update", status="responding")
    reporter.inbox.clear()  # the updates before it (acknowledged, dispatched)
    (coming,) = update["coming"]
    assert coming["name"] == "张医生" and coming["distance_m"] > 0, "from the fresh fix"
    assert (coming["arrived"], coming["done"], update["security"]) == (False, False, "none")

    status = {"type": "assignment_status", "incident_id": incident_id}
    await responder.send({**status, "status": "arrived"})
    assert await responder.expect("assignment_status_recorded", status="arrived")
    update = await reporter.expect("alert_update")
    assert (update["coming"][0]["arrived"], update["coming"][0]["done"]) == (True, False)
    head = await _head(server)
    await responder.send({**status, "status": "arrived"})  # again: the same answer, no event
    await responder.expect("assignment_status_recorded", status="arrived")
    assert await _head(server) == head

    await responder.send({**status, "status": "done"})
    await responder.expect("assignment_status_recorded", status="done")
    assert (await reporter.expect("alert_update"))["coming"][0]["done"] is True
    head = await _head(server)
    await responder.send({**status, "status": "arrived"})  # after done: nothing written
    await responder.expect("assignment_status_recorded", status="arrived")
    assert await _head(server) == head

    view = await server.api.get(f"/api/incidents/{incident_id}")
    (a,) = view["assignments"]
    assert a["arrived_at"] is not None and a["done_at"] >= a["arrived_at"]
    assert view["status"] == "responding", "the duty volunteer resolves, not the responder"
    kinds = [(e["type"], e.get("status")) for e in view["timeline"]]
    assert kinds[-2:] == [("responder_status", "arrived"), ("responder_status", "done")]
    assert view["timeline"][-1]["actor"] == f"member:{a['member_id']}"
    members = {m["member_id"]: m for m in await server.api.get("/api/members")}
    assert members[a["member_id"]]["busy"] is False, "done: free for the next call"


async def test_only_a_responder_who_accepted_may_say_it(server: Running) -> None:
    reporter, responder, incident_id, _ = await _called(server)
    _, stranger = await _on_shift(server, "路人")
    head = await _head(server)
    frame = {"type": "assignment_status", "incident_id": incident_id, "status": "arrived"}
    await stranger.send(frame)
    error = await stranger.expect("error")
    assert (error["code"], error["ref_type"], error["incident_id"]) == (
        "not_assigned",
        "assignment_status",
        incident_id,
    )
    await reporter.send(frame)
    assert (await reporter.expect("error"))["code"] == "not_assigned"
    await responder.send({**frame, "incident_id": 2**31 - 1})
    assert (await responder.expect("error"))["code"] == "not_found"
    assert await _head(server) == head, "nothing written"
    await responder.send({"type": "assignment_reply", "incident_id": incident_id, "accept": False})
    await responder.expect("assignment_recorded", accept=False)
    await responder.send(frame)
    assert (await responder.expect("error"))["code"] == "not_assigned", "declined since"
    await server.api.post(f"/api/incidents/{incident_id}/resolve", {"disposition": "test"})
    await responder.send({**frame, "status": "done"})
    assert (await responder.expect("error"))["code"] == "not_assigned", "resolved"


async def test_a_category_sent_right_behind_its_alarm_is_applied_after_it(
    server: Running,
) -> None:
    """Alarms take their own fast way, not the ordered lane; a category sent back to back
    with its alarm (before `alert_accepted`) still finds the incident, every time."""
    _, reporter = await _on_shift(server, "王大爷")
    rng = random.Random(13)
    for _ in range(12):
        alert_id = str(uuid.uuid4())
        categories = rng.sample(["medical", "fire", "theft", "dispute"], rng.randint(1, 3))
        frames = [{"type": "alert", "alert_id": alert_id}] + [
            {"type": "alert_category", "alert_id": alert_id, "category": c} for c in categories
        ]
        assert reporter.ws is not None
        for frame in frames:  # no wait in between: one write after another on the socket
            await reporter.ws.send(json.dumps(frame))
        accepted = await reporter.expect("alert_accepted", alert_id=alert_id)
        for c in categories:
            recorded = await reporter.expect("alert_category_recorded", alert_id=alert_id)
            assert (recorded["incident_id"], recorded["category"]) == (accepted["incident_id"], c)
        view = await server.api.get(f"/api/incidents/{accepted['incident_id']}")
        assert view["category"] == categories[-1], "in the order sent"
        changes = [e for e in view["timeline"] if e["type"] == "category_changed"]
        assert [e["category"] for e in changes] == categories
        assert (
            changes[0]["previous"] == "unknown" and view["timeline"][0]["seq"] < changes[0]["seq"]
        )
    listing = await server.api.get("/api/incidents", category=categories[-1])
    assert accepted["incident_id"] in [i["incident_id"] for i in listing["incidents"]]


async def test_a_category_only_from_the_alarms_reporter_and_while_open(server: Running) -> None:
    _, reporter = await _on_shift(server, "王大爷")
    _, other = await _on_shift(server, "李四")
    accepted = await reporter.alarm(category="medical")
    alert_id, incident_id = accepted["alert_id"], accepted["incident_id"]
    head = await _head(server)
    frame = {"type": "alert_category", "alert_id": alert_id, "category": "fire"}
    await other.send(frame)
    error = await other.expect("error")
    assert (error["code"], error["ref_type"], error["alert_id"]) == (
        "not_found",
        "alert_category",
        alert_id,
    )
    await reporter.send({**frame, "alert_id": str(uuid.uuid4())})
    assert (await reporter.expect("error"))["code"] == "not_found"
    await reporter.send({**frame, "category": "medical"})  # the same: answered, not written
    assert (await reporter.expect("alert_category_recorded"))["category"] == "medical"
    assert await _head(server) == head
    await server.api.post(f"/api/incidents/{incident_id}/resolve", {"disposition": "test"})
    await reporter.send(frame)
    assert (await reporter.expect("error"))["code"] == "conflict"


async def test_security_is_said_truthfully_as_it_changes(server: Running) -> None:
    """A category changed to fire brings the immediate fire step (rules match the category
    as it is when a step falls due). The step reaches a partner with no webhook: nothing
    proves it got it, so the reporter still reads `none`, until it acknowledges."""
    partner = await server.api.post("/api/partners", {"name": "锦江酒店保安", "grids": ["G01"]})
    console = await server.console(server.api.admin_token).connect()
    _, reporter = await _on_shift(server, "王大爷")
    accepted = await reporter.alarm(lon=_inside("G01")[0], lat=_inside("G01")[1])
    incident_id = accepted["incident_id"]
    await reporter.send(
        {"type": "alert_category", "alert_id": accepted["alert_id"], "category": "fire"}
    )
    update = await reporter.expect("alert_update")
    assert (update["category"], update["security"]) == ("fire", "none")
    await console.events_until(lambda got: got and got[-1]["type"] == "incident_escalated")
    view = await server.api.get(f"/api/incidents/{incident_id}")
    assert view["escalated_to"] == [partner["partner_id"]]
    assert not [f for f in reporter.inbox if f["type"] == "alert_update"], "nothing new to say"
    path = f"/api/partner/incidents/{incident_id}/acknowledge"
    await server.api.post(path, {}, partner["token"])
    update = await reporter.expect("alert_update")
    assert update["security"] == "acknowledged"
    assert update["category"] == "fire"


async def test_everything_sent_also_comes_again_after_hello(server: Running) -> None:
    """The backlog's frames are the richer ones too."""
    reporter, responder, incident_id, _ = await _called(server)
    await responder.send(
        {"type": "assignment_status", "incident_id": incident_id, "status": "arrived"}
    )
    await responder.expect("assignment_status_recorded")
    await reporter.expect("alert_update", status="responding")
    await reporter.close()
    again = await server.handheld(reporter.token).connect()
    update = await again.expect("alert_update", incident_id=incident_id)
    assert update["coming"][0]["arrived"] is True and update["security"] == "none"
