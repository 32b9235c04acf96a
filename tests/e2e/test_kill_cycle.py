"""Kill the server again and again, at random moments, while real handhelds raise alarms.

Twenty-four `PatrolClient`s (the library, each with its own durable outbox) keep
pressing their keys while the server, a child process on one port, is SIGKILLed
and restarted: while it is still starting (handshakes wait in the listen
backlog), just after it is ready, right after some of the handhelds are back
(the others are mid-handshake), and once all of them are back with alarms in
flight. Afterwards every alarm is in the log exactly once, under the incident
id its handheld was told; every outbox is empty; no handheld's run() ended by
itself; and a console that reconnected after every restart saw every seq once.

The schedule is seeded: the seed is printed, and KILL_CYCLE_SEED=<seed> replays it
(the schedule, not the exact interleaving of a multi-process run).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest

from dispatch_server.protocol.frames import AlertAccepted, AlertUpdate, ToHandheld
from patrol_client.client import Link, PatrolClient
from patrol_client.connection import Backoff
from patrol_client.core import Unknown
from patrol_client.outbox import Outbox
from tests.support.clients import Console
from tests.support.patrols import until
from tests.support.servers import Running, ServerProcess, free_port

HANDHELDS = 24
KILLS = 10
ALARMS_EACH = 30  # at most, per handheld: the whole log fits one page of /api/incidents
ALARM_EVERY_S = 1.5  # mean time between one handheld's presses
SEED_ENV = "KILL_CYCLE_SEED"

# How a server's life ends (the first life as FIRST, then each of STYLES at least twice):
FIRST = "as the handhelds first connect"  # a few ms after they start: a burst of handshakes
STARTING = "while starting"  # at a random moment after spawn, often before it is ready
READY = "soon after ready"  # a random small delay after /api/health first answers
SOME_BACK = "some handhelds back"  # the moment k of them are online: the rest mid-handshake
ALL_BACK = "all handhelds back"  # a little after all are online: alarms in flight
STYLES = [STARTING, READY, SOME_BACK, ALL_BACK]


class Listening(PatrolClient):
    """A handheld that writes down every incident id the centre tells it for its alarms, and
    what broke its links.

    The id comes in `alert_accepted`, or in the `alert_update` the server sends after welcome
    for each of the member's open alarms (docs/protocol.md): when a kill took the
    `alert_accepted` of a committed alarm, and that update arrives before the outbox is
    replayed, the update is all the handheld hears, and it is enough."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, on_change=self._note_error, **kwargs)
        self.heard: dict[str, list[tuple[str, int]]] = defaultdict(list)
        self.errors: Counter[str] = Counter()
        self._last_error: str | None = None

    def _note_error(self) -> None:
        if self.view.last_error != self._last_error:
            self._last_error = self.view.last_error
            if self._last_error is not None:
                self.errors[self._last_error.split(":")[0]] += 1

    async def handle(self, frame: ToHandheld | Unknown) -> None:
        if isinstance(frame, AlertAccepted | AlertUpdate):
            self.heard[frame.alert_id].append((frame.type, frame.incident_id))
        await super().handle(frame)


