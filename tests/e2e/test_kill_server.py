"""Nothing is lost: SIGKILL the server while alarms are in flight, restart it on the same
database, and check every acknowledged alarm and every console event."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from tests.support.clients import Handheld
from tests.support.servers import ServerProcess

HANDHELDS = 20
KILL_AFTER = 120  # acknowledged alarms before the power cut


class Patrol:
    """A handheld that keeps raising alarms and remembers what the centre acknowledged."""

    def __init__(self, handheld: Handheld) -> None:
        self.h = handheld
        self.accepted: dict[str, int] = {}
        self.unanswered: list[str] = []

    async def keep_raising(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            alert_id = str(uuid.uuid4())
            self.unanswered.append(alert_id)
            try:
                reply = await self.h.alarm(alert_id)
            except (ConnectionClosed, OSError, TimeoutError):
                return  # the server died: this alarm stays unanswered, as in an outbox
            self.unanswered.remove(alert_id)
            assert not reply["duplicate"]
            self.accepted[alert_id] = reply["incident_id"]


@pytest.mark.slow
async def test_sigkill_during_alarms_loses_nothing(tmp_path: Path, database_url: str) -> None:
    proc = ServerProcess(database_url, tmp_path / "server.log")
    server = proc.start()
    try:
        tokens = [
            (await server.api.member(f"m{i}", f"G{i % 10 + 1:02d}"))["token"]
            for i in range(HANDHELDS)
        ]
        d = await server.api.dispatcher()
        console = await server.console(d["token"]).connect(since=0)
        patrols = [Patrol(await server.handheld(t).connect()) for t in tokens]

        seen: list[dict[str, Any]] = []

        async def watch() -> None:
            with contextlib.suppress(ConnectionClosed, OSError, TimeoutError):
                while True:
                    seen.append(await console.event(timeout=30))

        stop = asyncio.Event()
        watcher = asyncio.create_task(watch())
        raising = [asyncio.create_task(p.keep_raising(stop)) for p in patrols]
        while sum(len(p.accepted) for p in patrols) < KILL_AFTER:
            await asyncio.sleep(0.005)
        proc.kill()  # mid-flight: every handheld has an alarm outstanding
        await asyncio.wait_for(asyncio.gather(*raising), 30)
        await asyncio.wait_for(watcher, 30)
        stop.set()

        accepted = {a: i for p in patrols for a, i in p.accepted.items()}
        unanswered = [a for p in patrols for a in p.unanswered]
        assert len(accepted) >= KILL_AFTER
        assert unanswered, "the kill should have caught alarms in flight"

        server = proc.start()
        listing = await server.api.get("/api/incidents", limit=1000)
        logged = {i["alert_id"]: i["incident_id"] for i in listing["incidents"]}
        # Every acknowledged alarm is in the log, under the incident id the handheld was told.
        lost = {a: i for a, i in accepted.items() if logged.get(a) != i}
        assert not lost, f"acknowledged but not logged as told: {lost}"
        # Whatever else is logged was in flight at the kill (committed, ack lost).
        extra = set(logged) - set(accepted) - set(unanswered)
        assert not extra, f"logged alarms nobody sent: {extra}"

        # The handhelds retry what was never answered, as their outboxes would.
        retried = 0
        for p in patrols:
            h = await server.handheld(p.h.token).connect()
            for alert_id in p.unanswered:
                reply = await h.alarm(alert_id)
                assert reply["duplicate"] == (alert_id in logged)
                if reply["duplicate"]:
                    assert reply["incident_id"] == logged[alert_id]
                retried += 1
        final = await server.api.get("/api/incidents", limit=1000)
        alert_ids = [i["alert_id"] for i in final["incidents"]]
        assert len(alert_ids) == len(set(alert_ids)) == len(accepted) + retried
        head = final["last_seq"]

        # The console resumes from the last seq it saw: every logged event exactly once, in
        # order. The log itself has no gap: the killed server's uncommitted batch took no
        # seq with it (decision 25).
        last = seen[-1]["seq"] if seen else 0
        back = await server.console(d["token"]).connect(since=last)
        rest = await back.events_until(lambda got: bool(got) and got[-1]["seq"] == head, timeout=20)
        whole = await server.console(d["token"]).connect(since=0)
        everything = await whole.events_until(lambda got: bool(got) and got[-1]["seq"] == head)
        log = [e["seq"] for e in everything]
        assert log == list(range(1, head + 1))
        seqs = [e["seq"] for e in seen + rest]
        gaps = sorted(set(log) - set(seqs))
        doubles = sorted(q for q in set(seqs) if seqs.count(q) > 1)
        assert seqs == log, f"last seen {last}, gaps {gaps}, doubles {doubles}"
        opened = [e["alert_id"] for e in seen + rest if e["type"] == "incident_opened"]
        assert sorted(opened) == sorted(alert_ids)
    finally:
        proc.stop()
