"""PatrolClient against a real server: outbox replay, progress, assignments, refusals."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed, InvalidURI

from patrol_client.client import Link, PatrolClient
from patrol_client.connection import Refused
from patrol_client.outbox import AlarmState, Outbox
from patrol_client.position import FixedPoint
from tests.support.patrols import fast_backoff, running, until
from tests.support.servers import Running, free_port, in_process, settings_for


async def test_alarms_pressed_while_server_is_down_are_accepted_once_it_is_up(
    tmp_path: Path, database_url: str
) -> None:
    port = free_port()
    settings = settings_for(database_url)
    async with in_process(settings, port=port) as server:
        member = await server.api.member("Li", "G04")
    # The server is down now.
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    client = PatrolClient(
        f"http://127.0.0.1:{port}", member["token"], outbox, backoff=fast_backoff()
    )
    async with running(client):
        pressed = [await client.alarm("medical") for _ in range(3)]
        await asyncio.sleep(0.3)
        assert client.view.link is not Link.ONLINE
        assert [a.alert_id for a in outbox.pending()] == [p.alert_id for p in pressed]
        async with in_process(settings, port=port) as server:
            await until(lambda: not outbox.pending())
            listing = await server.api.get("/api/incidents")
    logged = {i["alert_id"]: i["incident_id"] for i in listing["incidents"]}
    assert sorted(logged) == sorted(p.alert_id for p in pressed)
    for p in pressed:
        got = outbox.get(p.alert_id)
        assert got is not None and got.state is AlarmState.ACCEPTED
        assert got.incident_id == logged[p.alert_id]


async def test_a_refused_token_stops_the_client_with_a_clear_message(
    server: Running, tmp_path: Path
) -> None:
    client = PatrolClient(
        server.base, "not-a-token", Outbox(tmp_path / "o.sqlite3"), backoff=fast_backoff()
    )
    with pytest.raises(Refused) as caught:
        await asyncio.wait_for(client.run(), 10)
    assert caught.value.code == 4401
    assert client.view.link is Link.STOPPED
    assert client.view.stopped_because is not None
    assert (
        "4401" in client.view.stopped_because and "token was refused" in client.view.stopped_because
    )


async def test_a_dispatcher_token_is_refused_too(server: Running, tmp_path: Path) -> None:
    d = await server.api.dispatcher()
    client = PatrolClient(
        server.base, d["token"], Outbox(tmp_path / "o.sqlite3"), backoff=fast_backoff()
    )
    with pytest.raises(Refused) as caught:
        await asyncio.wait_for(client.run(), 10)
    assert caught.value.code == 4403


async def test_shift_position_progress_and_assignment(server: Running, tmp_path: Path) -> None:
    reporter_m = await server.api.member("reporter", "G01")
    doctor_m = await server.api.member("doctor", "G01", ["medical"])
    d = await server.api.dispatcher()
    reporter = PatrolClient(
        server.base,
        reporter_m["token"],
        Outbox(tmp_path / "r.sqlite3"),
        FixedPoint(113.0405, 28.1305),
    )
    doctor = PatrolClient(
        server.base,
        doctor_m["token"],
        Outbox(tmp_path / "d.sqlite3"),
        FixedPoint(113.041, 28.131),
        position_every_s=0.1,
    )
    async with running(reporter), running(doctor):
        doctor.set_shift(True)
        await until(lambda: doctor.view.on_shift)

        async def doctor_has_fix() -> bool:
            members = await server.api.get("/api/members")
            return any(m["member_id"] == doctor_m["member_id"] and m["fix"] for m in members)

        async with asyncio.timeout(10):
            while not await doctor_has_fix():
                await asyncio.sleep(0.05)

        alarm = await reporter.alarm("medical", "老人噎住了")
        await until(
            lambda: (
                (a := reporter.outbox.get(alarm.alert_id)) is not None and a.incident_id is not None
            )
        )
        got = reporter.outbox.get(alarm.alert_id)
        assert got is not None
        iid = got.incident_id
        detail = await server.api.get(f"/api/incidents/{iid}", d["token"])
        assert detail["point_source"] == "alert_fix" and detail["note"] == "老人噎住了"
        assert detail["responders"][0]["member_id"] == doctor_m["member_id"]

        async with server.api.client(d["token"]) as c:
            await c.post(f"/api/incidents/{iid}/acknowledge")
            await until(
                lambda: reporter.outbox.get(alarm.alert_id).state is AlarmState.ACKNOWLEDGED
            )  # type: ignore[union-attr]
            await c.post(
                f"/api/incidents/{iid}/dispatch", json={"member_ids": [doctor_m["member_id"]]}
            )
        await until(lambda: iid in doctor.view.assignments)
        doctor.answer_assignment(iid, True)
        await until(lambda: doctor.view.assignments[iid].recorded)
        await until(lambda: reporter.outbox.get(alarm.alert_id).state is AlarmState.RESPONDING)  # type: ignore[union-attr]
        assert reporter.outbox.get(alarm.alert_id).coming == ["doctor"]  # type: ignore[union-attr]
        async with server.api.client(d["token"]) as c:
            await c.post(f"/api/incidents/{iid}/resolve", json={"disposition": "true_alarm"})
        await until(lambda: reporter.outbox.get(alarm.alert_id).state is AlarmState.RESOLVED)  # type: ignore[union-attr]
        assert reporter.outbox.get(alarm.alert_id).disposition == "true_alarm"  # type: ignore[union-attr]
        doctor.set_shift(False)
        await until(lambda: not doctor.view.on_shift)


async def test_client_reconnects_after_the_server_restarts(
    tmp_path: Path, database_url: str
) -> None:
    port = free_port()
    settings = settings_for(database_url)
    outbox = Outbox(tmp_path / "o.sqlite3")
    async with in_process(settings, port=port) as server:
        member = await server.api.member("Li", "G02")
        client = PatrolClient(server.base, member["token"], outbox, backoff=fast_backoff())
        task = asyncio.create_task(client.run())
        await until(lambda: client.view.link is Link.ONLINE)
    await until(lambda: client.view.link is not Link.ONLINE)
    first = await client.alarm()
    async with in_process(settings, port=port):
        await until(lambda: client.view.link is Link.ONLINE)
        await until(lambda: not outbox.pending())
    client.stop()
    await asyncio.wait_for(task, 10)
    got = outbox.get(first.alert_id)
    assert got is not None and got.state is AlarmState.ACCEPTED


async def test_lone_worker_prompt_and_check_in(server: Running, tmp_path: Path) -> None:
    m = await server.api.member("lone", "G08")
    async with server.api.client(server.api.admin_token) as api:
        rule = {"member_id": m["member_id"], "period_s": 0.5, "overdue_after_s": 30}
        assert (await api.put("/api/check-in-rules", json=rule)).status_code == 200
    client = PatrolClient(
        server.base, m["token"], Outbox(tmp_path / "o.sqlite3"), backoff=fast_backoff()
    )
    async with running(client):
        client.set_shift(True)
        await until(lambda: client.view.check_in_due == "warning")
        client.check_in()
        await until(lambda: client.view.check_in_due is None and not client.view.check_in_wanted)
        await until(lambda: client.view.check_in_due == "warning")  # the next period ran out too
    assert (await server.api.get("/api/incidents"))["incidents"] == []  # never overdue


async def test_the_handheld_is_told_when_the_centre_is_unattended(
    server: Running, tmp_path: Path
) -> None:
    m = await server.api.member("Li", "G02")
    client = PatrolClient(
        server.base, m["token"], Outbox(tmp_path / "o.sqlite3"), backoff=fast_backoff()
    )
    async with running(client):
        alarm = await client.alarm("theft")
        await until(
            lambda: (
                (a := client.outbox.get(alarm.alert_id)) is not None and a.incident_id is not None
            )
        )
    got = client.outbox.get(alarm.alert_id)
    assert got is not None and got.detail == "unattended"


# --- Servers that die in the handshake or talk nonsense: the handheld outlives them all. ---

HANDSHAKE_DEATHS = {
    # The server process died after accepting: the connection ends before any answer. This
    # is websockets' InvalidMessage, "did not receive a valid HTTP response".
    "closed after the request": b"",
    "closed mid-response": b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n",
    "garbage": b"SSH-2.0-OpenSSH_9.2p1\r\n\r\n",
    "503": b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    "502": b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 3\r\nConnection: close\r\n\r\nbad",
}


@contextlib.asynccontextmanager
async def dying_handshakes(port: int) -> AsyncIterator[Counter[str]]:
    """A raw TCP server on the port that ends each opening handshake a different bad way."""
    seen: Counter[str] = Counter()
    order = itertools.cycle(HANDSHAKE_DEATHS)
    busy: set[asyncio.Task[Any]] = set()

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        mode = next(order)
        busy.add(task := asyncio.current_task())  # type: ignore[arg-type]
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(HANDSHAKE_DEATHS[mode])
            await writer.drain()
            seen[mode] += 1
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            busy.discard(task)  # type: ignore[arg-type]

    server = await asyncio.start_server(answer, "127.0.0.1", port)
    try:
        yield seen
    finally:
        server.close()
        await server.wait_closed()
        await until(lambda: not busy)


SESSION_DEATHS: dict[str, list[Any]] = {
    # What comes back after the handheld's hello, on an otherwise good websocket.
    "welcome that is not JSON": ["{not json"],
    "welcome that is a list": ["[]"],
    "internal error close": [1011],
    "garbage after welcome": [{"type": "welcome", "member_id": 1}, "\x00\x01"],
    "alert_accepted without its fields": [{"type": "welcome"}, {"type": "alert_accepted"}],
}


@contextlib.asynccontextmanager
async def nonsense_after_hello(port: int) -> AsyncIterator[Counter[str]]:
    """A websocket server that shakes hands and then says something no centre would say."""
    seen: Counter[str] = Counter()
    order = itertools.cycle(SESSION_DEATHS)

    async def handler(ws: ServerConnection) -> None:
        mode = next(order)
        with contextlib.suppress(ConnectionClosed):
            await ws.recv()  # hello
            for step in SESSION_DEATHS[mode]:
                if isinstance(step, int):
                    await ws.close(step, "boom")
                else:
                    await ws.send(step if isinstance(step, str) else json.dumps(step))
            seen[mode] += 1
            await ws.wait_closed()

    async with serve(handler, "127.0.0.1", port):
        yield seen


async def _outlives(
    tmp_path: Path, database_url: str, bad_server: Any, wanted: dict[str, Any]
) -> list[str]:
    """A queued alarm survives every death `bad_server` deals, then the real server takes the
    port and accepts it; run() never ends by itself. Returns the errors the handheld showed."""
    port = free_port()
    settings = settings_for(database_url)
    async with in_process(settings, port=port) as server:
        member = await server.api.member("Li", "G03")
    errors: list[str] = []
    outbox = Outbox(tmp_path / "outbox.sqlite3")

    def shown() -> None:
        errors.append(client.view.last_error or "")

    client = PatrolClient(
        f"http://127.0.0.1:{port}", member["token"], outbox, backoff=fast_backoff(), on_change=shown
    )
    async with running(client) as task:
        alarm = await client.alarm("fire")
        async with bad_server(port) as seen:
            await until(lambda: task.done() or min(seen[m] for m in wanted) >= 2, timeout=30)
            assert not task.done(), f"run() ended: {task.exception()!r}"
        assert outbox.pending(), "nothing here could accept the alarm"
        async with in_process(settings, port=port) as server:
            await until(lambda: task.done() or not outbox.pending(), timeout=20)
            assert not task.done(), f"run() ended: {task.exception()!r}"
            listing = await server.api.get("/api/incidents")
        assert not task.done()
    got = outbox.get(alarm.alert_id)
    logged = {i["alert_id"]: i["incident_id"] for i in listing["incidents"]}
    assert got is not None and got.state is AlarmState.ACCEPTED
    assert list(logged) == [alarm.alert_id] and got.incident_id == logged[alarm.alert_id]
    return errors


async def test_a_server_dying_in_the_handshake_never_ends_the_handheld(
    tmp_path: Path, database_url: str
) -> None:
    errors = await _outlives(tmp_path, database_url, dying_handshakes, HANDSHAKE_DEATHS)
    shown = " | ".join(errors)
    assert "InvalidMessage" in shown and "InvalidStatus" in shown, shown


async def test_a_server_talking_nonsense_after_hello_never_ends_the_handheld(
    tmp_path: Path, database_url: str
) -> None:
    errors = await _outlives(tmp_path, database_url, nonsense_after_hello, SESSION_DEATHS)
    shown = " | ".join(errors)
    assert "JSONDecodeError" in shown and "1011" in shown, shown


def test_a_url_that_can_never_work_fails_at_once(tmp_path: Path) -> None:
    with pytest.raises(InvalidURI):
        PatrolClient("http://:8000", "t", Outbox(tmp_path / "o.sqlite3"))


async def test_a_screen_that_raises_does_not_stop_the_handheld(
    server: Running, tmp_path: Path
) -> None:
    m = await server.api.member("Li", "G06")

    def broken_screen() -> None:
        raise RuntimeError("the screen fell over")

    outbox = Outbox(tmp_path / "o.sqlite3")
    client = PatrolClient(
        server.base, m["token"], outbox, backoff=fast_backoff(), on_change=broken_screen
    )
    async with running(client) as task:
        await client.alarm("theft")
        await until(lambda: task.done() or not outbox.pending())
        assert not task.done(), f"run() ended: {task.exception()!r}"


async def test_a_frame_type_from_a_newer_server_is_ignored_and_the_link_stays(
    tmp_path: Path,
) -> None:
    """docs/protocol.md: a newer server may say things this handheld does not know."""
    links = 0

    async def newer_server(ws: ServerConnection) -> None:
        nonlocal links
        links += 1
        with contextlib.suppress(ConnectionClosed):
            await ws.recv()  # hello
            welcome = {"type": "welcome", "server_time": "2026-11-22T08:30:00.000Z", "x": 1}
            await ws.send(json.dumps(welcome))
            await ws.send(json.dumps({"type": "weather_warning", "level": 3}))
            async for raw in ws:
                frame = json.loads(raw)
                if frame["type"] == "alert":
                    await ws.send(json.dumps({"type": "drone_dispatched", "eta_s": 40}))
                    accepted = {"type": "alert_accepted", "alert_id": frame["alert_id"]}
                    await ws.send(json.dumps({**accepted, "incident_id": 9, "duplicate": False}))

    port = free_port()
    outbox = Outbox(tmp_path / "o.sqlite3")
    client = PatrolClient(f"http://127.0.0.1:{port}", "t", outbox, backoff=fast_backoff())
    async with serve(newer_server, "127.0.0.1", port), running(client) as task:
        alarm = await client.alarm()
        await until(lambda: task.done() or not outbox.pending())
        assert not task.done(), f"run() ended: {task.exception()!r}"
        assert client.view.link is Link.ONLINE and client.view.last_error is None
    got = outbox.get(alarm.alert_id)
    assert got is not None and got.state is AlarmState.ACCEPTED and got.incident_id == 9
    assert links == 1
    assert client.core.ignored == {"weather_warning", "drone_dispatched"}


async def test_a_revoked_device_stops_and_says_why(server: Running, tmp_path: Path) -> None:
    """Closed with 4401 on an open link (the administrator revoked this handheld): the client
    stops for good, with the server's reason on its screen, and never dials again."""
    m = await server.api.member("Li", "G01")
    made = await server.api.post(f"/api/members/{m['member_id']}/enrolment", {})
    device = await server.api.post("/api/enrol", {"code": made["code"], "device_name": "phone"})
    client = PatrolClient(
        server.base, device["token"], Outbox(tmp_path / "o.sqlite3"), backoff=fast_backoff()
    )
    run = asyncio.create_task(client.run())
    await until(lambda: client.view.link is Link.ONLINE)
    path = f"/api/members/{m['member_id']}/devices/{device['device_id']}"
    async with server.api.client(server.api.admin_token) as c:
        (await c.delete(path)).raise_for_status()
    with pytest.raises(Refused) as caught:
        await asyncio.wait_for(run, 10)
    assert caught.value.code == 4401
    assert client.view.link is Link.STOPPED
    assert client.view.stopped_because is not None and "revoked" in client.view.stopped_because


