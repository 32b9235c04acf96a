"""/ws/patrol over real websockets: the happy path and every kind of bad input."""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from typing import Any

import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from tests.support.clients import Handheld
from tests.support.geodesy import random_point_in, sample_shapes
from tests.support.servers import Running


def _inside(grid_id: str) -> tuple[float, float]:
    """A point well inside the grid, by the raw polygon (not the server's index)."""
    return random_point_in(sample_shapes()[grid_id], random.Random(grid_id))


async def _member(
    server: Running, grid_id: str = "G01", skills: list[str] | None = None
) -> Handheld:
    m = await server.api.member("Li Wei", grid_id, skills)
    return await server.handheld(m["token"]).connect()


async def _event_count(server: Running) -> int:
    head: int = (await server.api.get("/api/incidents"))["last_seq"]
    return head


async def test_hello_alarm_and_retry(server: Running) -> None:
    d = await server.api.dispatcher()
    await server.console(d["token"]).connect()  # the centre is attended (kept open)
    h = await _member(server)
    assert h.welcome["grid_id"] == "G01" and h.welcome["on_shift"] is False
    lon, lat = _inside("G03")
    alert_id = str(uuid.uuid4())
    first = await h.alarm(alert_id, lon=lon, lat=lat, category="theft")
    assert first["duplicate"] is False and first["unattended"] is False
    again = await h.alarm(alert_id, lon=lon, lat=lat, category="theft")
    assert again == {**first, "duplicate": True}
    listing = await server.api.get("/api/incidents")
    assert [i["incident_id"] for i in listing["incidents"]] == [first["incident_id"]]
    detail = await server.api.get(f"/api/incidents/{first['incident_id']}")
    assert detail["grid_id"] == "G03"  # from the alarm's location, not the reporter's home grid
    assert [e["type"] for e in detail["timeline"]] == ["incident_opened"]


async def test_same_alert_id_from_another_member_is_refused(server: Running) -> None:
    a, b = await _member(server), await _member(server, "G02")
    alert_id = str(uuid.uuid4())
    await a.alarm(alert_id)
    await b.send({"type": "alert", "alert_id": alert_id})
    error = await b.expect("error")
    assert error["code"] == "conflict" and error["alert_id"] == alert_id
    assert len((await server.api.get("/api/incidents"))["incidents"]) == 1


BAD_FRAMES: list[tuple[str, str, str]] = [
    ("{not json", "bad_json", "not valid JSON"),
    ("[1, 2]", "invalid_frame", "one JSON object"),
    ('{"lon": 1}', "invalid_frame", "no 'type'"),
    ('{"type": "launch_rocket"}', "unknown_type", "unknown type 'launch_rocket'"),
    ('{"type": "alert"}', "invalid_frame", "alert_id: Field required"),
    (
        '{"type": "alert", "alert_id": "not-a-uuid"}',
        "invalid_frame",
        "alert_id: Input should be a valid UUID",
    ),
    ('{"type": "alert", "alert_id": 12345}', "invalid_frame", "alert_id"),
    (
        f'{{"type": "alert", "alert_id": "{uuid.uuid4()}", "lon": 181.0, "lat": 28.1}}',
        "invalid_frame",
        "lon: Input should be less than or equal to 180",
    ),
    (
        f'{{"type": "alert", "alert_id": "{uuid.uuid4()}", "lon": 113.0, "lat": -91}}',
        "invalid_frame",
        "lat: Input should be greater than or equal to -90",
    ),
    (
        f'{{"type": "alert", "alert_id": "{uuid.uuid4()}", "lon": 113.0}}',
        "invalid_frame",
        "lon and lat come together",
    ),
    (
        f'{{"type": "alert", "alert_id": "{uuid.uuid4()}", "category": "aliens"}}',
        "invalid_frame",
        "category",
    ),
    (
        '{"type": "position", "lon": "113.04", "lat": 28.13}',
        "invalid_frame",
        "lon: Input should be a valid number",
    ),
    ('{"type": "position", "lon": 113.04}', "invalid_frame", "lat: Field required"),
    ('{"type": "assignment_reply", "incident_id": 1, "accept": "yes"}', "invalid_frame", "accept"),
    ('{"type": "hello", "token": "x"}', "invalid_frame", "already said hello"),
]


