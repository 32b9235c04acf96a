"""Two instances on PostgreSQL + Redis, against one instance, in the same run.

What is measured, against what:

* Alarm to `incident_opened` on a console, one alarm at a time, from N handhelds
  connected to instance A:
  - console on A (the single-instance path, on the same cluster): the floor;
  - console on B (the cross-instance path: A commits, notifies B over Redis, B reads
    the new events from PostgreSQL and sends them): the figure, as a ratio to the floor.
  Alarm to `alert_accepted` on the handheld is printed too (it never crosses instances).
* Durable alarms per second: bursts of K handhelds alarming at once, accepted only after
  commit, on instance A (PostgreSQL, cluster-wide write lock) against one instance on a
  SQLite file (WAL, synchronous=FULL), same N, K and rounds.

Both instances (and the SQLite server) are pinned to CPU 0 and this client to CPU 1;
PostgreSQL and Redis run where the OS puts them, so the PostgreSQL figures include their
share of the same two cores. Correctness is checked on the way: every alarm accepted and
opened once, console seqs without gap or repeat across the switch from A to B.

    .venv/bin/python bench/cluster_latency.py [--quick] [--pg URL] [--redis URL]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import secrets
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import psycopg
from alarm_latency import (
    CONNECT_CONCURRENCY,
    HOST,
    PHASE_TIMEOUT_S,
    REPLY_TIMEOUT_S,
    SERVER_CPU,
    STARTUP_TIMEOUT_S,
    BurstRound,
    Handheld,
    Problems,
    Summary,
    Tracker,
    bounded,
    burst,
    close_all,
    expect_frame,
    gather_limited,
    open_handheld,
    raise_fd_limit,
    read_frames,
    register,
    sequential,
    server_log_problems,
    spawn_pinned,
    stop,
    summary_line,
    wait_for_log_line,
)
from sqlalchemy.engine import make_url
from websockets.asyncio.client import ClientConnection, connect

ROOT = Path(__file__).resolve().parent.parent


def migrate(env: dict[str, str]) -> None:
    cmd = [sys.executable, "-m", "dispatch_server.cli", "migrate", "--create"]
    subprocess.run(cmd, env=env, check=True, capture_output=True, cwd=ROOT)


def drop_database(url: str) -> None:
    target = make_url(url)
    admin = target.set(drivername="postgresql", database="postgres").render_as_string(
        hide_password=False
    )
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)')


async def start_server(env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], str]:
    argv = [sys.executable, "-m", "dispatch_server.cli", "serve", "--host", HOST, "--port", "0"]
    proc = spawn_pinned(SERVER_CPU, argv, log, env)
    port = int((await wait_for_log_line(proc, log, r"Console: http://[^:]+:(\d+)/")).group(1))
    base = f"http://{HOST}:{port}"
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    async with httpx.AsyncClient() as c:
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if (await c.get(base + "/api/health")).status_code == 200:
                    return proc, base
            if time.monotonic() > deadline:
                raise RuntimeError(f"{log.name} never became healthy")
            await asyncio.sleep(0.05)


async def open_console(base: str, token: str, t: Tracker, since: int | None) -> ClientConnection:
    ws = await connect(
        base.replace("http", "ws") + "/ws/console",
        compression=None,
        max_size=1 << 22,
        ping_interval=None,
    )
    hello: dict[str, Any] = {"type": "hello", "token": token}
    if since is not None:
        hello["since"] = since
    await ws.send(json.dumps(hello))
    welcome = await expect_frame(ws, "welcome")
    if since is None:
        t.last_seq = welcome.get("last_seq") or 0
    return ws


class Fleet:
    """N registered handhelds connected to one server, and the tasks reading their frames."""

    def __init__(self, problems: Problems) -> None:
        self.t = Tracker(problems)
        self.readers: list[asyncio.Task[None]] = []
        self.handhelds: list[Handheld] = []
        self.consoles: list[ClientConnection] = []

    async def connect(self, api: httpx.AsyncClient, base: str, n: int, rng: random.Random) -> str:
        self.handhelds, token = await bounded(PHASE_TIMEOUT_S, register(api, n, rng))
        url = base.replace("http", "ws") + "/ws/patrol"
        jobs = (partial(open_handheld, url, h, self.t, self.readers) for h in self.handhelds)
        await bounded(PHASE_TIMEOUT_S, gather_limited(CONNECT_CONCURRENCY, jobs))
        return token

    async def watch(self, base: str, token: str, since: int | None) -> None:
        ws = await open_console(base, token, self.t, since)
        self.consoles.append(ws)
        self.readers.append(
            asyncio.create_task(read_frames(ws, "console", self.t.on_console_frame, self.t))
        )

    async def drop_console(self) -> None:
        """Stop listening on the current console (the next one resumes from its last seq)."""
        ws = self.consoles.pop()
        self.t.closing = True
        await close_all([ws])
        await asyncio.sleep(0.1)
        self.t.closing = False

    @property
    def live(self) -> list[Handheld]:
        return [h for h in self.handhelds if h.ws is not None]

    async def close(self) -> None:
        self.t.closing = True
        await close_all([h.ws for h in self.handhelds if h.ws is not None] + self.consoles)
        for task in self.readers:
            task.cancel()
        await asyncio.gather(*self.readers, return_exceptions=True)


def client(base: str, admin: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=base,
        headers={"Authorization": f"Bearer {admin}"},
        timeout=REPLY_TIMEOUT_S,
        limits=httpx.Limits(keepalive_expiry=1.0),
    )


async def measure_sqlite(args: argparse.Namespace, tmp: Path, problems: Problems) -> dict[str, Any]:
    admin = secrets.token_urlsafe(16)
    env = {**os.environ, "DISPATCH_ADMIN_TOKEN": admin}
    env["DISPATCH_DATABASE_URL"] = f"sqlite:///{tmp}/single.sqlite3"
    migrate(env)
    proc, base = await start_server(env, tmp / "sqlite.log")
    fleet = Fleet(problems)
    rng = random.Random(args.seed)
    try:
        async with client(base, admin) as api:
            token = await fleet.connect(api, base, args.handhelds, rng)
            await fleet.watch(base, token, None)
            await asyncio.sleep(1.0)
            rounds = [
                await burst(api, fleet.live, fleet.t, args.burst, rng) for _ in range(args.rounds)
            ]
    finally:
        await fleet.close()
        stop(proc)
        problems.server_log += server_log_problems(tmp / "sqlite.log")
    return {"burst": rounds}


async def measure_cluster(
    args: argparse.Namespace, tmp: Path, problems: Problems
) -> dict[str, Any]:
    admin = secrets.token_urlsafe(16)
    database = f"{make_url(args.pg).database}_{secrets.token_hex(3)}"
    url = make_url(args.pg).set(database=database).render_as_string(hide_password=False)
    env = {
        **os.environ,
        "DISPATCH_ADMIN_TOKEN": admin,
        "DISPATCH_DATABASE_URL": url,
        "DISPATCH_BUS_URL": args.redis,
        "DISPATCH_BUS_PREFIX": "bench-" + secrets.token_hex(3),
    }
    migrate(env)
    procs: list[subprocess.Popen[bytes]] = []
    fleet = Fleet(problems)
    rng = random.Random(args.seed)
    try:
        a, base_a = await start_server(env, tmp / "a.log")
        procs.append(a)
        await asyncio.sleep(1.5)  # A is the leader before B starts, as in the tests
        b, base_b = await start_server(env, tmp / "b.log")
        procs.append(b)
        async with client(base_a, admin) as api:
            token = await fleet.connect(api, base_a, args.handhelds, rng)
            await fleet.watch(base_a, token, None)
            await asyncio.sleep(1.5)  # presence and positions settle on both
            same = await sequential(fleet.live, fleet.t, args.alarms, args.warmup, rng)
            await fleet.drop_console()
            await fleet.watch(base_b, token, fleet.t.last_seq)
            await asyncio.sleep(0.5)
            across = await sequential(fleet.live, fleet.t, args.alarms, args.warmup, rng)
            rounds = [
                await burst(api, fleet.live, fleet.t, args.burst, rng) for _ in range(args.rounds)
            ]
            await asyncio.sleep(0.5)
    finally:
        await fleet.close()
        for proc, name in zip(procs, ("a", "b"), strict=False):
            stop(proc)
            problems.server_log += server_log_problems(tmp / f"{name}.log")
        with contextlib.suppress(psycopg.Error):
            drop_database(url)
    return {"same": same, "across": across, "burst": rounds}


def burst_summary(label: str, rounds: list[BurstRound], floor: list[BurstRound] | None) -> str:
    rate = sorted(r.per_s for r in rounds)[len(rounds) // 2]
    batches = sum(r.commit_batches for r in rounds) / max(1, sum(r.accepted for r in rounds))
    line = f"{label:<44} median {rate:7.0f} alarms/s over {len(rounds)} rounds"
    line += f"  ({batches:.2f} commit batches per alarm)"
    if floor:
        base = sorted(r.per_s for r in floor)[len(floor) // 2]
        line += f"  = {rate / base:.2f}x SQLite"
    return line


def report(args: argparse.Namespace, sqlite: dict[str, Any], cluster: dict[str, Any]) -> list[str]:
    same_acc, same_open, _ = cluster["same"]
    across_acc, across_open, _ = cluster["across"]
    sa: Summary = same_open
    return [
        f"cluster bench: {args.handhelds} handhelds on A, {args.alarms} alarms one at a time "
        f"(+{args.warmup} warm-up), bursts of {args.burst} x {args.rounds}",
        "",
        "alarm -> incident_opened on a console (PostgreSQL + Redis, two instances):",
        summary_line("  console on A (single-instance path)", same_open),
        summary_line("  console on B (across instances)", across_open, sa),
        "alarm -> alert_accepted on the handheld (on A):",
        summary_line("  while the console was on A", same_acc),
        summary_line("  while the console was on B", across_acc, same_acc),
        "",
        "durable alarms per second (accepted after commit), bursts:",
        burst_summary("  SQLite file, one instance (floor)", sqlite["burst"], None),
        burst_summary("  PostgreSQL, instance A of two", cluster["burst"], sqlite["burst"]),
    ]


async def measure(args: argparse.Namespace) -> int:
    raise_fd_limit()
    problems = Problems()
    with tempfile.TemporaryDirectory(prefix="cluster-bench-") as tmp:
        sqlite = await measure_sqlite(args, Path(tmp), problems)
        cluster = await measure_cluster(args, Path(tmp), problems)
    for line in report(args, sqlite, cluster):
        print(line)
    if problems.any():
        found = {k: v for k, v in asdict(problems).items() if v}
        print("\nPROBLEMS:", json.dumps(found, indent=1, default=str)[:4000], sep="\n")
        return 1
    print("\nchecked: every alarm accepted and opened once; console seqs without gap or repeat")
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--handhelds", type=int, default=300)
    p.add_argument("--alarms", type=int, default=1000)
    p.add_argument("--warmup", type=int, default=100)
    p.add_argument("--burst", type=int, default=200)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/dispatch_bench")
    p.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    p.add_argument("--quick", action="store_true", help="a smoke run of a few seconds")
    args = p.parse_args(argv)
    if args.quick:
        args.handhelds, args.alarms, args.warmup, args.burst, args.rounds = 50, 100, 20, 50, 2
    return args


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(measure(parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
