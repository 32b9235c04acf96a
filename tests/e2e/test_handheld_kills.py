"""Nothing is lost on the handheld's side: kill the client, kill the server, and every alarm
is still accepted exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from patrol_client.client import PatrolClient
from patrol_client.connection import Backoff
from patrol_client.outbox import AlarmState, Outbox
from tests.support.patrols import until
from tests.support.servers import ServerProcess, free_port, in_process, settings_for

ROOT = Path(__file__).resolve().parents[2]


def handheld(server: str, token: str, outbox: Path, alarms: int) -> subprocess.Popen[bytes]:
    cmd = [
        sys.executable,
        "-m",
        "tests.support.handheld_proc",
        "--server",
        server,
        f"--token={token}",  # a token may start with "-"
    ]
    cmd += ["--outbox", str(outbox), "--alarms", str(alarms), "--every", "0.003"]
    return subprocess.Popen(cmd, cwd=ROOT)


def sigkill(proc: subprocess.Popen[bytes]) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)


@pytest.mark.slow
async def test_killed_client_sends_its_outbox_after_restart(
    tmp_path: Path, database_url: str
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = settings_for(database_url)
    box_path = tmp_path / "outbox.sqlite3"
    async with in_process(settings, port=port) as server:
        token = (await server.api.member("Li", "G05"))["token"]
    box = Outbox(box_path)

    # 1. The server is down: ten alarms pile up in the outbox, then the handheld dies.
    proc = handheld(base, token, box_path, 10)
    await until(lambda: len(box.pending()) == 10, timeout=30)
    sigkill(proc)

    async with in_process(settings, port=port) as server:
        # 2. It comes back, replays, presses more, and dies again mid-flight.
        proc = handheld(base, token, box_path, 60)
        await until(lambda: len(box.recent(1000)) >= 40 and len(box.pending()) < 30, timeout=30)
        sigkill(proc)
        killed_with = len(box.pending())
        # 3. The real CLI picks up the same outbox and sends what is left, plus its own alarm.
        cli = [sys.executable, "-m", "patrol_client.cli", "alarm", "--server", base]
        cli += [f"--token={token}", "--outbox", str(box_path), "--timeout", "20"]
        done = await asyncio.to_thread(
            subprocess.run, cli, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        await until(lambda: not box.pending(), timeout=30)
        listing = await server.api.get("/api/incidents", limit=1000)

    everything = box.recent(1000)
    # Forty or more written before the second kill (ten of them while the server was down),
    # and one from the CLI.
    assert len(everything) >= 40 + 1
    logged = {i["alert_id"]: i["incident_id"] for i in listing["incidents"]}
    assert len(logged) == len(listing["incidents"]), "one incident per alert_id"
    assert set(logged) == {a.alert_id for a in everything}
    for a in everything:
        assert a.state is AlarmState.ACCEPTED and a.incident_id == logged[a.alert_id]
    print(f"pending at the second kill: {killed_with}")


@pytest.mark.slow
async def test_server_killed_during_a_burst_of_200_alarms_from_20_handhelds(
    tmp_path: Path, database_url: str
) -> None:
    proc = ServerProcess(database_url, tmp_path / "server.log")
    server = proc.start()
    clients: list[PatrolClient] = []
    runners: list[asyncio.Task[None]] = []
    try:
        for i in range(20):
            token = (await server.api.member(f"m{i}", f"G{i % 10 + 1:02d}"))["token"]
            client = PatrolClient(
                server.base, token, Outbox(tmp_path / f"o{i}.sqlite3"), backoff=Backoff(0.05, 0.3)
            )
            clients.append(client)
            runners.append(asyncio.create_task(client.run()))

        def accepted() -> int:
            return sum(
                a.state is AlarmState.ACCEPTED for c in clients for a in c.outbox.recent(1000)
            )

        async def burst(client: PatrolClient) -> None:
            for _ in range(10):
                await client.alarm("other")
                await asyncio.sleep(0.002)

        pressing = asyncio.gather(*(burst(c) for c in clients))
        await until(lambda: accepted() >= 40, timeout=30)
        proc.kill()
        await pressing
        assert accepted() < 200, "the kill should have come mid-burst"
        server = proc.start()  # same port: the handhelds reconnect by themselves
        await until(lambda: all(not c.outbox.pending() for c in clients), timeout=60)
        listing = await server.api.get("/api/incidents", limit=1000)
    finally:
        for c in clients:
            c.stop()
        await asyncio.gather(*runners, return_exceptions=True)
        proc.stop()
    mine = {a.alert_id: a for c in clients for a in c.outbox.recent(1000)}
    assert len(mine) == 200
    logged = {i["alert_id"]: i["incident_id"] for i in listing["incidents"]}
    assert len(logged) == len(listing["incidents"]) == 200
    assert set(logged) == set(mine)
    assert all(
        a.state is AlarmState.ACCEPTED and a.incident_id == logged[k] for k, a in mine.items()
    )
