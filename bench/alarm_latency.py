"""Alarm latency, burst throughput and memory of the dispatch server, against its floor.

What is measured, against what, and why:

* The floor, measured in the same run: a bare `websockets` echo server
  (bench/echo_server.py, compression off) in its own process. One connection's
  round trip of an alert-shaped ~200-byte JSON frame is the least any
  websocket alarm path can cost on this machine; a burst of K frames from K
  connections is the most frames/s such a server turns round; its RSS growth
  over N idle connections is the least memory a connection can cost.
* The dispatch server (`dispatch-server serve`, fresh temporary SQLite) with N
  registered handhelds connected, on shift and with a fix, and one console:
  - one alarm at a time from a random handheld: alarm to `alert_accepted` on
    the handheld (the commit-then-acknowledge path: parse, rank, group commit
    with fsync, reply) and alarm to `incident_opened` on the console (the same
    plus publish and fan-out);
  - bursts of K handhelds alarming at once: alarms accepted per second, and
    how many commit batches carried them (from /api/health), which shows
    whether group commit groups;
  - VmRSS of the server before and after the N connections;
  - the server's CPU time per alarm (and the echo server's per round trip),
    from /proc, which tells CPU cost from waiting (fsync, thread hand-offs).
  Latencies are printed with their ratio to the echo floor, because absolute
  numbers vary from machine to machine and ratios measured in one run do not
  (/work/shared/PERFORMANCE-FACTS.md).

Both servers run pinned to CPU 0 and this client to CPU 1, so the client's
work does not compete with the server's; the report says how much of CPU 0
anything else (other processes, kernel work) used meanwhile, since figures
from a shared machine are noisy. Only 127.0.0.1 is used; every wait is bounded;
the child processes are stopped on the way out, errors included. Correctness is
checked as a side effect: every alarm must be accepted once and opened once,
console seqs must have no gap, and the server's log must stay free of errors.
The exit status is 1 when any of that went wrong.

    .venv/bin/python bench/alarm_latency.py [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import re
import resource
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import httpx
from shapely.geometry import Point, shape
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
HOST = "127.0.0.1"
SERVER_CPU = 0
CLIENT_CPU = 1
MAX_FRAME = 64 * 1024  # the server's max_frame_bytes
CONNECT_CONCURRENCY = 64  # handshakes in flight while connecting the handhelds
STARTUP_TIMEOUT_S = 30.0
REPLY_TIMEOUT_S = 10.0  # one alarm's accept and open, or one echo
BURST_TIMEOUT_S = 30.0
PHASE_TIMEOUT_S = 300.0  # registering or connecting everyone
SKILLS = ["first_aid", "medical", "security", "fire_safety", "mediation", "psychology"]
# Pads the alert to the ~200 bytes of the floor's frame; a real handheld may send a note too.
NOTE = "one-key alarm from a patrol handheld (bench)"
# Exec'd in the child: pin first, so every thread the server starts later inherits the mask.
PIN_AND_EXEC = (
    "import os,sys; os.sched_setaffinity(0,{int(sys.argv[1])}); os.execv(sys.argv[2],sys.argv[2:])"
)
CONSOLE_LATE_NS = 20 * 10**6
SHARED_WARNING = 0.10  # of the server's core used by anything else: the figures are suspect
T = TypeVar("T")


# --- figures ------------------------------------------------------------------------


@dataclass
class Summary:
    n: int
    p50_us: float
    p99_us: float
    max_us: float


def percentile(ordered: list[int], q: float) -> int:
    """Nearest rank: the smallest sample with at least q of all samples at or below it."""
    return ordered[max(1, math.ceil(len(ordered) * q / 100)) - 1]


def summarize(samples_ns: list[int]) -> Summary:
    if not samples_ns:
        return Summary(0, float("nan"), float("nan"), float("nan"))
    ordered = sorted(samples_ns)
    us = 1e-3
    return Summary(
        len(ordered),
        percentile(ordered, 50) * us,
        percentile(ordered, 99) * us,
        ordered[-1] * us,
    )


def fmt_us(us: float) -> str:
    if us != us:  # NaN: no samples
        return "-"
    return f"{us:.0f} µs" if us < 1000 else f"{us / 1000:.2f} ms"


def summary_line(label: str, s: Summary, floor: Summary | None = None) -> str:
    line = f"  {label:<42} n={s.n:<5} p50 {fmt_us(s.p50_us):>9}  p99 {fmt_us(s.p99_us):>9}"
    line += f"  max {fmt_us(s.max_us):>9}"
    if floor is not None and floor.n and s.n:
        line += f"   x{s.p50_us / floor.p50_us:.1f} p50, x{s.p99_us / floor.p99_us:.1f} p99"
    return line


@dataclass
class BurstRound:
    alarms: int
    accepted: int
    opened: int
    seconds: float  # first send to last accept
    per_s: float
    commit_batches: int | None
    writes: int | None
    p50_us: float
    p99_us: float
    max_us: float


@dataclass
class Problems:
    """Everything that says the server did not do its job, kept for the report."""

    lost_accepts: int = 0  # alarms never answered with alert_accepted
    lost_opens: int = 0  # accepted alarms the console never saw opened
    duplicate_opens: int = 0  # incident_opened more than once for one alert_id
    duplicate_flags: int = 0  # alert_accepted with duplicate=true for a fresh alert_id
    reused_incident_ids: int = 0
    error_frames: list[dict[str, Any]] = field(default_factory=list)
    unexpected_closes: list[str] = field(default_factory=list)
    connect_failures: list[str] = field(default_factory=list)
    seq_gaps: int = 0
    seq_repeats: int = 0
    server_log: list[str] = field(default_factory=list)

    def any(self) -> bool:
        return any(
            (
                self.lost_accepts,
                self.lost_opens,
                self.duplicate_opens,
                self.duplicate_flags,
                self.reused_incident_ids,
                self.error_frames,
                self.unexpected_closes,
                self.connect_failures,
                self.seq_gaps,
                self.seq_repeats,
                self.server_log,
            )
        )


# --- child processes ----------------------------------------------------------------


def raise_fd_limit() -> int:
    """1,000+ sockets on each side; children inherit the raised limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = max(soft, 1 << 20)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def spawn_pinned(
    cpu: int, argv: list[str], log: Path, env: dict[str, str]
) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-c", PIN_AND_EXEC, str(cpu), *argv],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=ROOT,
        )