@pytest.mark.parametrize(("text", "code", "message"), BAD_FRAMES)
async def test_bad_frame_gets_error_and_changes_nothing(
    server: Running, text: str, code: str, message: str
) -> None:
    h = await _member(server)
    before = await _event_count(server)
    await h.send(text)
    error = await h.expect("error")
    assert error["code"] == code
    assert message in error["message"]
    # Nothing reached the log, and the connection stays usable.
    assert await _event_count(server) == before
    assert (await h.alarm())["duplicate"] is False


async def test_binary_frame_is_refused(server: Running) -> None:
    h = await _member(server)
    assert h.ws is not None
    await h.ws.send(b"\x00\x01")
    assert (await h.expect("error"))["code"] == "binary_frame"
    await h.alarm()


async def test_position_before_shift_is_refused(server: Running) -> None:
    h = await _member(server)
    await h.send({"type": "position", "lon": 113.04, "lat": 28.13})
    assert (await h.expect("error"))["code"] == "not_on_shift"


async def test_oversized_frame_closes_with_1009_and_others_carry_on(server: Running) -> None:
    big, other = await _member(server), await _member(server, "G02")
    note = "x" * (64 * 1024 + 1)
    await big.send(json.dumps({"type": "alert", "alert_id": str(uuid.uuid4()), "note": note}))
    assert big.ws is not None
    with pytest.raises(ConnectionClosed):
        await big.recv()
    assert big.ws.close_code == 1009
    assert (await other.alarm())["duplicate"] is False
    assert (await server.api.get("/api/incidents"))["incidents"][0]["reporter_id"] == other.welcome[
        "member_id"
    ]


async def _closed_with(url: str, first: str | None) -> tuple[int | None, float]:
    start = time.monotonic()
    async with websockets.connect(url) as ws:
        if first is not None:
            await ws.send(first)
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 10)
        return ws.close_code, time.monotonic() - start


@pytest.mark.parametrize(
    "first",
    [
        json.dumps({"type": "hello", "token": "wrong"}),
        json.dumps({"type": "hello"}),
        json.dumps({"type": "alert", "alert_id": str(uuid.uuid4())}),
        "{garbage",
        None,  # says nothing at all
    ],
    ids=["bad-token", "no-token", "alert-before-hello", "garbage", "silent"],
)
@pytest.mark.parametrize("path", ["/ws/patrol", "/ws/console"])
async def test_bad_or_missing_token_closes_4401_within_5s(
    server: Running, path: str, first: str | None
) -> None:
    code, took = await _closed_with(f"ws://{server.host}:{server.port}{path}", first)
    assert code == 4401
    assert took < 5.0


async def test_wrong_kind_of_token_closes_4403(server: Running) -> None:
    member = await server.api.member("Li", "G01")
    dispatcher = await server.api.dispatcher()
    hello = lambda t: json.dumps({"type": "hello", "token": t})  # noqa: E731
    base = f"ws://{server.host}:{server.port}"
    assert (await _closed_with(f"{base}/ws/console", hello(member["token"])))[0] == 4403
    assert (await _closed_with(f"{base}/ws/patrol", hello(dispatcher["token"])))[0] == 4403
    assert (await _closed_with(f"{base}/ws/patrol", hello(server.api.admin_token)))[0] == 4403


async def test_assignment_reply_to_unknown_incident(server: Running) -> None:
    h = await _member(server)
    await h.send({"type": "assignment_reply", "incident_id": 999, "accept": True})
    error: dict[str, Any] = await h.expect("error")
    assert error["code"] == "not_found" and "999" in error["message"]


async def test_roll_call_replies_that_cannot_be_taken(server: Running) -> None:
    g1, g2 = await _member(server, "G01"), await _member(server, "G02")
    await g1.start_shift()
    await g2.start_shift()
    async with server.api.client(server.api.admin_token) as api:
        r = await api.post("/api/roll-calls", json={"grid_ids": ["G99"]})
        assert r.status_code == 422 and "G99" in r.text
        rid = (await api.post("/api/roll-calls", json={"grid_ids": ["G01"]})).json()["roll_call_id"]
        assert (await api.get("/api/roll-calls/999")).status_code == 404
    assert (await g1.expect("roll_call"))["roll_call_id"] == rid
    await g2.send({"type": "roll_call_reply", "roll_call_id": rid, "status": "all_normal"})
    assert (await g2.expect("error"))["code"] == "not_called"
    await g2.send({"type": "roll_call_reply", "roll_call_id": 999, "status": "all_normal"})
    assert (await g2.expect("error"))["code"] == "not_found"
    await g1.send({"type": "roll_call_reply", "roll_call_id": rid, "status": "fine"})
    assert (await g1.expect("error"))["code"] == "invalid_frame"
    # A handheld that reconnects before answering is asked again.
    await g1.close()
    again = await server.handheld(g1.token).connect()
    assert (await again.expect("roll_call"))["roll_call_id"] == rid
    await again.send({"type": "roll_call_reply", "roll_call_id": rid, "status": "all_normal"})
    await again.expect("roll_call_recorded", roll_call_id=rid)


