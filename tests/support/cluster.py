"""Two `dispatch-server` instances on one PostgreSQL database and one Redis, as separate
processes a test can SIGKILL; and a Redis server of the test's own, to restart."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import signal
import subprocess
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.servers import Running, ServerProcess, free_port

MACHINE_REDIS = "redis://127.0.0.1:6379/0"


@dataclass
class Instance:
    name: str
    proc: ServerProcess
    running: Running

    @property
    def base(self) -> str:
        return self.running.base

    async def health(self) -> dict[str, object]:
        async with httpx.AsyncClient(timeout=5) as c:
            got: dict[str, object] = (await c.get(self.base + "/api/health")).json()
            return got


async def until_healthy(instance: Instance, check: str, timeout: float = 10.0) -> None:
    """Wait until /api/health has `check` true (e.g. "leader", "bus_connected")."""
    async with asyncio.timeout(timeout):
        while not (await instance.health()).get(check):
            await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def two_instances(
    database_url: str, tmp_path: Path, bus_url: str = MACHINE_REDIS, **env: str
) -> AsyncIterator[tuple[Instance, Instance]]:
    """A starts first and is the leader once B starts; both share the bus under a prefix of
    this test's own, so tests never hear each other."""
    shared = {
        "DISPATCH_BUS_URL": bus_url,
        "DISPATCH_BUS_PREFIX": "test-" + secrets.token_hex(4),
        **env,
    }
    procs: list[ServerProcess] = []
    instances: list[Instance] = []
    try:
        for name in ("a", "b"):
            proc = ServerProcess(database_url, tmp_path / f"{name}.log", shared, port=free_port())
            procs.append(proc)
            instance = Instance(name, proc, await asyncio.to_thread(proc.start))
            instances.append(instance)
            if name == "a":
                await until_healthy(instance, "leader")
        for instance in instances:
            await until_healthy(instance, "bus_connected")
        yield instances[0], instances[1]
    finally:
        for proc in procs:
            await asyncio.to_thread(proc.stop)


class RedisServer:
    """A redis-server of the test's own (the machine's binary), so it can be killed and
    started again without touching the machine's Redis."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        cmd = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        cmd += ["--save", "", "--appendonly", "no", "--dir", str(self.workdir)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                import socket

                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            time.sleep(0.02)
        raise TimeoutError("redis-server did not start")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(5)