def read_log(log: Path) -> str:
    return log.read_text(errors="replace")


async def wait_for_log_line(
    proc: subprocess.Popen[bytes], log: Path, pattern: str
) -> re.Match[str]:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    regex = re.compile(pattern)
    while time.monotonic() < deadline:
        if (found := regex.search(read_log(log))) is not None:
            return found
        if proc.poll() is not None:
            raise RuntimeError(f"{log.name}: exited with {proc.returncode}:\n{read_log(log)}")
        await asyncio.sleep(0.02)
    raise TimeoutError(f"{log.name}: no line matching {pattern!r} in {STARTUP_TIMEOUT_S} s")


@dataclass
class Stopped:
    exit_code: int | None
    seconds: float
    killed: bool  # still running STOP_TIMEOUT_S after SIGTERM


STOP_TIMEOUT_S = 15.0


def stop(proc: subprocess.Popen[bytes]) -> Stopped:
    """SIGTERM, as a service manager stops it (uvicorn drains gracefully), then SIGKILL."""
    started = time.monotonic()
    if proc.poll() is not None:
        return Stopped(proc.returncode, 0.0, False)
    proc.send_signal(signal.SIGTERM)
    try:
        return Stopped(proc.wait(STOP_TIMEOUT_S), time.monotonic() - started, False)
    except subprocess.TimeoutExpired:
        proc.kill()
        return Stopped(proc.wait(5), time.monotonic() - started, True)


TICK_S = 1 / os.sysconf("SC_CLK_TCK")
MIN_CPU_PHASE_S = 0.5  # 50 ticks or more: CPU shares to about 2%


@dataclass
class CpuMark:
    process_s: float  # the server's user + system time, all threads
    core_busy_s: float  # its core's non-idle time, whoever used it
    wall_s: float


@dataclass
class CpuUse:
    per_op_us: float  # server CPU per round trip or alarm
    server_share: float  # of its core, over the phase
    others_share: float  # of that core, used by anything else: other processes, kernel work


def cpu_mark(pid: int) -> CpuMark:
    """proc(5): utime and stime are fields 14 and 15 of /proc/PID/stat; a cpuN line of
    /proc/stat counts user nice system idle iowait irq softirq steal."""
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    process = (int(stat[11]) + int(stat[12])) * TICK_S
    busy = 0.0
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith(f"cpu{SERVER_CPU} "):
            ticks = [int(v) for v in line.split()[1:9]]
            busy = (sum(ticks) - ticks[3] - ticks[4]) * TICK_S
    return CpuMark(process, busy, time.monotonic())


