"""Frames that once dropped a handheld's socket, or that no part of the server can hold:
each gets an `error` frame naming the fault, the socket stays usable, nothing is written."""

from __future__ import annotations

import json
import uuid

import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from tests.support.clients import Handheld
from tests.support.servers import Running
from tests.support.snapshot import Snapshots

ALERT = str(uuid.uuid4())

# (frame, code, ref_type, words in the message)
FRAMES: list[tuple[str, str, str | None, str]] = [
    (
        '{"type":"assignment_reply","incident_id":9223372036854775808,"accept":true}',
        "invalid_frame",
        "assignment_reply",
        "incident_id: Input should be less than or equal to 2147483647",
    ),
    (
        '{"type":"assignment_reply","incident_id":' + "9" * 40 + ',"accept":false}',
        "invalid_frame",
        "assignment_reply",
        "incident_id",
    ),
    (
        '{"type":"roll_call_reply","roll_call_id":2147483648,"status":"all_normal"}',
        "invalid_frame",
        "roll_call_reply",
        "roll_call_id: Input should be less than or equal to 2147483647",
    ),
    (
        '{"type":"roll_call_reply","roll_call_id":' + "9" * 5000 + ',"status":"need_help"}',
        "bad_json",
        None,
        "out of range",
    ),
    (
        f'{{"type":"alert","alert_id":"{ALERT}","note":"\\ud800"}}',
        "invalid_frame",
        "alert",
        "lone surrogate",
    ),
    (
        f'{{"type":"alert","alert_id":"{ALERT}","note":"a\\u0000"}}',
        "invalid_frame",
        "alert",
        "U+0000",
    ),
    (f'{{"type":"alert","alert_id":"{ALERT}","lon":NaN,"lat":1}}', "invalid_frame", "alert", "NaN"),
    (f'{{"type":"alert","alert_id":"{ALERT}","x":Infinity}}', "invalid_frame", "alert", "Infinity"),
    ('{"type":"position","lon":1e400,"lat":28.1}', "invalid_frame", "position", "out of range"),
    (
        '{"type":"heartbeat","x":' + "[" * 33 + "]" * 33 + "}",
        "bad_json",
        None,
        "nested deeper than 32",
    ),
    ("[" * 60_000, "bad_json", None, "nested deeper than 32"),
    ('{"type":5}', "invalid_frame", None, "'type' is a string"),
]


@pytest.mark.parametrize(("text", "code", "ref_type", "words"), FRAMES)
async def test_refused_frame(
    server: Running, database_url: str, text: str, code: str, ref_type: str | None, words: str
) -> None:
    m = await server.api.member("Li", "G01")
    h = await server.handheld(m["token"]).connect()
    snapshots = Snapshots(database_url)
    before = snapshots.take(digest=True)
    await h.send(text)
    error = await h.expect("error")
    assert error["code"] == code and error.get("ref_type") == ref_type, error
    assert words in error["message"]
    if ref_type == "alert":
        assert error["alert_id"] == ALERT  # the handheld knows which alarm to give up on
    assert snapshots.take(digest=True) == before
    snapshots.close()
    assert (await h.alarm())["duplicate"] is False  # still usable


async def test_hello_with_a_huge_since(server: Running) -> None:
    """A hello that is not valid is no hello: 4401, with the reason; the largest seq is fine."""
    d = await server.api.dispatcher()
    url = f"ws://{server.host}:{server.port}/ws/console"
    async with websockets.connect(url) as ws:
        await ws.send(json.dumps({"type": "hello", "token": d["token"], "since": 2**63}))
        with pytest.raises(ConnectionClosed):
            await ws.recv()
        assert ws.close_code == 4401
        assert ws.close_reason is not None and "since" in ws.close_reason
    console = await server.console(d["token"]).connect(since=2**31 - 1)
    assert console.welcome["last_seq"] == 1, "dispatcher_registered (decision 44)"


async def test_one_handhelds_bad_frame_leaves_others_alone(server: Running) -> None:
    """One handheld's bad frame never touches another's socket."""
    a = await server.handheld((await server.api.member("a", "G01"))["token"]).connect()
    b: Handheld = await server.handheld((await server.api.member("b", "G02"))["token"]).connect()
    await a.send('{"type":"assignment_reply","incident_id":18446744073709551616,"accept":true}')
    assert (await a.expect("error"))["code"] == "invalid_frame"
    assert (await b.alarm())["duplicate"] is False


async def test_a_burst_of_bad_frames_is_answered_not_dropped(server: Running) -> None:
    """A handheld that sends many frames at once and reads every answer keeps its socket:
    more than its queue holds (64), every one answered, none taken for a peer fallen behind."""
    h = await server.handheld((await server.api.member("a", "G01"))["token"]).connect()
    assert h.ws is not None
    burst = 500
    for i in range(burst):
        await h.ws.send(f'{{"type":"assignment_reply","incident_id":{-i},"accept":true}}')
    for _ in range(burst):
        assert (await h.recv())["code"] == "invalid_frame"
    assert (await h.alarm())["duplicate"] is False


@pytest.mark.parametrize("socket", ["patrol", "console"])
async def test_a_binary_hello_is_no_hello(server: Running, socket: str) -> None:
    """Text frames only, the first one too: a hello sent as a binary frame closes with 4401."""
    m = await server.api.member("a", "G01")
    d = await server.api.dispatcher()
    token = m["token"] if socket == "patrol" else d["token"]
    async with websockets.connect(f"ws://{server.host}:{server.port}/ws/{socket}") as ws:
        await ws.send(json.dumps({"type": "hello", "token": token}).encode())
        with pytest.raises(ConnectionClosed):
            await ws.recv()
        assert ws.close_code == 4401 and ws.close_reason is not None
        assert "as text" in ws.close_reason


async def test_the_largest_ids_are_ids(server: Running) -> None:
    """2^31 - 1 is within every backend's columns: an id like any other, that names nothing."""
    h = await server.handheld((await server.api.member("a", "G01"))["token"]).connect()
    top = 2**31 - 1
    await h.send({"type": "assignment_reply", "incident_id": top, "accept": True})
    assert (await h.expect("error"))["code"] == "not_found"
    await h.send({"type": "roll_call_reply", "roll_call_id": top, "status": "all_normal"})
    assert (await h.expect("error"))["code"] == "not_found"
    async with server.api.client(server.api.admin_token) as c:
        assert (await c.get(f"/api/incidents/{top}")).status_code == 404
        assert (await c.get(f"/api/roll-calls/{top}")).status_code == 404
        r = await c.get("/api/incidents", params={"since_seq": top})
        assert r.status_code == 200 and r.json()["incidents"] == []
    assert (await h.alarm())["duplicate"] is False
