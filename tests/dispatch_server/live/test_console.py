"""/ws/console: every event once, in seq order, across resumes and slow consoles."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from tests.support.clients import Handheld
from tests.support.servers import Running, in_process, settings_for


async def _handheld(server: Running, grid_id: str = "G01") -> Handheld:
    m = await server.api.member("p", grid_id)
    return await server.handheld(m["token"]).connect()


async def _until_escalated(server: Running, incident_id: int, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while True:
            view = await server.api.get(f"/api/incidents/{incident_id}")
            if any(e["type"] == "incident_escalated" for e in view["timeline"]):
                return
            await asyncio.sleep(0.02)


def _seqs(events: list[dict[str, Any]]) -> list[int]:
    return [e["seq"] for e in events]


async def test_live_events_and_resume_with_since(server: Running) -> None:
    d = await server.api.dispatcher()
    h = await _handheld(server)
    console = await server.console(d["token"]).connect()
    start = console.welcome["last_seq"]
    assert start == 2, "the two registrations are on record (decision 44)"
    await h.start_shift()
    first = await h.alarm(category="theft")
    live = await console.events_until(lambda got: len(got) == 2)
    assert [e["type"] for e in live] == ["shift_started", "incident_opened"]
    assert _seqs(live) == [start + 1, start + 2]
    opened = live[1]
    assert opened["incident_id"] == first["incident_id"] and opened["category"] == "theft"
    for key in ("grid_id", "lon", "lat", "reporter_id", "responders"):
        assert key in opened
    await console.close()

    # While the console is away, more happens (unattended alarms also escalate).
    away = [await h.alarm() for _ in range(5)]
    # Escalations are written just after their alarms: let them land, or one could come
    # after the resume's head and be taken for the next alarm's event (a flaky test).
    for reply in away:
        await _until_escalated(server, reply["incident_id"])
    back = await server.console(d["token"]).connect(since=start + 2)
    head = back.welcome["last_seq"]
    replayed = await back.events_until(lambda got: bool(got) and got[-1]["seq"] == head)
    assert sum(e["type"] == "incident_opened" for e in replayed) == 5
    await h.alarm()  # attended now: one event
    replayed += await back.events_until(lambda got: bool(got) and got[-1]["seq"] == head + 1)
    assert _seqs(replayed) == list(range(start + 3, head + 2))
    # Nothing more arrives: no duplicate of what was replayed.
    try:
        extra = await back.event(timeout=0.3)
    except TimeoutError:
        extra = None
    assert extra is None


async def test_resume_while_events_keep_coming(server: Running) -> None:
    """The hand-over from log to live under load: no gap, no duplicate."""
    d = await server.api.dispatcher()
    hh = [await _handheld(server, f"G0{i}") for i in range(1, 6)]
    for h in hh:
        await h.alarm()

    async def burst() -> None:
        for _ in range(20):
            await asyncio.gather(*(h.alarm() for h in hh))

    task = asyncio.create_task(burst())
    await asyncio.sleep(0.05)
    console = await server.console(d["token"]).connect(since=0)
    await task
    total = 5 + 20 * 5
    got = await console.events_until(lambda got: len(got) == total)
    assert _seqs(got) == list(range(1, total + 1))


async def test_slow_console_is_resynced_from_the_log(tmp_path: Path, database_url: str) -> None:
    """A console whose queue overflows catches up from the log; others are not held back."""
    settings = settings_for(database_url, console_queue=4)
    async with in_process(settings) as server:
        d = await server.api.dispatcher()
        slow = await server.console(d["token"]).connect(since=0)
        fast = await server.console(d["token"]).connect(since=0)
        hh = [await _handheld(server, f"G0{i}") for i in range(1, 9)]
        total = 0
        for _ in range(10):
            await asyncio.gather(*(h.alarm() for h in hh))
            total += len(hh)
        # `fast` reads as it goes; `slow` has not read at all, so its queue overflowed.
        fast_got = await fast.events_until(lambda got: len(got) == total)
        slow_got = await slow.events_until(lambda got: len(got) == total)
        assert _seqs(fast_got) == list(range(1, total + 1))
        assert _seqs(slow_got) == list(range(1, total + 1))
        assert (await server.api.get("/api/health"))["console_resyncs"] > 0


async def test_console_input_after_hello_gets_error(server: Running) -> None:
    d = await server.api.dispatcher()
    console = await server.console(d["token"]).connect()
    assert console.ws is not None
    await console.ws.send('{"type":"acknowledge"}')
    error = await console.event()
    assert error["type"] == "error" and error["code"] == "unknown_type"