def cpu_use(before: CpuMark, after: CpuMark, ops: int) -> CpuUse:
    """NaN for a phase too short to tell: /proc counts CPU time in clock ticks (10 ms)."""
    process = after.process_s - before.process_s
    wall = after.wall_s - before.wall_s
    if wall < MIN_CPU_PHASE_S:
        return CpuUse(math.nan, math.nan, math.nan)
    others = max(0.0, after.core_busy_s - before.core_busy_s - process)
    return CpuUse(process / max(ops, 1) * 1e6, process / wall, others / wall)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def cpus_of_threads(pid: int) -> set[str]:
    """Each thread's allowed CPU list: proof that the whole server stayed on its core."""
    lists = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(FileNotFoundError):
            for line in (task / "status").read_text().splitlines():
                if line.startswith("Cpus_allowed_list:"):
                    lists.add(line.split()[1])
    return lists


def server_log_problems(log: Path) -> list[str]:
    """Tracebacks, errors and warnings the server logged (its startup banner is not one)."""
    keep = re.compile(r"Traceback|Error|ERROR|WARNING|Exception|exception|CRITICAL")
    return [line for line in log.read_text(errors="replace").splitlines() if keep.search(line)]


# --- frames -------------------------------------------------------------------------


def alert_frame(alert_id: str, lon: float, lat: float) -> str:
    """The alarm exactly as a handheld sends it; the floor echoes the same shape."""
    frame = {
        "type": "alert",
        "alert_id": alert_id,
        "lon": round(lon, 7),
        "lat": round(lat, 7),
        "accuracy_m": 8.5,
        "category": "medical",
        "note": NOTE,
    }
    return json.dumps(frame, separators=(",", ":"))


async def bounded(seconds: float, what: Awaitable[T]) -> T:
    async with asyncio.timeout(seconds):
        return await what


async def gather_limited(limit: int, jobs: Iterable[Callable[[], Awaitable[T]]]) -> list[T]:
    gate = asyncio.Semaphore(limit)

    async def one(job: Callable[[], Awaitable[T]]) -> T:
        async with gate:
            return await job()

    return await asyncio.gather(*(one(job) for job in jobs))


# --- the floor ----------------------------------------------------------------------


async def echo_latency(url: str, samples: int, warmup: int) -> Summary:
    frame = alert_frame(str(uuid.uuid4()), 113.0337123, 28.1323456)
    out: list[int] = []
    async with connect(url, compression=None, max_size=MAX_FRAME, ping_interval=None) as ws:
        for i in range(warmup + samples):
            t0 = time.perf_counter_ns()
            await ws.send(frame)
            await bounded(REPLY_TIMEOUT_S, ws.recv())
            if i >= warmup:
                out.append(time.perf_counter_ns() - t0)
    return summarize(out)


async def echo_burst(
    conns: list[ClientConnection], k: int, rounds: int, rng: random.Random
) -> list[BurstRound]:
    """K connections send one frame each at once; each round ends when all K echoes are back."""
    frame = alert_frame(str(uuid.uuid4()), 113.0337123, 28.1323456)
    results = []
    for _ in range(rounds):
        chosen = rng.sample(conns, min(k, len(conns)))
        sent: list[int] = []
        for ws in chosen:
            sent.append(time.perf_counter_ns())
            await ws.send(frame)

        async def back(ws: ClientConnection) -> int:
            await ws.recv()
            return time.perf_counter_ns()

        done = await bounded(BURST_TIMEOUT_S, asyncio.gather(*(back(ws) for ws in chosen)))
        lat = summarize([d - s for d, s in zip(done, sent, strict=True)])
        seconds = (max(done) - sent[0]) / 1e9
        results.append(
            BurstRound(len(chosen), len(done), 0, seconds, len(done) / seconds, None, None,
                       lat.p50_us, lat.p99_us, lat.max_us)
        )  # fmt: skip
        await asyncio.sleep(0.05)
    return results


async def measure_floor(args: argparse.Namespace, tmp: Path, rng: random.Random) -> dict[str, Any]:
    log = tmp / "echo.log"
    proc = spawn_pinned(
        SERVER_CPU, [sys.executable, str(BENCH / "echo_server.py")], log, dict(os.environ)
    )
    conns: list[ClientConnection] = []
    try:
        port = int((await wait_for_log_line(proc, log, r"PORT (\d+)")).group(1))
        url = f"ws://{HOST}:{port}/"
        mark = cpu_mark(proc.pid)
        latency = await echo_latency(url, args.echo_samples, args.warmup)
        latency_cpu = cpu_use(mark, cpu_mark(proc.pid), args.echo_samples + args.warmup)
        before = rss_kib(proc.pid)

        opener = partial(connect, url, compression=None, max_size=MAX_FRAME, ping_interval=None)
        conns = await bounded(
            PHASE_TIMEOUT_S,
            gather_limited(CONNECT_CONCURRENCY, (opener for _ in range(args.handhelds))),
        )
        await asyncio.sleep(0.5)
        after = rss_kib(proc.pid)
        burst = await echo_burst(conns, args.burst, args.rounds, rng)
        return {
            "latency": latency,
            "latency_cpu": latency_cpu,
            "rss_before_kib": before,
            "rss_after_kib": after,
            "kib_per_connection": (after - before) / args.handhelds,
            "burst": burst,
            "pinned": sorted(cpus_of_threads(proc.pid)),
        }
    finally:
        await close_all(conns)
        stop(proc)


