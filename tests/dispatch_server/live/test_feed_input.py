"""/ws/console and /ws/partner take nothing after hello: each frame gets an error that says
which frame it answers (`ref_type`) and which socket this is, and the feed goes on."""

from __future__ import annotations

import json
import uuid

import pytest
import websockets

from tests.support.servers import Running


@pytest.mark.parametrize("socket", ["console", "partner"])
async def test_frames_after_hello_are_refused_by_name(server: Running, socket: str) -> None:
    if socket == "console":
        token = (await server.api.dispatcher())["token"]
    else:
        partner = await server.api.post("/api/partners", {"name": "hotel", "grids": ["G01"]})
        token = partner["token"]
    url = f"ws://{server.host}:{server.port}/ws/{socket}"
    async with websockets.connect(url) as ws:
        await ws.send(json.dumps({"type": "hello", "token": token}))
        assert json.loads(await ws.recv())["type"] == "welcome"

        async def answer(frame: str | bytes) -> dict[str, object]:
            await ws.send(frame)
            error: dict[str, object] = json.loads(await ws.recv())
            assert error["type"] == "error"
            return error

        alert = {"type": "alert", "alert_id": str(uuid.uuid4())}
        error = await answer(json.dumps(alert))
        assert error["code"] == "unknown_type" and error["ref_type"] == "alert"
        assert f"the {socket} socket takes only hello" in str(error["message"])
        error = await answer(json.dumps({"type": "hello", "token": token}))
        assert error == {**error, "code": "invalid_frame", "ref_type": "hello"}
        assert error["message"] == "already said hello"
        error = await answer('{"type": "hello", "token": 5}')
        assert error["code"] == "invalid_frame" and error["ref_type"] == "hello"
        assert "token" in str(error["message"])
        assert (await answer("{nope"))["code"] == "bad_json"
        assert (await answer(b"\x00"))["code"] == "binary_frame"
        assert (await answer("[]"))["code"] == "invalid_frame"
