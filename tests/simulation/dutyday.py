"""A duty day, simulated: a seeded random driver of the real server over real sockets.

The server runs as a child process (`dispatch-server serve`, tests/support/servers.py)
on a fresh database, with short clocks (escalation after a few seconds, roll calls of
a few seconds, members offline after 3 s of silence), so that a simulated day takes
minutes. Against it run: a handheld per patrol member (morning and evening shift in
each grid), two duty consoles, a security partner on its /ws/partner feed, a security
partner and the police with webhook receivers. Each step the driver picks one thing
to do, at random from the seed:

alarms of every category (some retried with the same alert_id), console and partner
acknowledgements, dispatch with accept and decline, notes, resolves, roll calls and
their answers (some members stay silent, some need help), check-ins and check-in
rules, members going silent (socket closed without goodbye, or connected and mute)
and coming back, the shift change, escalation rule changes and new partners,
provoked mistakes (illegal commands, bad frames) and server restarts (graceful or
SIGKILL, same port; consoles resume with `since`).

After every step it checks (tests/simulation/oracle.py has the deadline reckoning):

- every deadline that fell due fired once and on time, worked out from what the
  simulator did (escalation steps by the rules in force, roll calls closing,
  members going offline and online, check-in warnings and overdues);
- GET /api/health answers 200 with ok: true;
- every alarm a handheld heard `alert_accepted` for is in the log exactly once,
  under the incident id it was told, in the grid that holds its fix;
- each console's seqs run 1, 2, 3... with no gap and no repeat (across restarts),
  and both consoles saw the same events;
- no `error` frame, 4xx or 5xx arrives that the simulator did not provoke, and
  every command is accepted or refused exactly as the incident's state says;
- the server process has not ended by itself: if it has, the report names its exit
  code or the signal that killed it, the last lines it wrote, and what the kernel
  logged about its pid (the OOM killer's line).

At the end it lets the clocks run out and checks the partner feed (only what was
escalated to it), the webhooks (signed, one per escalation) and each incident's REST
view against the log (same timeline; its `next_escalation_at` not in the past).

Run:

    PYTHONPATH=$PWD .venv/bin/python -m tests.simulation.dutyday --seed 7 --hours 2
    PYTHONPATH=$PWD .venv/bin/python -m tests.simulation.dutyday --seed 7 --backend postgresql
    make soak                       # 24 simulated hours, figures at the end

Replay a failure: the report starts with `seed N` and ends with the command line
that replays it (same seed, hours and options). The seed fixes every choice the
driver makes; what the server does by itself (deadlines, timing) is not under its
control, so a replay takes the same actions but may meet the bug a few steps
earlier or later. The report shows the step, the last actions and the server log's
errors; `--keep-going` collects every finding instead of stopping at the first.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import random
import re
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from shapely.geometry import Point, shape
from websockets.exceptions import ConnectionClosed

from tests.simulation.oracle import Epoch, Finding, Oracle, describe_rule, epoch
from tests.support.clients import Console, Handheld
from tests.support.servers import ADMIN, ServerProcess, free_port
from tests.support.webhook import Receiver

Frame = dict[str, Any]
CATEGORIES = [
    "unknown",
    "medical",
    "fire",
    "violence",
    "theft",
    "dispute",
    "disorder",
    "suspicious",
    "other",
]
DISPOSITIONS = ["true_alarm", "false_alarm", "test", "handled_by_partner"]
ANSWER_S = 10.0  # the longest the server may take to answer a frame or a request


@dataclass
class Config:
    seed: int
    hours: float = 0.5
    hour_s: float = 30.0  # real seconds per simulated hour: 24 h in 12 minutes
    grids: int = 4
    per_shift: int = 2  # members per grid and shift (morning, evening)
    tolerance_s: float = 2.0  # how late a deadline may fire
    race_s: float = 0.5  # how soon after a step fell due a stop may still have beaten it
    offline_after_s: float = 3.0
    heartbeat_s: float = 0.5
    roll_call_timeout_s: float = 3.0
    check_in_overdue_after_s: float = 2.0
    no_ack_s: float = 3.0
    no_responder_s: float = 6.0
    webhook_retry_s: float = 0.5
    webhook_attempts: int = 4
    restarts: bool = True
    rule_changes: bool = True
    min_restart_gap_s: float = 6.0
    settle_s: float = 10.0
    keep_going: bool = False
    grace_s: float = 4.0  # how long to go on after the first finding
    history: int = 30
    backend: str = "sqlite"

    @property
    def duration_s(self) -> float:
        return self.hours * self.hour_s

    def replay(self) -> str:
        extra = f" --backend {self.backend}" if self.backend != "sqlite" else ""
        extra += f" --grids {self.grids} --per-shift {self.per_shift}"
        return (
            "PYTHONPATH=$PWD .venv/bin/python -m tests.simulation.dutyday "
            f"--seed {self.seed} --hours {self.hours:g}{extra}"
        )


def base_rules(cfg: Config) -> list[Frame]:
    """The default 1-3-5 rules with this simulation's short times."""
    return [
        {"trigger": "immediate", "to": "security", "category": "fire"},
        {"trigger": "immediate", "to": "security", "category": "violence"},
        {"trigger": "unattended", "to": "security"},
        {"trigger": "no_ack", "to": "security", "after_s": cfg.no_ack_s},
        {"trigger": "no_responder", "to": "police", "after_s": cfg.no_responder_s},
    ]


class SimulationFailed(AssertionError):
    pass


@dataclass
class Inc:
    """The simulator's own idea of an incident: what its commands may do to it."""

    iid: int
    reporter: int
    category: str
    status: str = "open"
    replies: dict[int, bool | None] = field(default_factory=dict)
    opened: float = field(default_factory=time.time)

    def settle(self) -> None:
        if self.status != "resolved" and self.replies:
            self.status = "responding" if any(self.replies.values()) else "dispatched"


@dataclass
class Hand:
    """One patrol member's handheld."""

    member_id: int
    token: str
    grid: str
    shift: str  # morning | evening
    diligent: bool
    hh: Handheld | None = None
    reader: asyncio.Task[None] | None = None
    connected: bool = False
    on_shift: bool = False
    mode: str = "off"  # off (not on duty), up, away (socket closed), mute (connected, silent)
    back_at: float = 0.0  # when a silent member means to come back
    busy: bool = False  # a request is in flight: the heartbeat leaves it alone
    asked: dict[int, Frame] = field(default_factory=dict)  # roll calls asked, not answered
    assignments: dict[int, Frame] = field(default_factory=dict)
    provoked: list[str] = field(default_factory=list)
    waiters: list[tuple[Callable[[Frame], bool], asyncio.Future[Frame]]] = field(
        default_factory=list
    )
    last_check_in: float = 0.0
    alerts: list[tuple[str, int]] = field(default_factory=list)  # (alert_id, incident_id)


@dataclass
class Feed:
    """A console (or the partner's feed): every frame by seq, checked as it arrives."""

    name: str
    url: str
    token: str
    gapless: bool
    client: Console | None = None
    reader: asyncio.Task[None] | None = None
    last: int = 0
    frames: dict[int, Frame] = field(default_factory=dict)
    connects: int = 0