async def close_all(conns: list[ClientConnection]) -> None:
    with contextlib.suppress(TimeoutError):
        await bounded(30, gather_limited(128, (c.close for c in conns)))


# --- the dispatch server ------------------------------------------------------------


@dataclass
class Handheld:
    member_id: int
    token: str
    grid_id: str
    lon: float
    lat: float
    ws: ClientConnection | None = None


@dataclass
class Tracker:
    """What the handhelds and the console heard, matched to the alarms by alert_id."""

    problems: Problems
    accepted: dict[str, asyncio.Future[tuple[int, dict[str, Any]]]] = field(default_factory=dict)
    opened: dict[str, asyncio.Future[int]] = field(default_factory=dict)
    opened_count: Counter[str] = field(default_factory=Counter)
    incident_ids: set[int] = field(default_factory=set)
    frames: Counter[str] = field(default_factory=Counter)
    last_seq: int = 0
    closing: bool = False

    def expect(self, alert_id: str) -> tuple[asyncio.Future[Any], asyncio.Future[int]]:
        loop = asyncio.get_running_loop()
        self.accepted[alert_id] = loop.create_future()
        self.opened[alert_id] = loop.create_future()
        return self.accepted[alert_id], self.opened[alert_id]

    def on_handheld_frame(self, frame: dict[str, Any], now: int) -> None:
        kind = frame.get("type", "?")
        self.frames[f"handheld {kind}"] += 1
        if kind == "alert_accepted":
            if frame.get("duplicate"):
                self.problems.duplicate_flags += 1
            incident_id = frame.get("incident_id")
            if incident_id in self.incident_ids:
                self.problems.reused_incident_ids += 1
            self.incident_ids.add(incident_id)  # type: ignore[arg-type]
            fut = self.accepted.get(frame.get("alert_id", ""))
            if fut is not None and not fut.done():
                fut.set_result((now, frame))
        elif kind == "error" and len(self.problems.error_frames) < 20:
            self.problems.error_frames.append(frame)

    def on_console_frame(self, frame: dict[str, Any], now: int) -> None:
        kind = frame.get("type", "?")
        self.frames[f"console {kind}"] += 1
        seq = frame.get("seq")
        if isinstance(seq, int):
            if self.last_seq and seq <= self.last_seq:
                self.problems.seq_repeats += 1
            elif self.last_seq and seq != self.last_seq + 1:
                self.problems.seq_gaps += 1
            self.last_seq = max(self.last_seq, seq)
        if kind == "incident_opened":
            alert_id = frame.get("alert_id", "")
            self.opened_count[alert_id] += 1
            if self.opened_count[alert_id] == 2:
                self.problems.duplicate_opens += 1
            fut = self.opened.get(alert_id)
            if fut is not None and not fut.done():
                fut.set_result(now)
        elif kind == "error" and len(self.problems.error_frames) < 20:
            self.problems.error_frames.append(frame)


async def read_frames(
    ws: ClientConnection, who: str, on_frame: Callable[[dict[str, Any], int], None], t: Tracker
) -> None:
    try:
        async for message in ws:
            on_frame(json.loads(message), time.perf_counter_ns())
    except ConnectionClosed:
        pass
    if not t.closing and len(t.problems.unexpected_closes) < 20:
        rcvd = ws.close_code, ws.close_reason
        t.problems.unexpected_closes.append(f"{who}: closed by server, code {rcvd[0]} {rcvd[1]!r}")


async def expect_frame(ws: ClientConnection, kind: str) -> dict[str, Any]:
    """The next frame, which must be of this type (the handshake has a fixed order)."""
    frame: dict[str, Any] = json.loads(await bounded(REPLY_TIMEOUT_S, ws.recv()))
    if frame.get("type") != kind:
        raise RuntimeError(f"expected {kind}, got {frame}")
    return frame


def points_inside(
    geometry: dict[str, Any], count: int, rng: random.Random
) -> list[tuple[float, float]]:
    """Random points inside a grid, so positions and alarms are spread as on a real shift."""
    poly = shape(geometry)
    minx, miny, maxx, maxy = poly.bounds
    out: list[tuple[float, float]] = []
    while len(out) < count:
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if poly.contains(Point(x, y)):
            out.append((x, y))
    return out