async def test_a_member_with_100_open_alarms_gets_every_frame_and_is_answered(
    server: Running,
) -> None:
    """Issue 10, fix 2: the hello backlog (one alert_update per open alarm) once overflowed
    the 64-frame queue and closed the handheld with 4409 on every connection."""
    d = await server.api.dispatcher()
    await server.console(d["token"]).connect()
    reporter = await _member(server, "G02")
    m = await server.api.member("Zhao", "G01")
    h = await server.handheld(m["token"]).connect()
    await h.start_shift()
    mine = [(await h.alarm())["incident_id"] for _ in range(100)]
    others = [(await reporter.alarm())["incident_id"] for _ in range(3)]
    async with server.api.client(d["token"]) as api:
        for incident_id in [*others, *mine[:3]]:
            r = await api.post(f"/api/incidents/{incident_id}/acknowledge")
            assert r.status_code == 200
        for incident_id in others:
            r = await api.post(
                f"/api/incidents/{incident_id}/dispatch", json={"member_ids": [m["member_id"]]}
            )
            assert r.status_code == 200
        rid = (await api.post("/api/roll-calls", json={"timeout_s": 60})).json()["roll_call_id"]
    await h.close()

    again = await server.handheld(m["token"]).connect()
    alert_id = str(uuid.uuid4())
    await again.send({"type": "alert", "alert_id": alert_id})  # right after welcome
    accepted = await again.expect("alert_accepted", alert_id=alert_id)
    assert accepted["duplicate"] is False
    for incident_id in others:
        await again.expect("assignment", incident_id=incident_id)
    updates: set[int] = set()
    while not set(mine) <= updates:  # every one of the member's alarms (and perhaps the new)
        updates.add((await again.expect("alert_update"))["incident_id"])
    await again.expect("roll_call", roll_call_id=rid)
    await again.send({"type": "heartbeat"})
    await again.send({"type": "assignment_reply", "incident_id": others[0], "accept": True})
    await again.expect("assignment_recorded", incident_id=others[0])


async def test_pipelined_frames_take_effect_in_the_order_sent(server: Running) -> None:
    """Issue 10, fix 5: 100 handhelds each send shift_start and then position without
    waiting for the `shift` answer; every position is applied (none gets not_on_shift),
    and shift_end then position gets not_on_shift, in order too."""
    handhelds = [
        await server.handheld(
            (await server.api.member(f"m{i}", f"G{i % 10 + 1:02d}"))["token"]
        ).connect()
        for i in range(100)
    ]
    points = {h.welcome["member_id"]: _inside(h.welcome["grid_id"]) for h in handhelds}
    for h in handhelds:
        lon, lat = points[h.welcome["member_id"]]
        await h.send({"type": "shift_start"})
        await h.send({"type": "position", "lon": lon, "lat": lat, "accuracy_m": 5})
    for h in handhelds:
        await h.expect("shift", on_shift=True)
    await asyncio.sleep(0.2)  # nothing else may arrive: no error for any position
    for h in handhelds:
        while True:
            try:
                frame = await h.recv(timeout=0.01)
            except TimeoutError:
                break
            assert frame["type"] != "error", frame
        assert not [f for f in h.inbox if f["type"] == "error"], h.inbox
    d = await server.api.dispatcher()
    members = {m["member_id"]: m for m in await server.api.get("/api/members", d["token"])}
    for member_id, (lon, lat) in points.items():
        fix = members[member_id]["fix"]
        assert fix is not None, f"member {member_id}'s position was not applied"
        assert (fix["lon"], fix["lat"]) == (pytest.approx(lon), pytest.approx(lat))
    h = handhelds[0]
    await h.send({"type": "shift_end"})
    await h.send({"type": "position", "lon": 113.0, "lat": 28.0})
    await h.expect("shift", on_shift=False)
    error = await h.expect("error")
    assert error["code"] == "not_on_shift" and error["ref_type"] == "position"