class DutyDay:
    def __init__(self, cfg: Config, database_url: str, workdir: Path, out: Any = print) -> None:
        self.cfg = cfg
        self.rng = random.Random(cfg.seed)
        self.database_url = database_url
        self.workdir = workdir
        self.out = out
        self.oracle = Oracle(
            cfg.tolerance_s, cfg.offline_after_s, cfg.check_in_overdue_after_s, cfg.race_s
        )
        self.findings: list[Finding] = []
        self.history: collections.deque[str] = collections.deque(maxlen=cfg.history)
        self.figures: collections.Counter[str] = collections.Counter()
        self.hands: dict[int, Hand] = {}
        self.incidents: dict[int, Inc] = {}
        self.accepted: dict[str, tuple[int, float, str | None]] = {}  # alert -> (iid, at, grid)
        self.feeds: list[Feed] = []
        self.partner_feed: Feed | None = None
        self.partner_escalated: set[int] = set()
        self.partners: dict[str, Frame] = {}
        self.hooks: dict[int, Receiver] = {}  # partner id -> its receiver
        self.grid_shapes: dict[str, Any] = {}
        self.rules: list[Frame] = []
        self.check_in_rules: list[Frame] = []
        self.step = 0
        self.t0 = time.time()
        self.last_restart = time.time()
        self.proc: ServerProcess | None = None
        self.base = ""
        self.http: dict[str, httpx.AsyncClient] = {}
        self.tokens: dict[str, str] = {"admin": ADMIN}
        self.heartbeat: asyncio.Task[None] | None = None
        self.stopping = False
        self.log_seen = 0
        self.stuck: set[int] = set()
        self.on_duty_shift = "morning"
        self.health_ok: tuple[int, float] = (0, 0.0)
        self.before_first: list[str] = []
        self.first_step = 0
        self.exit_reported: int | None = None  # the server pid whose end was reported

    # --- reporting -----------------------------------------------------------------------

    def note(self, text: str) -> None:
        self.history.append(f"{time.time() - self.t0:8.2f}s step {self.step:5d}: {text}")

    def find(self, kind: str, message: str) -> None:
        self.add_finding(Finding(kind, message, time.time()))

    def add_finding(self, f: Finding) -> None:
        if not self.findings:
            self.before_first = list(self.history)
            self.first_step = self.step
        self.findings.append(f)
        self.note(f"FINDING {f}")

    def server_log_errors(self, tracebacks: int = 3) -> str:
        """Each distinct error the server logged (its last line, how often), and the first
        tracebacks in full."""
        path = self.workdir / "server.log"
        if not path.exists():
            return ""
        lines = path.read_text(errors="replace").splitlines()
        seen: collections.Counter[str] = collections.Counter()
        first: dict[str, int] = {}
        shown: list[str] = []
        for i, ln in enumerate(lines):
            if ln.startswith("Traceback"):
                end = i + 1
                while end < len(lines) and (lines[end].startswith((" ", "\t")) or not lines[end]):
                    end += 1
                last = lines[end] if end < len(lines) else "?"
                key = re.sub(r"\d+", "N", last.split(":")[0] + ":" + " ".join(last.split()[1:8]))
                seen[key] += 1
                if key not in first:
                    first[key] = i
                    if len(first) <= tracebacks:
                        shown += [*lines[max(0, i - 1) : end + 1][-30:], ""]
        if not seen:
            return ""
        summary = [f"{n} x {key}" for key, n in sorted(seen.items(), key=lambda kv: first[kv[0]])]
        return "\n".join(["distinct errors, in order of first appearance:", *summary, "", *shown])

    def server_exit(self) -> str | None:
        """How the server process ended, if it ended by itself (not by a restart of ours)."""
        return None if self.proc is None else self.proc.exited_by_itself()

    def check_server_process(self) -> None:
        """The server child must never end by itself: say how it ended (its exit code or the
        signal that killed it) and what it wrote last, once for each process."""
        status = self.server_exit()
        if status is None or self.proc is None or self.proc.pid == self.exit_reported:
            return
        self.exit_reported = self.proc.pid
        tail = self.proc.output_tail(8)
        self.find(
            "server_exited",
            f"the server process (pid {self.proc.pid}) {status}; "
            + (f"its last output: {' / '.join(tail)}" if tail else "it wrote nothing")
            + " (more below)",
        )

    def server_process_report(self) -> list[str]:
        """The server child at the time of the report: running, or how it ended, with the
        tail of its output and, for a SIGKILL nobody here sent, what the kernel said."""
        proc = self.proc
        if proc is None or proc.pid is None:
            return ["server process: never started"]
        status = proc.exit_status()
        if status is None:
            return [f"server process: pid {proc.pid}, still running"]
        why = "by itself" if proc.exited_by_itself() else "stopped by the simulator"
        out = [f"server process: pid {proc.pid} {status} ({why})"]
        if why == "by itself" and "SIGKILL" in status:
            kernel = proc.kernel_lines()
            out.append(
                "  nothing in the simulator sent that SIGKILL: the kernel's OOM killer "
                "(dmesg) or another program (a pkill?). The kernel said about that pid:"
            )
            out += [f"  | {ln}" for ln in kernel] or ["  | (nothing)"]
        tail = proc.output_tail(30)
        out.append(
            f"  the last {len(tail)} lines it wrote (stdout and stderr, {proc.log}):"
            if tail
            else f"  it wrote nothing since it started ({proc.log})"
        )
        out += [f"  | {ln}" for ln in tail]
        return out

    def report(self) -> str:
        out = [
            f"duty-day simulation FAILED: seed {self.cfg.seed}, step {self.step}, "
            f"{time.time() - self.t0:.1f} s in, backend {self.cfg.backend}",
            "findings (the first of each kind, in order; how many of that kind):",
        ]
        kinds: collections.Counter[str] = collections.Counter(f.kind for f in self.findings)
        shown: set[str] = set()
        for f in self.findings:
            if f.kind not in shown:
                shown.add(f.kind)
                out.append(f"  {kinds[f.kind]} x {f}")
        first = self.findings[0].at if self.findings else time.time()
        suspects = [m for due, m in self.oracle.excused if first - 15 <= due <= first]
        if suspects:
            out += ["steps excused as races shortly before (suspects):"]
            out += [f"  {m}" for m in suspects[-5:]]
        out += ["the actions before the first finding:", *(f"  {h}" for h in self.before_first)]
        later = list(self.history)[len(self.history) - (self.step - self.first_step) - 1 :]
        if self.step > self.first_step:
            out += ["and after it:", *(f"  {h}" for h in later if "FINDING" not in h)]
        clocks = [e for _, e in sorted(self.oracle.log.items()) if e["actor"].startswith("system:")]
        out += ["the last steps the server's clocks took (system:* events):"]
        for e in clocks[-5:]:
            subject = e.get("incident_id") or e.get("roll_call_id") or e.get("member_id") or ""
            out.append(f"  seq {e['seq']} {e['at']} {e['type']} {subject}")
        dump = self.workdir / "log.jsonl"
        with contextlib.suppress(OSError):
            dump.write_text(
                "".join(json.dumps(e) + "\n" for _, e in sorted(self.oracle.log.items()))
            )
            out.append(f"the whole log as the console saw it: {dump}")
        out += self.server_process_report()
        errors = self.server_log_errors()
        if errors:
            out += [
                f"server log ({self.workdir / 'server.log'}):",
                *(f"  | {ln}" for ln in errors.splitlines()),
            ]
        step, at = self.health_ok
        if step:
            out.append(
                f"GET /api/health last answered 200 ok:true at step {step}, "
                f"{at - self.t0:.2f} s in (with the findings above standing)"
            )
        out.append(f"replay: {self.cfg.replay()}")
        return "\n".join(out)

    def check_findings(self, final: bool = False) -> None:
        """Stop a few seconds after the first finding (what follows from it is seen too),
        or at the end; with --keep-going only at the end."""
        if not self.findings or (self.cfg.keep_going and not final):
            return
        if final or time.time() - self.findings[0].at > self.cfg.grace_s:
            raise SimulationFailed(self.report())

    # --- the server and its clients ----------------------------------------------------

    def client(self, who: str) -> httpx.AsyncClient:
        if who not in self.http:
            self.http[who] = httpx.AsyncClient(
                base_url=self.base,
                headers={"Authorization": f"Bearer {self.tokens[who]}"},
                timeout=ANSWER_S,
            )
        return self.http[who]

    async def request(
        self,
        who: str,
        method: str,
        path: str,
        body: Any = None,
        expect: int | tuple[int, ...] = 200,
        why: str = "",
    ) -> Any:
        """A REST call whose status the simulator knows in advance (its model says)."""
        want = (expect,) if isinstance(expect, int) else expect
        try:
            r = await self.client(who).request(method, path, json=body)
        except httpx.HTTPError as exc:
            self.find("http", f"{method} {path} as {who}: {type(exc).__name__}: {exc}")
            return None
        if r.status_code not in want:
            self.find(
                "http_status",
                f"{method} {path} as {who}: {r.status_code} {r.text[:300]}, expected {want}"
                + (f" ({why})" if why else ""),
            )
            return None
        return r.json() if r.content else None

    async def start_server(self) -> None:
        await asyncio.to_thread(self.proc_start)
        self.base = f"http://127.0.0.1:{self.port}"
        for c in self.http.values():
            await c.aclose()
        self.http.clear()

    def proc_start(self) -> None:
        assert self.proc is not None
        self.proc.start(timeout=60)
        self.port = self.proc.port

    async def open_feed(self, feed: Feed) -> None:
        client = Console(feed.url, feed.token)
        await client.connect(since=feed.last)
        feed.client = client
        feed.connects += 1
        feed.reader = asyncio.create_task(self.read_feed(feed, client), name=feed.name)

    async def read_feed(self, feed: Feed, client: Console) -> None:
        assert client.ws is not None
        try:
            async for raw in client.ws:
                frame = json.loads(raw)
                self.on_feed(feed, frame)
        except ConnectionClosed:
            pass

    def on_feed(self, feed: Feed, frame: Frame) -> None:
        seq = frame.get("seq")
        if frame.get("type") == "error" or seq is None:
            self.find("feed_frame", f"{feed.name}: unexpected frame {frame}")
            return
        if feed.gapless and seq != feed.last + 1:
            self.find(
                "console_seq",
                f"{feed.name}: seq {seq} after {feed.last} "
                f"({'gap' if seq > feed.last + 1 else 'repeat or going back'}; "
                f"connection #{feed.connects})",
            )
        elif not feed.gapless and seq <= feed.last:
            self.find("partner_seq", f"{feed.name}: seq {seq} after {feed.last}")
        feed.last = max(feed.last, seq)
        feed.frames[seq] = frame
        if feed is self.feeds[0]:
            self.oracle.add(frame)
            self.on_event(frame)
        elif feed is self.partner_feed:
            if frame["type"] == "incident_escalated":
                self.partner_escalated.add(frame["incident_id"])
        else:
            first = self.feeds[0].frames.get(seq)
            if first is not None and first != frame:
                self.find("consoles_differ", f"seq {seq}: {first} vs {frame}")

    def on_event(self, e: Frame) -> None:
        """The log, as the first console sees it: incidents the server opened by itself."""
        self.figures[f"event:{e['type']}"] += 1
        if e["type"] == "incident_opened":
            iid = e["incident_id"]
            if iid not in self.incidents:
                self.incidents[iid] = Inc(iid, e["reporter_id"], e["category"], opened=e_t(e))

    async def connect_hand(self, hand: Hand) -> bool:
        hh = Handheld(f"ws://127.0.0.1:{self.port}/ws/patrol", hand.token)
        began = time.time()  # the server hears the hello from about now, not from the welcome
        try:
            await hh.connect()
        except (OSError, ConnectionClosed, TimeoutError) as exc:
            self.find("connect", f"member {hand.member_id} could not connect: {exc!r}")
            return False
        self.oracle.sent(hand.member_id, began)
        hand.hh = hh
        hand.connected = True
        hand.on_shift = bool(hh.welcome.get("on_shift"))
        hand.reader = asyncio.create_task(self.read_hand(hand, hh), name=f"m{hand.member_id}")
        return True

    async def read_hand(self, hand: Hand, hh: Handheld) -> None:
        assert hh.ws is not None
        try:
            async for raw in hh.ws:
                self.on_hand(hand, json.loads(raw))
        except ConnectionClosed:
            pass
        finally:
            if hand.hh is hh:
                hand.connected = False
            for _, fut in hand.waiters:
                if not fut.done():
                    fut.cancel()

    def on_hand(self, hand: Hand, frame: Frame) -> None:
        kind = frame.get("type")
        if kind == "error":
            if frame.get("code") in hand.provoked:
                hand.provoked.remove(frame["code"])
            else:
                self.find("error_frame", f"member {hand.member_id} got {frame}")
        elif kind == "roll_call":
            if frame["roll_call_id"] not in hand.asked:
                self.figures["roll_call_frames"] += 1
            hand.asked[frame["roll_call_id"]] = frame
        elif kind == "assignment":
            hand.assignments[frame["incident_id"]] = frame
        for pred, fut in list(hand.waiters):
            if not fut.done() and pred(frame):
                fut.set_result(frame)
                hand.waiters.remove((pred, fut))
                break

    async def send(self, hand: Hand, frame: Frame | str) -> bool:
        if hand.hh is None or not hand.connected:
            return False
        began = time.time()
        try:
            await hand.hh.send(frame)
        except ConnectionClosed:
            return False
        self.oracle.sent(hand.member_id, began)
        return True

    async def ask(self, hand: Hand, frame: Frame, pred: Callable[[Frame], bool]) -> Frame | None:
        """Send a frame and wait for the answer the protocol promises."""
        fut: asyncio.Future[Frame] = asyncio.get_running_loop().create_future()
        hand.waiters.append((pred, fut))
        hand.busy = True
        try:
            if not await self.send(hand, frame):
                return None
            try:
                return await asyncio.wait_for(fut, ANSWER_S)
            except TimeoutError:
                self.find(
                    "no_answer",
                    f"member {hand.member_id} sent {frame.get('type')} and heard nothing in "
                    f"{ANSWER_S:g} s",
                )
                return None
            except asyncio.CancelledError:
                if self.stopping:
                    raise
                return None  # the socket closed under it (a restart is not one of ours here)
        finally:
            hand.busy = False
            if (pred, fut) in hand.waiters:
                hand.waiters.remove((pred, fut))

    async def beat(self) -> None:
        """Every handheld on shift and not silent says it is there; the diligent check in."""
        while True:
            await asyncio.sleep(self.cfg.heartbeat_s)
            now = time.time()
            for hand in list(self.hands.values()):
                if hand.mode != "up" or not hand.connected or not hand.on_shift or hand.busy:
                    continue
                period = self.check_in_period(hand)
                if hand.diligent and period is not None and now - hand.last_check_in > period / 3:
                    hand.last_check_in = now
                    await self.send(hand, {"type": "check_in"})
                else:
                    await self.send(hand, {"type": "heartbeat"})

    def check_in_period(self, hand: Hand) -> float | None:
        mine = [r for r in self.check_in_rules if r.get("member_id") == hand.member_id]
        grid = [r for r in self.check_in_rules if r.get("grid_id") == hand.grid]
        rule = (mine or grid or [None])[0]
        return None if rule is None else rule.get("period_s")

    # --- setup ----------------------------------------------------------------------------

    async def setup(self) -> None:
        cfg = self.cfg
        env = {
            "DISPATCH_OFFLINE_AFTER_S": str(cfg.offline_after_s),
            "DISPATCH_ROLL_CALL_TIMEOUT_S": str(cfg.roll_call_timeout_s),
            "DISPATCH_CHECK_IN_OVERDUE_AFTER_S": str(cfg.check_in_overdue_after_s),
            "DISPATCH_WEBHOOK_RETRY_S": str(cfg.webhook_retry_s),
            "DISPATCH_WEBHOOK_ATTEMPTS": str(cfg.webhook_attempts),
            "DISPATCH_WEBHOOK_TIMEOUT_S": "2",
        }
        self.proc = ServerProcess(
            self.database_url, self.workdir / "server.log", env=env, port=free_port()
        )
        await self.start_server()
        grids = await self.request("admin", "GET", "/api/grids")
        grid_ids = sorted(f["id"] for f in grids["features"])[: cfg.grids]
        self.grid_ids = grid_ids
        self.grid_shapes = {f["id"]: shape(f["geometry"]) for f in grids["features"]}
        await self.put_rules(base_rules(cfg))
        hook_a, hook_b = Receiver(), Receiver()
        await hook_a.start()
        await hook_b.start()
        half = grid_ids[: max(1, len(grid_ids) // 2)]
        await self.add_partner("estate", "security", grid_ids, None)
        await self.add_partner("hotel", "security", half, hook_a)
        await self.add_partner("police", "police", grid_ids, hook_b)
        for name in ("desk-1", "desk-2"):
            d = await self.request("admin", "POST", "/api/dispatchers", {"name": name}, 201)
            self.tokens[name] = d["token"]
            feed = Feed(name, self.ws_url("/ws/console"), d["token"], gapless=True)
            self.feeds.append(feed)
            await self.open_feed(feed)
        estate = self.partners["estate"]
        self.partner_feed = Feed("estate-feed", self.ws_url("/ws/partner"), estate["token"], False)
        await self.open_feed(self.partner_feed)
        for grid in grid_ids:
            for shift in ("morning", "evening"):
                for k in range(cfg.per_shift):
                    skills = self.rng.sample(["medical", "first_aid", "security", "mediation"], 1)
                    body = {"name": f"{grid}-{shift}-{k}", "grid_id": grid, "skills": skills}
                    m = await self.request("admin", "POST", "/api/members", body, 201)
                    hand = Hand(m["member_id"], m["token"], grid, shift, self.rng.random() < 0.6)
                    self.hands[hand.member_id] = hand
                    self.oracle.member_grid[hand.member_id] = grid
        for hand in self.sorted_hands():
            if hand.shift == "morning":
                await self.go_on_duty(hand)
        self.heartbeat = asyncio.create_task(self.beat(), name="heartbeat")

    def ws_url(self, path: str) -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    def sorted_hands(self) -> list[Hand]:
        return [self.hands[m] for m in sorted(self.hands)]

    async def put_rules(self, rules: list[Frame]) -> None:
        sent = time.time()
        got = await self.request("admin", "PUT", "/api/escalation-rules", rules)
        if got is None:
            return
        self.rules = got
        self.oracle.rule_epochs.append(Epoch(sent, time.time(), got))

    async def add_partner(
        self, name: str, kind: str, grids: list[str], hook: Receiver | None
    ) -> None:
        body: Frame = {"name": name, "kind": kind, "grids": grids}
        if hook is not None:
            body["webhook_url"] = hook.url
        sent = time.time()
        p = await self.request("admin", "POST", "/api/partners", body, 201)
        if p is None:
            return
        self.oracle.partners.append((sent, time.time(), {**p, "kind": kind, "grids": grids}))
        self.partners[name] = {**p, "kind": kind, "grids": grids, "hook": hook}
        self.tokens[f"partner:{name}"] = p["token"]
        if hook is not None:
            self.hooks[p["partner_id"]] = hook

    async def go_on_duty(self, hand: Hand) -> None:
        if not hand.connected and not await self.connect_hand(hand):
            return
        hand.mode = "up"
        got = await self.ask(hand, {"type": "shift_start"}, lambda f: f["type"] == "shift")
        if got is not None:
            if got.get("on_shift") is not True:
                self.find("shift", f"member {hand.member_id}: shift_start answered {got}")
            hand.on_shift = True
            hand.last_check_in = time.time()

    async def go_off_duty(self, hand: Hand) -> None:
        if not hand.connected and not await self.connect_hand(hand):
            return
        hand.mode = "up"
        got = await self.ask(hand, {"type": "shift_end"}, lambda f: f["type"] == "shift")
        if got is not None and got.get("on_shift") is not False:
            self.find("shift", f"member {hand.member_id}: shift_end answered {got}")
        hand.on_shift = False
        hand.mode = "off"
        await self.hang_up(hand)

    async def hang_up(self, hand: Hand) -> None:
        if hand.hh is not None:
            hh, hand.hh = hand.hh, None
            hand.connected = False
            self.oracle.sent(hand.member_id, time.time())  # the server hears it go from now
            await hh.close()
        if hand.reader is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await hand.reader

    # --- actions ------------------------------------------------------------------------

    def on_duty(self) -> list[Hand]:
        return [h for h in self.sorted_hands() if h.mode == "up" and h.connected and h.on_shift]

    def open_incidents(self) -> list[Inc]:
        return [i for _, i in sorted(self.incidents.items()) if i.status != "resolved"]

    def point_in(self, grid: str) -> tuple[float, float]:
        poly = self.grid_shapes[grid]
        minx, miny, maxx, maxy = poly.bounds
        for _ in range(100):
            p = Point(self.rng.uniform(minx, maxx), self.rng.uniform(miny, maxy))
            if poly.contains(p):
                return round(p.x, 7), round(p.y, 7)
        rp = poly.representative_point()
        return rp.x, rp.y

    async def act_alarm(self) -> bool:
        hands = self.on_duty()
        if not hands:
            return False
        hand = self.rng.choice(hands)
        category = self.rng.choice(CATEGORIES)
        frame: Frame = {"type": "alert", "alert_id": str(uuid.uuid4()), "category": category}
        roll = self.rng.random()
        grid = None
        if roll < 0.8:
            grid = hand.grid if roll < 0.65 else self.rng.choice(self.grid_ids)
            frame["lon"], frame["lat"] = self.point_in(grid)
            frame["accuracy_m"] = 8.0
        if self.rng.random() < 0.3:
            frame["note"] = "smoke from the exhaust duct" if category == "fire" else "see me"
        consoles_up = all(
            f.client is not None and f.reader and not f.reader.done() for f in self.feeds
        )
        self.note(f"member {hand.member_id} ({hand.grid}) alarm {category} at {grid or 'no fix'}")
        got = await self.alarm(hand, frame)
        if got is None:
            return True
        iid = got["incident_id"]
        if got.get("duplicate"):
            self.find("alarm", f"a new alert_id answered duplicate: {got}")
        if got.get("unattended") and consoles_up:
            self.find("alarm", f"incident {iid}: unattended although both consoles were connected")
        self.accepted[frame["alert_id"]] = (iid, time.time(), grid)
        hand.alerts.append((frame["alert_id"], iid))
        self.incidents.setdefault(iid, Inc(iid, hand.member_id, category))
        self.figures["alarms"] += 1
        self.figures[f"alarm:{category}"] += 1
        self.note(f"  -> incident {iid}")
        return True

    async def alarm(self, hand: Hand, frame: Frame) -> Frame | None:
        alert_id = frame["alert_id"]
        return await self.ask(
            hand,
            frame,
            lambda f: f["type"] == "alert_accepted" and f["alert_id"] == alert_id,
        )

    async def act_alarm_again(self) -> bool:
        hands = [h for h in self.on_duty() if h.alerts]
        if not hands:
            return False
        hand = self.rng.choice(hands)
        alert_id, iid = self.rng.choice(hand.alerts)
        self.note(f"member {hand.member_id} resends alert {alert_id[:8]} (incident {iid})")
        got = await self.alarm(hand, {"type": "alert", "alert_id": alert_id, "category": "fire"})
        if got is not None and (got["incident_id"] != iid or got.get("duplicate") is not True):
            self.find("alarm_retry", f"retry of {alert_id} for incident {iid} answered {got}")
        self.figures["alarm_retries"] += 1
        return True

    async def act_acknowledge(self, illegal: bool = False) -> bool:
        pool = [i for _, i in sorted(self.incidents.items()) if (i.status != "open") == illegal]
        if not pool:
            return False
        inc = self.rng.choice(pool)
        desk = self.rng.choice(["desk-1", "desk-2"])
        expect = 200 if inc.status == "open" else 409
        self.note(f"{desk} acknowledges incident {inc.iid} ({inc.status}) expecting {expect}")
        got = await self.request(
            desk, "POST", f"/api/incidents/{inc.iid}/acknowledge", None, expect, inc.status
        )
        if expect == 200 and got is not None:
            inc.status = "acknowledged"
            self.figures["acknowledged"] += 1
        elif expect == 409:
            self.figures["refused"] += 1
        return True

    async def act_dispatch(self) -> bool:
        pool = self.open_incidents()
        if not pool:
            return False
        inc = self.rng.choice(pool)
        free = [
            h.member_id
            for h in self.on_duty()
            if h.member_id != inc.reporter and inc.replies.get(h.member_id, False) is False
        ]
        if not free:
            return False
        who = self.rng.sample(free, min(len(free), self.rng.choice([1, 1, 2])))
        self.note(f"desk-1 dispatches {who} to incident {inc.iid} ({inc.status})")
        got = await self.request(
            "desk-1", "POST", f"/api/incidents/{inc.iid}/dispatch", {"member_ids": who}
        )
        if got is not None:
            for m in who:
                inc.replies[m] = None
            inc.settle()
            self.figures["dispatched"] += len(who)
        return True

    async def act_reply(self) -> bool:
        pool = [
            (h, iid)
            for h in self.on_duty()
            for iid in sorted(h.assignments)
            if iid in self.incidents
        ]
        if not pool:
            return False
        hand, iid = self.rng.choice(pool)
        inc = self.incidents[iid]
        accept = self.rng.random() < 0.7
        legal = inc.status != "resolved" and hand.member_id in inc.replies
        self.note(
            f"member {hand.member_id} {'accepts' if accept else 'declines'} incident {iid} "
            f"({inc.status})"
        )
        frame = {"type": "assignment_reply", "incident_id": iid, "accept": accept}
        if not legal:
            hand.provoked.append("not_assigned")
            await self.ask(
                hand, frame, lambda f: f["type"] == "error" and f.get("incident_id") == iid
            )
            hand.assignments.pop(iid, None)
            return True
        got = await self.ask(
            hand,
            frame,
            lambda f: f["type"] in ("assignment_recorded", "error") and f.get("incident_id") == iid,
        )
        if got is not None and got["type"] == "assignment_recorded":
            inc.replies[hand.member_id] = accept
            inc.settle()
            self.figures["accepted" if accept else "declined"] += 1
            if not accept or self.rng.random() < 0.8:
                hand.assignments.pop(iid, None)
        return True

    async def act_note(self) -> bool:
        if not self.incidents:
            return False
        inc = self.incidents[self.rng.choice(sorted(self.incidents))]
        self.note(f"desk-2 notes on incident {inc.iid}")
        await self.request(
            "desk-2", "POST", f"/api/incidents/{inc.iid}/notes", {"text": "called the estate"}
        )
        self.figures["notes"] += 1
        return True

    async def act_resolve(self, illegal: bool = False) -> bool:
        pool = [i for _, i in sorted(self.incidents.items()) if (i.status == "resolved") == illegal]
        if not pool:
            return False
        # Older incidents are more likely to be wrapped up.
        inc = min(self.rng.sample(pool, min(3, len(pool))), key=lambda i: i.opened)
        expect = 409 if inc.status == "resolved" else 200
        disposition = self.rng.choice(DISPOSITIONS)
        self.note(f"desk-1 resolves incident {inc.iid} ({inc.status}) as {disposition}")
        got = await self.request(
            "desk-1",
            "POST",
            f"/api/incidents/{inc.iid}/resolve",
            {"disposition": disposition},
            expect,
            inc.status,
        )
        if expect == 200 and got is not None:
            inc.status = "resolved"
            self.figures["resolved"] += 1
        return True

    async def act_partner(self) -> bool:
        pool = sorted(self.partner_escalated)
        if not pool:
            return False
        iid = self.rng.choice(pool)
        if self.rng.random() < 0.75:
            self.note(f"estate partner acknowledges incident {iid}")
            await self.request(
                "partner:estate", "POST", f"/api/partner/incidents/{iid}/acknowledge"
            )
            self.figures["partner_acks"] += 1
        else:
            self.note(f"estate partner posts an update on incident {iid}")
            await self.request(
                "partner:estate",
                "POST",
                f"/api/partner/incidents/{iid}/updates",
                {"text": "guard on the way"},
            )
            self.figures["partner_updates"] += 1
        return True

    async def act_partner_forbidden(self) -> bool:
        # Resolved ones only: nothing can escalate them to the partner while we ask.
        pool = [
            iid
            for iid, inc in sorted(self.incidents.items())
            if inc.status == "resolved"
            and iid not in self.partner_escalated
            and not self.escalated_to_estate(iid)
        ]
        if not pool:
            return False
        iid = self.rng.choice(pool)
        self.note(f"estate partner asks about incident {iid}, not escalated to it")
        await self.request("partner:estate", "GET", f"/api/partner/incidents/{iid}", None, 403)
        return True

    def escalated_to_estate(self, iid: int) -> bool:
        estate = self.partners["estate"]["partner_id"]
        return any(
            e["type"] == "incident_escalated" and estate in e["partner_ids"]
            for e in self.oracle.by_incident.get(iid, [])
        )

    async def act_roll_call(self) -> bool:
        body: Frame = {"timeout_s": self.rng.choice([2.0, 3.0, 4.0])}
        if self.rng.random() < 0.6:
            body["grid_ids"] = self.rng.sample(
                self.grid_ids, self.rng.randint(1, len(self.grid_ids))
            )
        self.note(f"desk-2 starts a roll call {body}")
        got = await self.request("desk-2", "POST", "/api/roll-calls", body, 201)
        if got is not None:
            self.figures["roll_calls"] += 1
        return True

    async def act_answer(self) -> bool:
        pool = [(h, rc) for h in self.on_duty() for rc in sorted(h.asked)]
        if not pool:
            return False
        hand, rc = self.rng.choice(pool)
        frame = hand.asked.pop(rc)
        if self.rng.random() < 0.25:
            self.note(f"member {hand.member_id} stays silent to roll call {rc}")
            return True
        status = "need_help" if self.rng.random() < 0.1 else "all_normal"
        self.note(f"member {hand.member_id} answers roll call {rc}: {status}")
        got = await self.ask(
            hand,
            {"type": "roll_call_reply", "roll_call_id": rc, "status": status},
            lambda f: f["type"] == "roll_call_recorded" and f["roll_call_id"] == rc,
        )
        if got is not None:
            self.figures[f"roll_call_{status}"] += 1
            late = time.time() > epoch(frame["deadline"])
            self.figures["roll_call_late_answers"] += late
        return True

    async def act_check_in(self) -> bool:
        hands = self.on_duty()
        if not hands:
            return False
        hand = self.rng.choice(hands)
        self.note(f"member {hand.member_id} checks in")
        got = await self.ask(hand, {"type": "check_in"}, lambda f: f["type"] == "check_in_recorded")
        if got is not None:
            hand.last_check_in = time.time()
            self.figures["check_ins"] += 1
        return True

    async def act_check_in_rule(self) -> bool:
        body: Frame
        if self.rng.random() < 0.5:
            body = {"grid_id": self.rng.choice(self.grid_ids)}
        else:
            body = {"member_id": self.rng.choice(sorted(self.hands))}
        if self.rng.random() < 0.3:
            body["period_s"] = None
        else:
            body["period_s"] = self.rng.choice([3.0, 4.0, 6.0])
            if self.rng.random() < 0.5:
                body["overdue_after_s"] = self.rng.choice([1.5, 3.0])
        self.note(f"admin sets a check-in rule {body}")
        sent = time.time()
        got = await self.request("admin", "PUT", "/api/check-in-rules", body)
        if got is not None:
            self.check_in_rules = got
            self.oracle.check_in_epochs.append(Epoch(sent, time.time(), got))
            self.figures["check_in_rules"] += 1
        return True

    async def act_go_silent(self) -> bool:
        hands = self.on_duty()
        if len(hands) < 2:
            return False
        hand = self.rng.choice(hands)
        away = self.rng.random() < 0.6
        hand.back_at = time.time() + self.cfg.offline_after_s * self.rng.uniform(0.3, 3.0)
        self.note(
            f"member {hand.member_id} goes silent ({'socket closed' if away else 'mute'}) "
            f"for {hand.back_at - time.time():.1f} s"
        )
        if away:
            hand.mode = "away"
            if hand.hh is not None and hand.hh.ws is not None and self.rng.random() < 0.5:
                hand.hh.ws.transport.abort()  # no close frame: the link just drops
            await self.hang_up(hand)
        else:
            hand.mode = "mute"
        self.figures["silent_episodes"] += 1
        return True

    async def act_come_back(self, everyone: bool = False) -> bool:
        now = time.time()
        pool = [
            h
            for h in self.sorted_hands()
            if h.mode in ("away", "mute") and (everyone or h.back_at <= now)
        ]
        if not pool:
            return False
        for hand in pool if everyone else [self.rng.choice(pool)]:
            self.note(f"member {hand.member_id} comes back ({hand.mode})")
            if hand.mode == "away" and not await self.connect_hand(hand):
                continue
            hand.mode = "up"
            await self.send(hand, {"type": "heartbeat"})
        return True

    async def act_provoke(self) -> bool:
        hands = [h for h in self.sorted_hands() if h.connected and h.mode == "up"]
        if not hands:
            return False
        hand = self.rng.choice(hands)
        roll = self.rng.random()
        if roll < 0.4:
            frame: Frame | str = "{not json"
            code = "bad_json"
        elif roll < 0.7:
            frame, code = {"type": "teleport"}, "unknown_type"
        elif not hand.on_shift:
            frame, code = {"type": "position", "lon": 113.0, "lat": 28.0}, "not_on_shift"
        else:
            frame, code = {"type": "alert", "alert_id": "not-a-uuid"}, "invalid_frame"
        self.note(f"member {hand.member_id} sends a bad frame, expecting error {code}")
        hand.provoked.append(code)
        got = await self.ask(hand, frame, lambda f: f["type"] == "error")  # type: ignore[arg-type]
        if got is not None and got.get("code") != code:
            self.find("error_code", f"member {hand.member_id}: expected {code}, got {got}")
        self.figures["provoked_errors"] += 1
        return True

    async def act_rules(self) -> bool:
        if not self.cfg.rule_changes:
            return False
        rules = [dict(r) for r in base_rules(self.cfg)]
        roll = self.rng.random()
        if roll < 0.3:
            rules[3]["after_s"] = self.rng.choice([2.0, 3.0, 5.0])
            rules[4]["after_s"] = self.rng.choice([4.0, 6.0, 8.0])
        elif roll < 0.5:
            rules.append(
                {
                    "trigger": "immediate",
                    "to": "police",
                    "category": self.rng.choice(["medical", "theft", "violence"]),
                    "grid_id": self.rng.choice(self.grid_ids),
                }
            )
        elif roll < 0.7:
            del rules[self.rng.randrange(len(rules))]
        # else: the same rules again
        for r in rules:
            r.setdefault("after_s", 0.0)
        self.note("admin replaces the escalation rules: " + "; ".join(map(str, rules)))
        await self.put_rules(rules)
        self.note("  -> " + ", ".join(describe_rule(r) for r in self.rules))
        self.figures["rule_changes"] += 1
        return True

    async def act_add_partner(self) -> bool:
        n = len(self.partners)
        if n >= 6:
            return False
        kind = self.rng.choice(["security", "police"])
        grids = self.rng.sample(self.grid_ids, self.rng.randint(1, len(self.grid_ids)))
        hook = None
        if self.rng.random() < 0.5:
            hook = await Receiver().start()
        self.note(f"admin adds partner extra-{n} ({kind}, {grids}, webhook {hook is not None})")
        await self.add_partner(f"extra-{n}", kind, grids, hook)
        self.figures["partners_added"] += 1
        return True

    async def act_restart(self) -> bool:
        if not self.cfg.restarts or time.time() - self.last_restart < self.cfg.min_restart_gap_s:
            return False
        assert self.proc is not None
        kill = self.rng.random() < 0.5
        self.check_server_process()  # one that died by itself is not hidden by the restart
        self.note(f"server restart ({'SIGKILL' if kill else 'graceful'})")
        down = time.time()
        self.oracle.downtime.append((down, float("inf")))
        if kill:
            await asyncio.to_thread(self.proc.kill)
        elif not await asyncio.to_thread(self.proc.stop):
            self.find(
                "server_stop",
                f"the server (pid {self.proc.pid}) was still running 10 s after SIGTERM "
                "and was killed",
            )
        for feed in [*self.feeds, self.partner_feed]:
            assert feed is not None
            if feed.reader is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(feed.reader, 5)
        for hand in self.sorted_hands():
            if hand.reader is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(hand.reader, 5)
            hand.connected = False
        try:
            await self.start_server()
        except (RuntimeError, TimeoutError) as exc:
            self.find("server_start", f"the restarted server did not serve: {exc}")
            raise SimulationFailed(self.report()) from exc
        up = time.time()
        self.oracle.downtime[-1] = (down, up)
        self.last_restart = up
        for feed in [*self.feeds, self.partner_feed]:
            assert feed is not None
            await self.open_feed(feed)
        for hand in self.sorted_hands():
            if hand.mode in ("up", "mute"):
                await self.connect_hand(hand)
        self.figures["restarts_kill" if kill else "restarts_graceful"] += 1
        self.note(f"  -> serving again after {up - down:.1f} s")
        return True

    async def shift_change(self) -> None:
        """The patrols on duty go off (shift_end, then goodbye); the other shift comes on."""
        going = "morning" if self.on_duty_shift == "morning" else "evening"
        coming = "evening" if going == "morning" else "morning"
        self.note(f"shift change: the {going} patrols go off duty, the {coming} ones on")
        await self.act_come_back(everyone=True)
        for hand in self.sorted_hands():
            if hand.shift == going:
                await self.go_off_duty(hand)
        for hand in self.sorted_hands():
            if hand.shift == coming:
                await self.go_on_duty(hand)
        self.on_duty_shift = coming
        self.figures["shift_changes"] += 1

    # --- checks after each step ------------------------------------------------------------

    async def check_health(self) -> None:
        try:
            r = await self.client("admin").get("/api/health")
        except httpx.HTTPError as exc:
            self.check_server_process()
            self.find("health", f"/api/health: {type(exc).__name__}: {exc}")
            return
        body = r.json() if r.content else None
        if r.status_code != 200 or not isinstance(body, dict) or body.get("ok") is not True:
            self.find("health", f"/api/health answered {r.status_code}: {r.text[:500]}")
        else:
            self.health_ok = (self.step, time.time())

    def check_alarms(self, final: bool = False) -> None:
        now = time.time()
        for alert_id, (iid, at, grid) in list(self.accepted.items()):
            if not final and now - at < 2.0:
                continue
            opened = self.oracle.by_alert.get(alert_id, [])
            if len(opened) != 1 or opened[0]["incident_id"] != iid:
                self.find(
                    "alarm_log",
                    f"alert {alert_id} (incident {iid}) is in the log {len(opened)} times: "
                    f"{[(e['seq'], e['incident_id']) for e in opened]}",
                )
            elif grid is not None:
                e = opened[0]
                here = [
                    g
                    for g, poly in self.grid_shapes.items()
                    if poly.contains(Point(e["lon"], e["lat"]))
                ]
                if here and e["grid_id"] not in here:
                    self.find(
                        "alarm_grid", f"incident {iid}: grid {e['grid_id']}, its fix is in {here}"
                    )
            del self.accepted[alert_id]

    async def check_incident(self, iid: int) -> None:
        """The REST view against the log: the same timeline; the clock not in the past."""
        # Compare up to the seq the console had before asking: the console hears an event
        # only after its commit, so the answer holds all of those. What commits while the
        # answer is on its way may be on either side (a delivery committed 24 ms after an
        # escalation was in the console's log and not in the answer: a race, not a gap).
        last = self.feeds[0].last
        got = await self.request("desk-1", "GET", f"/api/incidents/{iid}")
        if got is None:
            return
        rest = [e["seq"] for e in got["timeline"] if e["seq"] <= last]
        logged = [e["seq"] for e in self.oracle.by_incident.get(iid, []) if e["seq"] <= last]
        if rest != logged:
            self.find("timeline", f"incident {iid}: REST timeline {rest}, console log {logged}")
        at = got.get("next_escalation_at")
        if at is not None and got["status"] != "resolved":
            behind = time.time() - epoch(at)
            if behind > self.cfg.tolerance_s + 1.0 and iid not in self.stuck:
                self.stuck.add(iid)
                self.find(
                    "clock_stuck",
                    f"incident {iid}: next_escalation_at {at} is {behind:.1f} s in the past "
                    f"(escalated to {got['escalated_to']}, partner acks {got['partner_acks']})",
                )

    def check_server_log(self) -> None:
        """The server logs no exception that the simulator did not cause on purpose."""
        path = self.workdir / "server.log"
        if not path.exists():
            return
        with path.open("rb") as f:
            f.seek(self.log_seen)
            new = f.read()
        cut = new.rfind(b"\n") + 1
        self.log_seen += cut
        lines = new[:cut].decode(errors="replace").splitlines()
        for i, ln in enumerate(lines):
            if " ERROR " in ln or (
                ln.startswith("Traceback") and (i == 0 or " ERROR " not in lines[i - 1])
            ):
                end = i + 1
                while end < len(lines) and lines[end].startswith((" ", "Traceback")):
                    end += 1
                last = lines[end] if end < len(lines) else ""
                self.find(
                    "server_error", f"the server logged: {ln.strip()[:200]} / {last.strip()[:300]}"
                )

    async def after_step(self) -> None:
        self.check_server_process()
        self.check_server_log()
        await self.check_health()
        for f in self.oracle.check(time.time()):
            self.add_finding(f)
        self.check_alarms()
        if self.step % 7 == 0 and self.incidents:
            open_ = self.open_incidents()
            if open_:
                await self.check_incident(self.rng.choice(open_).iid)
        self.check_findings()

    # --- the end of the day -----------------------------------------------------------------

    async def final_checks(self) -> None:
        await self.act_come_back(everyone=True)
        end = time.time() + self.cfg.settle_s
        while time.time() < end:
            await asyncio.sleep(0.5)
            await self.check_health()
        await asyncio.sleep(0.5)
        for f in self.oracle.check(time.time(), final=True):
            self.add_finding(f)
        self.check_alarms(final=True)
        console = self.feeds[0]
        health = await self.request("admin", "GET", "/api/health")
        if health is not None and health.get("last_seq") != console.last:
            self.find("console_seq", f"console at seq {console.last}, server at {health}")
        for feed in self.feeds[1:]:
            if (
                sorted(feed.frames) != list(range(1, console.last + 1))
                and feed.last == console.last
            ):
                self.find("console_seq", f"{feed.name} has not every seq 1..{console.last}")
        for iid in sorted(self.incidents):
            await self.check_incident(iid)
        self.check_partner_feed()
        self.check_webhooks()

    def check_partner_feed(self) -> None:
        feed = self.partner_feed
        assert feed is not None
        estate = self.partners["estate"]["partner_id"]
        visible = {"incident_escalated", "incident_acknowledged", "note_added"}
        visible |= {"partner_acknowledged", "partner_update", "incident_resolved"}
        want: set[int] = set()
        allowed: set[int] = set()
        for events in self.oracle.by_incident.values():
            mine = [
                e
                for e in events
                if e["type"] == "incident_escalated" and estate in e["partner_ids"]
            ]
            if not mine:
                continue
            first = mine[0]["seq"]
            for e in events:
                if e["type"] in visible and e["seq"] <= feed.last:
                    allowed.add(e["seq"])
                    if e["seq"] >= first:
                        want.add(e["seq"])
        got = set(feed.frames)
        if want - got:
            self.find("partner_feed", f"missing seqs {sorted(want - got)[:20]}")
        if got - allowed:
            self.find("partner_isolation", f"saw seqs it may not see: {sorted(got - allowed)[:20]}")
        for seq in got:
            frame = feed.frames[seq]
            if "actor" in frame or "responders" in frame.get("incident", {}):
                self.find("partner_isolation", f"seq {seq} shows who or where: {frame}")

    def check_webhooks(self) -> None:
        for name, p in self.partners.items():
            hook = p.get("hook")
            if hook is None or p["partner_id"] not in self.hooks:
                continue
            pid = p["partner_id"]
            got: dict[int, Any] = {}
            for r in hook.got:
                body = r.json
                if not r.signed_by(p["webhook_secret"]):
                    self.find("webhook_signature", f"{name}: delivery {body.get('delivery_id')}")
                got.setdefault(body["event"]["seq"], r)
            for iid, events in self.oracle.by_incident.items():
                for e in events:
                    if e["type"] != "incident_escalated" or pid not in e["partner_ids"]:
                        continue
                    if time.time() - e["t"] < 8.0:
                        continue
                    if e["seq"] not in got:
                        self.find(
                            "webhook_missing",
                            f"{name}: escalation seq {e['seq']} of incident {iid} never arrived",
                        )
                    done = [
                        x
                        for x in events
                        if x["type"] in ("delivery_succeeded", "delivery_dead_lettered")
                        and x["partner_id"] == pid
                    ]
                    if not done:
                        self.find(
                            "webhook_log",
                            f"{name}: escalation seq {e['seq']} of incident {iid}: no delivery "
                            "result in the log",
                        )
            self.figures[f"webhooks:{name}"] = len(hook.got)

    # --- the day ---------------------------------------------------------------------------

    ACTIONS: tuple[tuple[str, float], ...] = (
        ("alarm", 12.0),
        ("alarm_again", 1.5),
        ("acknowledge", 9.0),
        ("acknowledge_illegal", 1.5),
        ("dispatch", 7.0),
        ("reply", 8.0),
        ("note", 3.0),
        ("resolve", 9.0),
        ("resolve_illegal", 1.0),
        ("partner", 5.0),
        ("partner_forbidden", 1.0),
        ("roll_call", 2.5),
        ("answer", 10.0),
        ("check_in", 2.5),
        ("check_in_rule", 1.2),
        ("go_silent", 2.0),
        ("come_back", 6.0),
        ("provoke", 1.5),
        ("rules", 0.6),
        ("add_partner", 0.3),
        ("restart", 0.6),
    )

    def action(self, name: str) -> Callable[[], Awaitable[bool]]:
        return {
            "alarm": self.act_alarm,
            "alarm_again": self.act_alarm_again,
            "acknowledge": self.act_acknowledge,
            "acknowledge_illegal": lambda: self.act_acknowledge(illegal=True),
            "dispatch": self.act_dispatch,
            "reply": self.act_reply,
            "note": self.act_note,
            "resolve": self.act_resolve,
            "resolve_illegal": lambda: self.act_resolve(illegal=True),
            "partner": self.act_partner,
            "partner_forbidden": self.act_partner_forbidden,
            "roll_call": self.act_roll_call,
            "answer": self.act_answer,
            "check_in": self.act_check_in,
            "check_in_rule": self.act_check_in_rule,
            "go_silent": self.act_go_silent,
            "come_back": self.act_come_back,
            "provoke": self.act_provoke,
            "rules": self.act_rules,
            "add_partner": self.act_add_partner,
            "restart": self.act_restart,
        }[name]

    async def run(self) -> collections.Counter[str]:
        cfg = self.cfg
        self.out(
            f"duty day: seed {cfg.seed}, {cfg.hours:g} simulated hours "
            f"({cfg.duration_s:.0f} s), {cfg.grids} grids x {cfg.per_shift} x 2 shifts, "
            f"backend {cfg.backend}"
        )
        names = [n for n, _ in self.ACTIONS]
        weights = [w for _, w in self.ACTIONS]
        try:
            await self.setup()
            self.t0 = time.time()
            self.last_restart = self.t0
            end = self.t0 + cfg.duration_s
            # A shift lasts 8 simulated hours; a short day still sees one change, halfway.
            shift_s = min(cfg.duration_s / 2, 8 * cfg.hour_s)
            next_change = self.t0 + shift_s
            while time.time() < end:
                self.step += 1
                if time.time() > next_change:
                    next_change += shift_s
                    await self.shift_change()
                else:
                    for _ in range(10):
                        name = self.rng.choices(names, weights)[0]
                        if await self.action(name)():
                            self.figures[f"action:{name}"] += 1
                            break
                await asyncio.sleep(self.rng.uniform(0.03, 0.2))
                await self.after_step()
            if not self.findings:
                await self.final_checks()
            self.check_findings(final=True)
        finally:
            await self.teardown()
        self.figures["steps"] = self.step
        self.figures["events"] = len(self.oracle.log)
        self.figures["findings"] = len(self.findings)
        return self.figures

    async def teardown(self) -> None:
        self.stopping = True
        if self.heartbeat is not None:
            self.heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.heartbeat
        for hand in self.hands.values():
            if hand.hh is not None:
                with contextlib.suppress(Exception):
                    await hand.hh.close()
        for feed in [*self.feeds, self.partner_feed]:
            if feed is not None and feed.client is not None:
                with contextlib.suppress(Exception):
                    await feed.client.close()
        tasks = [h.reader for h in self.hands.values() if h.reader is not None]
        tasks += [f.reader for f in self.feeds if f.reader is not None]
        if self.partner_feed is not None and self.partner_feed.reader is not None:
            tasks.append(self.partner_feed.reader)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for c in self.http.values():
            await c.aclose()
        if self.proc is not None:
            await asyncio.to_thread(self.proc.stop)
        for p in self.partners.values():
            if p.get("hook") is not None:
                await p["hook"].stop()

    def summary(self) -> str:
        f = self.figures
        lines = [f"seed {self.cfg.seed}: {f['steps']} steps, {f['events']} events in the log"]
        keys = sorted(k for k in f if not k.startswith(("action:", "event:")))
        lines.append("  " + ", ".join(f"{k} {f[k]}" for k in keys if k not in ("steps", "events")))
        events = sorted((k[6:], v) for k, v in f.items() if k.startswith("event:"))
        lines.append("  log: " + ", ".join(f"{k} {v}" for k, v in events))
        late = self.oracle.late
        lines.append(
            "  max lateness: "
            + ", ".join(
                f"{k} {late.worst[k]:.3f} s (n={late.count[k]})" for k in sorted(late.count)
            )
        )
        tally = self.oracle.tally
        if tally:
            lines.append("  oracle: " + ", ".join(f"{k} {tally[k]}" for k in sorted(tally)))
        return "\n".join(lines)


def e_t(e: Frame) -> float:
    return epoch(e["at"])


async def simulate(cfg: Config, database_url: str, workdir: Path, out: Any = print) -> DutyDay:
    day = DutyDay(cfg, database_url, workdir, out)
    await day.run()
    out(day.summary())
    return day


def main(argv: list[str] | None = None) -> int:
    from tests.support.databases import Backend, fresh, open_databases

    parser = argparse.ArgumentParser(description="Simulate a duty day against a real server.")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--hours", type=float, default=1.0, help="simulated hours")
    parser.add_argument("--hour-s", type=float, default=30.0, help="real seconds per hour")
    parser.add_argument("--grids", type=int, default=4)
    parser.add_argument("--per-shift", type=int, default=2)
    parser.add_argument("--tolerance", type=float, default=2.0)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--no-restarts", action="store_true")
    parser.add_argument("--no-rule-changes", action="store_true", help="keep the first rules")
    parser.add_argument("--keep-going", action="store_true")
    parser.add_argument("--workdir", help="where the server log goes (test-artifacts/...)")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.randrange(1_000_000)
    cfg = Config(
        seed=seed,
        hours=args.hours,
        hour_s=args.hour_s,
        grids=args.grids,
        per_shift=args.per_shift,
        tolerance_s=args.tolerance,
        restarts=not args.no_restarts,
        rule_changes=not args.no_rule_changes,
        keep_going=args.keep_going,
        backend=args.backend,
    )
    workdir = Path(args.workdir or f"test-artifacts/dutyday/seed-{seed}-{args.backend}")
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "server.log").unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="dutyday-") as tmp:
        databases = open_databases(Backend(args.backend), Path(tmp))
        try:
            with fresh(databases, Path(tmp)) as url:
                started = time.monotonic()
                try:
                    day = asyncio.run(simulate(cfg, url, workdir))
                except SimulationFailed as exc:
                    print(exc, file=sys.stderr)
                    return 1
                print(f"  took {time.monotonic() - started:.0f} s")
                return 1 if day.findings else 0
        finally:
            databases.close()


if __name__ == "__main__":
    sys.exit(main())