class ConsoleWatch:
    """A duty console that reconnects after every restart with `since` = the last seq it saw."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.token = token
        self.seen: list[dict[str, Any]] = []
        self.links = 0
        self.failures: Counter[str] = Counter()

    @property
    def last(self) -> int:
        return int(self.seen[-1]["seq"]) if self.seen else 0

    async def run(self) -> None:
        while True:
            console = Console(self.url, self.token)
            try:
                await console.connect(since=self.last)
                self.links += 1
                while True:
                    frame = await console.event(timeout=3600)
                    if "seq" in frame:
                        self.seen.append(frame)
            except Exception as exc:  # the server died under us: come back after the restart
                self.failures[type(exc).__name__] += 1
            finally:
                with contextlib.suppress(Exception):
                    await console.close()
            await asyncio.sleep(0.05)


@pytest.mark.slow
@pytest.mark.timeout(240)  # its own waits (start 20 s, drain 60 s, console 20 s) say more
async def test_many_kills_at_random_moments_lose_and_double_nothing(
    tmp_path: Path, database_url: str
) -> None:
    seed = int(os.environ.get(SEED_ENV) or random.randrange(2**32))
    print(f"kill cycle: {SEED_ENV}={seed}")
    rng = random.Random(seed)
    plan = STYLES * 2 + [rng.choice(STYLES) for _ in range(KILLS - 1 - 2 * len(STYLES))]
    rng.shuffle(plan)
    plan.insert(0, FIRST)
    said = f"(replay with {SEED_ENV}={seed})"

    proc = ServerProcess(database_url, tmp_path / "server.log", port=free_port())
    server = await asyncio.to_thread(proc.start)
    clients: list[Listening] = []
    runs: list[asyncio.Task[None]] = []
    ended_by_itself: list[str] = []
    stopping = False
    watcher: asyncio.Task[None] | None = None
    raisers: list[asyncio.Task[None]] = []
    try:
        d = await server.api.dispatcher()
        for i in range(HANDHELDS):
            token = (await server.api.member(f"m{i}", f"G{i % 10 + 1:02d}"))["token"]
            backoff = Backoff(initial_s=0.05, maximum_s=0.5, rng=random.Random(rng.random()))
            client = Listening(
                server.base, token, Outbox(tmp_path / f"outbox-{i}.sqlite3"), backoff=backoff
            )
            clients.append(client)
        for i, client in enumerate(clients):
            task = asyncio.create_task(client.run())

            def ended(t: asyncio.Task[None], i: int = i) -> None:
                if not stopping:
                    why = "cancelled" if t.cancelled() else repr(t.exception())
                    ended_by_itself.append(f"handheld {i}: {why}")

            task.add_done_callback(ended)
            runs.append(task)
        watch = ConsoleWatch(f"ws://127.0.0.1:{proc.port}/ws/console", d["token"])
        watcher = asyncio.create_task(watch.run())

        enough = asyncio.Event()

        async def press(client: Listening, rng: random.Random) -> None:
            for _ in range(ALARMS_EACH):
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(rng.expovariate(1 / ALARM_EVERY_S)):
                        await enough.wait()
                if enough.is_set():
                    return
                await client.alarm(rng.choice(["unknown", "medical", "fire", "theft"]))

        raisers = [asyncio.create_task(press(c, random.Random(rng.random()))) for c in clients]

        def online() -> int:
            return sum(c.view.link is Link.ONLINE for c in clients)

        def pending() -> int:
            return sum(len(c.outbox.pending()) for c in clients)

        started = time.monotonic()
        timeline: list[str] = []
        for life, style in enumerate(plan):
            downtime = 0.0
            starting: asyncio.Task[Running] | None = None  # the first life is up already
            if life > 0:
                downtime = rng.uniform(0.0, 0.5)
                await asyncio.sleep(downtime)
                before = proc.proc
                starting = asyncio.create_task(asyncio.to_thread(proc.start))
            if style == STARTING:
                assert starting is not None
                await until(lambda s=starting, b=before: proc.proc is not b or s.done())
                await asyncio.sleep(rng.uniform(0.2, 1.4))
            else:
                if starting is not None:
                    await starting
                if style == FIRST:
                    await asyncio.sleep(rng.uniform(0.0, 0.03))
                elif style == READY:
                    await asyncio.sleep(rng.uniform(0.0, 0.3))
                elif style == SOME_BACK:
                    k = rng.randint(HANDHELDS // 4, HANDHELDS * 3 // 4)
                    await until(lambda k=k: online() >= k, timeout=20)
                else:
                    await until(lambda: online() == HANDHELDS, timeout=20)
                    await asyncio.sleep(rng.uniform(0.0, 0.4))
            was = f"{online()} online, {pending()} pending"
            await asyncio.to_thread(proc.kill)
            ready = True
            try:
                if starting is not None:
                    await starting
            except RuntimeError:  # killed before it was ready: start() saw it exit
                ready = False
            timeline.append(
                f"{time.monotonic() - started:5.1f}s {style} (down {downtime:.2f}s first):"
                f" killed {'after' if ready else 'before'} ready, {was}"
            )
            assert not ended_by_itself, f"{ended_by_itself} {said}"
        print("\n".join(timeline))

        # The last life: stop pressing, let every outbox drain, then look at the log.
        server = await asyncio.to_thread(proc.start)
        enough.set()
        await asyncio.gather(*raisers)
        try:
            await until(lambda: pending() == 0, timeout=60)
        except TimeoutError:
            pytest.fail(f"outboxes not drained after 60 s: {pending()} pending {said}")
        assert not ended_by_itself, f"{ended_by_itself} {said}"
        assert all(not t.done() for t in runs), said

        listing = await server.api.get("/api/incidents", d["token"], limit=1000)
        incidents = listing["incidents"]
        head = listing["last_seq"]
        assert len(incidents) < 1000, "the log did not fit one page: lower ALARMS_EACH"
        try:
            await until(lambda: watch.last >= head, timeout=20)
        except TimeoutError:
            pytest.fail(f"the console stopped at seq {watch.last} of {head} {said}")
        pressed = {a.alert_id: a for c in clients for a in c.outbox.recent(1000)}
        heard = {a: ids for c in clients for a, ids in c.heard.items()}
    finally:
        stopping = True
        for c in clients:
            c.stop()
        for task in raisers:
            task.cancel()
        # Bounded: a handheld that does not stop when asked is a finding of its own, named
        # with where it is stuck (a hang seen twice on PostgreSQL under load ended in the
        # test's timeout with nothing said).
        _, stuck = await asyncio.wait([*runs, *raisers], timeout=30)
        if stuck:
            where = [
                f"{'handheld ' + str(runs.index(t)) if t in runs else 'raiser'}: "
                + " <- ".join(f"{f.f_code.co_name}:{f.f_lineno}" for f in t.get_stack())
                for t in stuck
            ]
            for t in stuck:
                t.cancel()
            await asyncio.gather(*stuck, return_exceptions=True)
            proc.stop()
            pytest.fail(f"{len(stuck)} tasks still running 30 s after stop(): {where}")
        if watcher is not None:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)
        for c in clients:
            c.outbox.close()
        proc.stop()

    kinds = Counter(kind for told in heard.values() for kind, _ in told)
    update_only = [a for a, told in heard.items() if {k for k, _ in told} == {"alert_update"}]
    counts = Counter(i["alert_id"] for i in incidents)
    logged = {i["alert_id"]: i["incident_id"] for i in incidents}
    print(
        f"{len(pressed)} alarms; alert_accepted heard {kinds['alert_accepted']} times, and"
        f" for {len(update_only)} alarms only an alert_update;"
        f" {head} events, console linked {watch.links} times ({dict(watch.failures)})"
    )
    print(f"what broke the handhelds' links: {dict(sum((c.errors for c in clients), Counter()))}")
    doubled = {a: n for a, n in counts.items() if n > 1}
    assert not doubled, f"alarms logged more than once: {doubled} {said}"
    assert set(logged) == set(pressed), (
        f"missing {set(pressed) - set(logged)}, never pressed {set(logged) - set(pressed)} {said}"
    )
    told_otherwise = {
        a: (told, logged[a]) for a, told in heard.items() if {i for _, i in told} != {logged[a]}
    }
    assert not told_otherwise, f"told (what, logged): {told_otherwise} {said}"
    assert set(heard) == set(pressed), f"never told: {set(pressed) - set(heard)} {said}"
    wrong_box = {a for a, alarm in pressed.items() if alarm.incident_id != logged[a]}
    assert not wrong_box, f"outbox disagrees with the log: {wrong_box} {said}"

    seqs = [e["seq"] for e in watch.seen]
    gaps = sorted(set(range(1, head + 1)) - set(seqs))
    doubles = sorted(q for q, n in Counter(seqs).items() if n > 1)
    assert seqs == list(range(1, len(seqs) + 1)) and seqs[-1] >= head, (
        f"console feed across {watch.links} links: gaps {gaps}, doubles {doubles} {said}"
    )
    opened = Counter(e["alert_id"] for e in watch.seen if e["type"] == "incident_opened")
    assert opened == Counter(logged.keys()), f"incident_opened once per alarm {said}"