async def test_a_drill_is_shown_and_the_next_press_answers_it(
    server: Running, tmp_path: Path
) -> None:
    """Decision 50: the `drill` frame sets the screen's prompt; the next alarm carries its
    drill_id (kept in the outbox, so a retry does too) and opens a drill."""
    member = await server.api.member("Li", "G04")
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    client = PatrolClient(server.base, member["token"], outbox, backoff=fast_backoff())
    async with running(client):
        await until(lambda: client.view.link is Link.ONLINE)
        body = {"member_id": member["member_id"], "announced": True}
        drill = await server.api.post("/api/drills", body)
        await until(lambda: client.view.drill_id == drill["drill_id"])
        pressed = await client.alarm()
        assert pressed.drill_id == drill["drill_id"] and client.view.drill_id is None
        assert pressed.frame()["drill_id"] == drill["drill_id"]
        await until(lambda: not outbox.pending())
        after = outbox.get(pressed.alert_id)
        assert after is not None and after.drill_id == drill["drill_id"]
        again = await client.alarm()  # the drill is answered: a real alarm again
        assert again.drill_id is None
        await until(lambda: not outbox.pending())
    assert after.incident_id is not None
    view = await server.api.get(f"/api/incidents/{after.incident_id}")
    assert (view["drill"], view["drill_id"]) == (True, drill["drill_id"])
