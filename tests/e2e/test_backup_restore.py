"""`dispatch-server backup` while handhelds raise alarms, and `restore` into a new server:
what was acknowledged before the backup began is there, and the log has no gap."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed

from tests.support.clients import Handheld
from tests.support.servers import ServerProcess

HANDHELDS = 8
BEFORE = 60  # acknowledged alarms before the backup begins

pytestmark = [
    pytest.mark.slow,
    pytest.mark.only_on("sqlite", "the online backup API is SQLite's (PostgreSQL: pg_dump)"),
]


def command(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`dispatch-server ARGS` with DISPATCH_DATABASE_URL=url, as an operator runs it."""
    env = {**os.environ, "DISPATCH_DATABASE_URL": url}
    cmd = [sys.executable, "-m", "dispatch_server.cli", *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60, check=False)


async def command_async(url: str, *args: str) -> tuple[int, str]:
    """The same, without stopping this event loop (the handhelds keep sending meanwhile)."""
    env = {**os.environ, "DISPATCH_DATABASE_URL": url}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "dispatch_server.cli",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode()


async def keep_raising(h: Handheld, accepted: dict[str, int], stop: asyncio.Event) -> None:
    """Alarm after alarm, remembering each acknowledgement (alert_id: incident id)."""
    while not stop.is_set():
        alert_id = str(uuid.uuid4())
        try:
            reply = await h.alarm(alert_id)
        except (ConnectionClosed, OSError, TimeoutError):
            return
        accepted[alert_id] = reply["incident_id"]
        await asyncio.sleep(0.01)  # a burst, not a benchmark: the log stays a few MB


async def test_backup_during_a_burst_restores_every_acknowledged_alarm(
    tmp_path: Path, database_url: str
) -> None:
    proc = ServerProcess(database_url, tmp_path / "server.log")
    server = proc.start()
    backup = tmp_path / "backups" / "dispatch-backup.sqlite3"
    try:
        tokens = [
            (await server.api.member(f"m{i}", f"G{i % 10 + 1:02d}"))["token"]
            for i in range(HANDHELDS)
        ]
        handhelds = [await server.handheld(t).connect() for t in tokens]
        accepted: dict[str, int] = {}
        stop = asyncio.Event()
        raising = [asyncio.create_task(keep_raising(h, accepted, stop)) for h in handhelds]
        while len(accepted) < BEFORE:
            await asyncio.sleep(0.005)
        before = dict(accepted)  # acknowledged before the backup began
        # Small steps, so the copy spans many of the server's commits.
        code, out = await command_async(database_url, "backup", str(backup), "--pages", "4")
        during = len(accepted) - len(before)
        stop.set()
        await asyncio.wait_for(asyncio.gather(*raising), 30)
        assert code == 0, out
        assert during > 0, "no alarm was acknowledged while the backup ran"
        assert "integrity ok" in out
        sent = dict(accepted)
    finally:
        await server.close_clients()
        proc.stop()

    restored_url = f"sqlite:///{tmp_path / 'restored' / 'dispatch.sqlite3'}"
    done = command(restored_url, "restore", str(backup))
    assert done.returncode == 0, done.stderr
    second = ServerProcess(restored_url, tmp_path / "restored.log")
    server = second.start()
    try:
        head = (await server.api.get("/api/incidents", limit=1))["last_seq"]
        # The restored log, read whole from seq 1 as a console resuming from 0 reads it.
        d = await server.api.dispatcher()
        console = await server.console(d["token"]).connect(since=0)
        events = await console.events_until(lambda got: bool(got) and got[-1]["seq"] == head)
        assert [e["seq"] for e in events] == list(range(1, head + 1))
        opened = [e for e in events if e["type"] == "incident_opened"]
        logged = {e["alert_id"]: e["incident_id"] for e in opened}
        lost = {a: i for a, i in before.items() if logged.get(a) != i}
        assert not lost, f"acknowledged before the backup, missing after restore: {lost}"
        assert set(logged) <= set(sent), "the restored log has alarms nobody sent"
        # What restore printed is what the backup holds; the new server logs on from there.
        printed = re.search(r"last seq (\d+)", done.stdout)
        assert printed is not None and int(printed[1]) <= head
        assert f"Incidents: {len(logged)}" in done.stdout
    finally:
        await server.close_clients()
        second.stop()


async def test_restore_refuses_a_live_database_unless_forced(
    tmp_path: Path, database_url: str
) -> None:
    backup = tmp_path / "backup.sqlite3"
    assert command(database_url, "backup", str(backup)).returncode == 0
    proc = ServerProcess(database_url, tmp_path / "server.log")
    server = proc.start()
    try:
        await server.api.member("m", "G01")
        refused = command(database_url, "restore", str(backup))
        assert refused.returncode == 2
        assert "a dispatch server is using" in refused.stderr
        assert "--force" in refused.stderr
        # Nothing was copied: the member added after the backup is still there.
        assert len(await server.api.get("/api/members")) == 1
        forced = command(database_url, "restore", str(backup), "--force")
        assert forced.returncode == 0, forced.stderr
        assert "Restart the server now" in forced.stdout
    finally:
        proc.stop()
    # Stopped (or killed: the kernel drops the lock either way), the database is not live.
    server = proc.start()
    try:
        assert await server.api.get("/api/members") == []
    finally:
        proc.kill()
    again = command(database_url, "restore", str(backup))
    assert again.returncode == 0, again.stderr