async def register(
    api: httpx.AsyncClient, n: int, rng: random.Random
) -> tuple[list[Handheld], str]:
    """n members spread round-robin over the grids, each with a point inside its grid."""
    grids = (await api.get("/api/grids")).raise_for_status().json()["features"]
    grid_ids = [f["id"] for f in grids]
    per_grid = {f["id"]: points_inside(f["geometry"], -(-n // len(grid_ids)), rng) for f in grids}

    async def member(i: int) -> Handheld:
        grid_id = grid_ids[i % len(grid_ids)]
        skills = [SKILLS[i % len(SKILLS)]] + ([SKILLS[(i + 3) % len(SKILLS)]] if i % 3 == 0 else [])
        body = {"name": f"bench member {i}", "grid_id": grid_id, "skills": skills}
        got = (await api.post("/api/members", json=body)).raise_for_status().json()
        lon, lat = per_grid[grid_id][i // len(grid_ids)]
        return Handheld(got["member_id"], got["token"], grid_id, lon, lat)

    handhelds = await gather_limited(16, (partial(member, i) for i in range(n)))
    body = {"name": "bench dispatcher"}
    dispatcher = (await api.post("/api/dispatchers", json=body)).raise_for_status().json()
    return handhelds, dispatcher["token"]


async def open_handheld(
    url: str, h: Handheld, t: Tracker, readers: list[asyncio.Task[None]]
) -> None:
    try:
        ws = await connect(url, compression=None, max_size=MAX_FRAME, ping_interval=None)
    except (OSError, TimeoutError, ConnectionClosed) as exc:
        t.problems.connect_failures.append(f"member {h.member_id}: {type(exc).__name__}: {exc}")
        return
    try:
        await ws.send(json.dumps({"type": "hello", "token": h.token}))
        await expect_frame(ws, "welcome")
        await ws.send('{"type":"shift_start"}')
        if not (await expect_frame(ws, "shift")).get("on_shift"):
            raise RuntimeError("shift_start answered with on_shift false")
        await ws.send(
            json.dumps({"type": "position", "lon": h.lon, "lat": h.lat, "accuracy_m": 6.0})
        )
    except (RuntimeError, TimeoutError, ConnectionClosed) as exc:
        t.problems.connect_failures.append(f"member {h.member_id}: {type(exc).__name__}: {exc}")
        await ws.close()
        return
    h.ws = ws
    readers.append(
        asyncio.create_task(read_frames(ws, f"member {h.member_id}", t.on_handheld_frame, t))
    )


async def sequential(
    handhelds: list[Handheld], t: Tracker, alarms: int, warmup: int, rng: random.Random
) -> tuple[Summary, Summary, int]:
    """Also counts alarms the console heard of much later than the handheld did: both
    follow the same commit, so a gap there is the console's path alone."""
    accepted_ns: list[int] = []
    opened_ns: list[int] = []
    for i in range(warmup + alarms):
        h = rng.choice(handhelds)
        assert h.ws is not None
        alert_id = str(uuid.uuid4())
        acc, opn = t.expect(alert_id)
        frame = alert_frame(alert_id, h.lon, h.lat)
        t0 = time.perf_counter_ns()
        await h.ws.send(frame)
        try:
            accepted_at, _ = await bounded(REPLY_TIMEOUT_S, acc)
        except TimeoutError:
            t.problems.lost_accepts += 1
            continue
        try:
            opened_at = await bounded(REPLY_TIMEOUT_S, opn)
        except TimeoutError:
            t.problems.lost_opens += 1
            continue
        if i >= warmup:
            accepted_ns.append(accepted_at - t0)
            opened_ns.append(opened_at - t0)
    late = sum(1 for a, o in zip(accepted_ns, opened_ns, strict=True) if o - a > CONSOLE_LATE_NS)
    return summarize(accepted_ns), summarize(opened_ns), late


async def health(api: httpx.AsyncClient) -> dict[str, Any]:
    got: dict[str, Any] = (await api.get("/api/health")).raise_for_status().json()
    return got


async def burst(
    api: httpx.AsyncClient, handhelds: list[Handheld], t: Tracker, k: int, rng: random.Random
) -> BurstRound:
    """K handhelds alarm at once (sent back to back from here); the round ends when every
    alarm is accepted and opened, or at the timeout."""
    chosen = rng.sample(handhelds, min(k, len(handhelds)))
    before = await health(api)
    waits = []
    sent: list[int] = []
    for h in chosen:
        assert h.ws is not None
        alert_id = str(uuid.uuid4())
        waits.append(t.expect(alert_id))
        frame = alert_frame(alert_id, h.lon, h.lat)
        sent.append(time.perf_counter_ns())
        await h.ws.send(frame)
    await asyncio.wait([f for pair in waits for f in pair], timeout=BURST_TIMEOUT_S)
    accepted = [(acc.result()[0], s) for (acc, _), s in zip(waits, sent, strict=True) if acc.done()]
    opened = sum(1 for _, opn in waits if opn.done())
    t.problems.lost_accepts += len(chosen) - len(accepted)
    t.problems.lost_opens += len(accepted) - opened
    after = await health(api)
    lat = summarize([done - s for done, s in accepted])
    seconds = (max((done for done, _ in accepted), default=sent[0]) - sent[0]) / 1e9
    return BurstRound(
        alarms=len(chosen),
        accepted=len(accepted),
        opened=opened,
        seconds=seconds,
        per_s=len(accepted) / seconds if seconds > 0 else 0.0,
        commit_batches=after["commit_batches"] - before["commit_batches"],
        writes=after["writes"] - before["writes"],
        p50_us=lat.p50_us,
        p99_us=lat.p99_us,
        max_us=lat.max_us,
    )


async def measure_dispatch(
    args: argparse.Namespace, tmp: Path, rng: random.Random
) -> dict[str, Any]:
    admin = secrets.token_urlsafe(24)
    env = dict(os.environ)
    env.update(
        DISPATCH_ADMIN_TOKEN=admin,
        DISPATCH_DATABASE_URL=args.database_url or f"sqlite:///{tmp}/dispatch.sqlite3",
    )
    log = tmp / "dispatch.log"
    # serve refuses a database without the schema: migrate first, as an operator would.
    migrate = [sys.executable, "-m", "dispatch_server.cli", "migrate"]
    await asyncio.to_thread(subprocess.run, migrate, env=env, check=True, capture_output=True)
    argv = [sys.executable, "-m", "dispatch_server.cli", "serve", "--host", HOST, "--port", "0"]
    proc = spawn_pinned(SERVER_CPU, argv, log, env)
    problems = Problems()
    t = Tracker(problems)
    readers: list[asyncio.Task[None]] = []
    handhelds: list[Handheld] = []
    console: ClientConnection | None = None
    try:
        port = int((await wait_for_log_line(proc, log, r"Console: http://[^:]+:(\d+)/")).group(1))
        base = f"http://{HOST}:{port}"
        headers = {"Authorization": f"Bearer {admin}"}
        # Idle connections expire before uvicorn's 5 s keep-alive closes them: reusing one the
        # server is closing fails with "Server disconnected without sending a response".
        limits = httpx.Limits(keepalive_expiry=1.0)
        async with httpx.AsyncClient(
            base_url=base, headers=headers, timeout=REPLY_TIMEOUT_S, limits=limits
        ) as api:
            deadline = time.monotonic() + STARTUP_TIMEOUT_S
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    if (await api.get("/api/health")).status_code == 200:
                        break
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"dispatch server never became healthy:\n{log.read_text()}")
                await asyncio.sleep(0.05)

            started = time.perf_counter()
            handhelds, dispatcher_token = await bounded(
                PHASE_TIMEOUT_S, register(api, args.handhelds, rng)
            )
            registered_s = time.perf_counter() - started
            await asyncio.sleep(0.5)
            rss_before = rss_kib(proc.pid)

            started = time.perf_counter()
            url = f"ws://{HOST}:{port}/ws/patrol"
            await bounded(
                PHASE_TIMEOUT_S,
                gather_limited(
                    CONNECT_CONCURRENCY,
                    (partial(open_handheld, url, h, t, readers) for h in handhelds),
                ),
            )
            connected_s = time.perf_counter() - started
            console = await connect(
                f"ws://{HOST}:{port}/ws/console",
                compression=None,
                max_size=1 << 22,
                ping_interval=None,
            )
            await console.send(json.dumps({"type": "hello", "token": dispatcher_token}))
            t.last_seq = (await expect_frame(console, "welcome")).get("last_seq") or 0
            readers.append(
                asyncio.create_task(read_frames(console, "console", t.on_console_frame, t))
            )
            await asyncio.sleep(1.0)  # let the shift_start writes and positions settle
            rss_after = rss_kib(proc.pid)
            live = [h for h in handhelds if h.ws is not None]
            at_connect = await health(api)
            if not live:
                raise RuntimeError("no handheld could connect")

            mark = cpu_mark(proc.pid)
            accepted, opened, console_late = await sequential(
                live, t, args.alarms, args.warmup, rng
            )
            latency_cpu = cpu_use(mark, cpu_mark(proc.pid), args.alarms + args.warmup)
            mark = cpu_mark(proc.pid)
            rounds = [await burst(api, live, t, args.burst, rng) for _ in range(args.rounds)]
            burst_cpu = cpu_use(mark, cpu_mark(proc.pid), sum(r.accepted for r in rounds))
            rss_end = rss_kib(proc.pid)
            await asyncio.sleep(0.5)  # any late or doubled frame still on its way
            at_end = await health(api)
            pinned = sorted(cpus_of_threads(proc.pid))
    finally:
        t.closing = True
        await close_all([h.ws for h in handhelds if h.ws is not None])
        if console is not None:
            await close_all([console])
        for task in readers:
            task.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
        stopped = stop(proc)
        problems.server_log = server_log_problems(log)[:50]
        if stopped.killed:
            problems.server_log.append(f"still running {STOP_TIMEOUT_S:.0f} s after SIGTERM")
    return {
        "registered_s": registered_s,
        "connected_s": connected_s,
        "connected": len(live),
        "rss_before_kib": rss_before,
        "rss_after_kib": rss_after,
        "rss_end_kib": rss_end,
        "kib_per_connection": (rss_after - rss_before) / max(1, len(live)),
        "accepted": accepted,
        "opened": opened,
        "console_late": console_late,
        "latency_cpu": latency_cpu,
        "burst_cpu": burst_cpu,
        "burst": rounds,
        "health_at_connect": at_connect,
        "health_at_end": at_end,
        "frames": dict(t.frames),
        "pinned": pinned,
        "stopped": stopped,
        "problems": problems,
        "server_log_path": str(log),
    }


# --- report -------------------------------------------------------------------------


def burst_lines(label: str, rounds: list[BurstRound], floor: list[BurstRound] | None) -> list[str]:
    lines = []
    for i, r in enumerate(rounds, 1):
        line = f"  {label} round {i}: {r.accepted}/{r.alarms} in {r.seconds * 1000:7.1f} ms"
        line += f" = {r.per_s:7.0f}/s"
        if r.commit_batches is not None:
            line += f"  commit batches {r.commit_batches:>3} (writes {r.writes})"
        line += f"  p50 {fmt_us(r.p50_us):>9}  p99 {fmt_us(r.p99_us):>9}"
        lines.append(line)
    rates = sorted(r.per_s for r in rounds)
    median = rates[len(rates) // 2] if rates else 0.0
    line = f"  {label} median rate {median:.0f}/s"
    if floor:
        floor_rates = sorted(r.per_s for r in floor)
        floor_median = floor_rates[len(floor_rates) // 2]
        line += f" = {median / floor_median:.2f} of the echo floor's {floor_median:.0f}/s"
    lines.append(line)
    return lines


def cpu_line(label: str, use: CpuUse, floor: CpuUse | None) -> str:
    line = f"  server CPU per {label:<5} {fmt_us(use.per_op_us):>9}"
    if math.isnan(use.per_op_us):
        return line + f" (phase under {MIN_CPU_PHASE_S:.0f} s: too short to measure)"
    if floor is not None and floor.per_op_us > 0:
        line += f" (x{use.per_op_us / floor.per_op_us:.1f} the echo's round trip)"
    line += f"; its core busy {use.server_share:.0%} with it"
    return line + f", {use.others_share:.0%} with anything else"


def mib(kib: int) -> str:
    return f"{kib / 1024:.1f} MiB"


def report(args: argparse.Namespace, floor: dict[str, Any], d: dict[str, Any]) -> list[str]:
    frame_bytes = len(alert_frame(str(uuid.uuid4()), 113.0337123, 28.1323456).encode())
    fl: Summary = floor["latency"]
    p: Problems = d["problems"]
    lines = [
        f"alarm_latency: server and echo floor on CPU {SERVER_CPU}, client on CPU {CLIENT_CPU};"
        f" alert frame {frame_bytes} B",
        f"  server threads' CPUs: echo {floor['pinned']}, dispatch {d['pinned']}",
        "",
        "latency (one alarm at a time)",
        summary_line("floor: bare websockets echo round trip", fl),
        summary_line("alarm -> alert_accepted (handheld)", d["accepted"], fl),
        summary_line("alarm -> incident_opened (console)", d["opened"], fl),
        f"  console over {CONSOLE_LATE_NS // 10**6} ms after the handheld:"
        f" {d['console_late']} of {d['opened'].n} alarms",
        cpu_line("echo", floor["latency_cpu"], None),
        cpu_line("alarm", d["latency_cpu"], floor["latency_cpu"]),
        "",
        f"burst ({args.burst} handhelds alarm at once, {args.rounds} rounds)",
        *burst_lines("echo  ", floor["burst"], None),
        *burst_lines("alarms", d["burst"], floor["burst"]),
        cpu_line("alarm", d["burst_cpu"], floor["latency_cpu"]),
        "",
        f"memory (VmRSS over {args.handhelds} idle connections)",
        f"  echo floor: {mib(floor['rss_before_kib'])} -> {mib(floor['rss_after_kib'])}"
        f" = {floor['kib_per_connection']:.1f} KiB per connection",
        f"  dispatch:   {mib(d['rss_before_kib'])} -> {mib(d['rss_after_kib'])}"
        f" = {d['kib_per_connection']:.1f} KiB per connection"
        f" (x{d['kib_per_connection'] / floor['kib_per_connection']:.1f} the floor);"
        f" {mib(d['rss_end_kib'])} after all alarms",
        "",
        f"setup: {args.handhelds} members registered in {d['registered_s']:.1f} s;"
        f" {d['connected']} handhelds connected in {d['connected_s']:.1f} s",
        f"  health at end: {json.dumps(d['health_at_end'])}",
        f"  frames heard: {json.dumps(d['frames'], sort_keys=True)}",
        f"  server stopped {d['stopped'].seconds:.1f} s after SIGTERM, exit status"
        f" {d['stopped'].exit_code} (-15: uvicorn re-raises the signal once drained)",
        "",
    ]
    shares = [floor["latency_cpu"].others_share, d["latency_cpu"].others_share]
    shares.append(d["burst_cpu"].others_share)
    if max((share for share in shares if not math.isnan(share)), default=0.0) > SHARED_WARNING:
        lines.append(
            f"WARNING: something else used over {SHARED_WARNING:.0%} of CPU {SERVER_CPU} during a"
            " phase (see 'anything else' above): run again on a quiet machine"
        )
    if not p.any():
        lines.append("problems: none (every alarm accepted once and opened once, no seq gap)")
        return lines
    lines.append("PROBLEMS:")
    for name, value in asdict(p).items():
        if isinstance(value, list):
            if value:
                lines.append(f"  {name}: {len(value)}")
                lines.extend(f"    {v}" for v in value[:10])
        elif value:
            lines.append(f"  {name}: {value}")
    lines.append(f"  server log: {d['server_log_path']}")
    return lines


def to_json(value: Any) -> Any:
    if isinstance(value, Summary | BurstRound | Problems | CpuUse | Stopped):
        return to_json(asdict(value))
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_json(v) for v in value]
    if isinstance(value, float) and math.isnan(value):
        return None  # JSON has no NaN
    return value


async def measure(args: argparse.Namespace, tmp: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    rng = random.Random(args.seed)
    floor = await measure_floor(args, tmp, rng)
    return floor, await measure_dispatch(args, tmp, rng)


def run(args: argparse.Namespace) -> int:
    # Kept when something went wrong, so the server's log can be read.
    tmp = Path(tempfile.mkdtemp(prefix="alarm-bench-"))
    try:
        floor, d = asyncio.run(measure(args, tmp))
    except BaseException:
        print(f"alarm_latency: failed; the servers' logs are in {tmp}", file=sys.stderr)
        raise
    print("\n".join(report(args, floor, d)), flush=True)
    if args.json:
        figures = {"args": vars(args), "floor": floor, "dispatch": d}
        Path(args.json).write_text(json.dumps(to_json(figures), indent=2, default=str) + "\n")
    failed = d["problems"].any()
    if not failed:
        for path in sorted(tmp.iterdir(), reverse=True):
            path.unlink()
        tmp.rmdir()
    return 1 if failed else 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--handhelds", type=int, default=1000, help="patrol sockets to open")
    parser.add_argument("--alarms", type=int, default=2000, help="sequential alarms measured")
    parser.add_argument("--warmup", type=int, default=200, help="alarms (and echoes) not measured")
    parser.add_argument("--burst", type=int, default=200, help="handhelds alarming at once")
    parser.add_argument("--rounds", type=int, default=5, help="bursts")
    parser.add_argument("--echo-samples", type=int, default=5000, help="echo round trips measured")
    parser.add_argument("--seed", type=int, default=1, help="which handhelds alarm, and where")
    parser.add_argument("--quick", action="store_true", help="a smoke run of a few seconds")
    parser.add_argument("--json", metavar="PATH", help="also write the figures here")
    parser.add_argument(
        "--database-url",
        metavar="URL",
        help="an empty database for the server (default: a fresh SQLite file), "
        "e.g. postgresql+psycopg://postgres@127.0.0.1/bench",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.handhelds, args.alarms, args.warmup = 100, 200, 50
        args.burst, args.rounds, args.echo_samples = 50, 2, 500
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.sched_setaffinity(0, {CLIENT_CPU})
    raise_fd_limit()
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
