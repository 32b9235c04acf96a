"""Real servers for tests: uvicorn in this process, or `dispatch-server serve` as a child
process that a test can SIGKILL."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from dispatch_server.app import create_app
from dispatch_server.cli import bind, uvicorn_config
from dispatch_server.clock import Clock, system_clock
from dispatch_server.settings import Settings
from tests.support.clients import Api, Console, Handheld

ADMIN = "test-admin-token"


@dataclass
class Running:
    """Where a server listens, and clients pointed at it."""

    host: str
    port: int
    settings: Settings
    # What a test holds open for the server's life (a duty console, say).
    keep: list[Any] = field(default_factory=list)
    # The runtime's context, when the server runs in this process: a test may reach its
    # components to inject faults.
    ctx: Any = None
    scheme: str = "http"  # https: the server was started with a certificate

    @property
    def base(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    @property
    def api(self) -> Api:
        return Api(self.base, ADMIN)

    def handheld(self, token: str) -> Handheld:
        client = Handheld(f"ws://{self.host}:{self.port}/ws/patrol", token)
        self.keep.append(client)
        return client

    def console(self, token: str) -> Console:
        client = Console(f"ws://{self.host}:{self.port}/ws/console", token)
        self.keep.append(client)
        return client

    async def close_clients(self) -> None:
        """Close every client handed out, so none is left for the garbage collector."""
        await asyncio.gather(*(c.close() for c in self.keep), return_exceptions=True)


def settings_for(database_url: str, **overrides: object) -> Settings:
    """Settings for a test's server; the database comes from the `database_url` fixture."""
    _check_url(database_url)
    return Settings(database_url=database_url, admin_token=ADMIN, **overrides)  # type: ignore[arg-type]


def _check_url(database_url: object) -> None:
    """Tests once passed a SQLite path; the server now refuses an unmigrated file, and such a
    test would never run on PostgreSQL."""
    if not isinstance(database_url, str):
        raise TypeError(
            f"a database URL is needed, not {database_url!r}: take the `database_url` fixture"
        )


@contextlib.asynccontextmanager
async def in_process(
    settings: Settings, clock: Clock = system_clock, port: int = 0
) -> AsyncIterator[Running]:
    """uvicorn serving create_app(settings) on 127.0.0.1 (an ephemeral port unless given),
    in this event loop."""
    sock = bind("127.0.0.1", port)
    port = sock.getsockname()[1]
    app = create_app(settings, clock)
    server = uvicorn.Server(uvicorn_config(app, settings))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    running: Running | None = None
    try:
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("the server stopped before it started (see its log)")
            await asyncio.sleep(0.01)
        running = Running("127.0.0.1", port, settings, ctx=server.lifespan.state["ctx"])
        yield running
    finally:
        if running is not None:
            await running.close_clients()
        server.should_exit = True
        await asyncio.wait_for(task, 15)
        sock.close()


def free_port() -> int:
    """A port nobody listens on now: for a server that a test starts later, or restarts."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """`dispatch-server serve` in a child process, so a test can kill it like a power cut."""

    def __init__(
        self,
        database_url: str,
        log: Path,
        env: dict[str, str] | None = None,
        port: int = 0,
        args: list[str] | None = None,
        verify: ssl.SSLContext | None = None,
    ) -> None:
        """`verify`: trusts the certificate of a server started with --certfile/--keyfile."""
        _check_url(database_url)
        self.database_url = database_url
        self.log = log
        self.env = env or {}
        self.args = args or []
        self.verify = verify
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = port  # 0: a new free port on each start
        self.mark = 0  # where this process's output begins in the log
        self.on_purpose = False  # stopped or killed by kill()/stop(), not by itself

    def start(self, timeout: float = 20.0) -> Running:
        env = {
            **os.environ,
            "DISPATCH_DATABASE_URL": self.database_url,
            "DISPATCH_ADMIN_TOKEN": ADMIN,
            **self.env,
        }
        # A crash in C code (SIGSEGV, SIGABRT...) leaves the Python stacks in the log.
        env.setdefault("PYTHONFAULTHANDLER", "1")
        cmd = [sys.executable, "-m", "dispatch_server.cli", "serve", "--host", "127.0.0.1"]
        cmd += ["--port", str(self.port), *self.args]  # after the first start: the same port
        with self.log.open("ab") as out:
            mark = self.mark = out.tell()
            self.on_purpose = False
            self.proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                tail = "\n".join(self.output_tail(40))
                raise RuntimeError(f"server {self.exit_status()} while starting:\n{tail}")
            printed = self.log.read_bytes()[mark:].decode(errors="replace")
            found = re.findall(r"Console: (https?)://127\.0\.0\.1:(\d+)/", printed)
            if found:
                scheme, self.port = found[-1][0], int(found[-1][1])
                health = f"{scheme}://127.0.0.1:{self.port}/api/health"
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(health, timeout=1, verify=self.verify or True).status_code == 200:
                        return Running("127.0.0.1", self.port, Settings(), scheme=scheme)
            time.sleep(0.05)
        tail = "\n".join(self.output_tail(40))
        raise TimeoutError(f"server did not start in {timeout:g} s:\n{tail}")

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as when the machine loses power."""
        if self.proc is not None and self.proc.poll() is None:
            self.on_purpose = True
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> bool:
        """SIGTERM, as systemd stops it; False if it was still running 10 s later and had
        to be killed."""
        if self.proc is not None and self.proc.poll() is None:
            self.on_purpose = True
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
                return False
        return True

    @property
    def pid(self) -> int | None:
        return None if self.proc is None else self.proc.pid

    def exit_status(self) -> str | None:
        """How the process ended ("exited with code 1", "killed by SIGKILL (signal 9)"), or
        None while it runs (or before it started)."""
        if self.proc is None:
            return None
        code = self.proc.poll()
        if code is None:
            return None
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = "an unknown signal"
            return f"killed by {name} (signal {-code})"
        return f"exited with code {code}"

    def exited_by_itself(self) -> str | None:
        """exit_status() if the process has ended and neither kill() nor stop() ended it."""
        return None if self.on_purpose else self.exit_status()

    def kernel_lines(self) -> list[str]:
        """What the kernel logged about this process (the OOM killer names the pid it
        kills), if dmesg may be read here."""
        if self.proc is None:
            return []
        try:
            out = subprocess.run(
                ["dmesg"], capture_output=True, text=True, timeout=5, check=False
            ).stdout
        except (OSError, subprocess.SubprocessError):
            return ["(dmesg could not be run)"]
        if not out:
            return ["(dmesg printed nothing: not permitted here?)"]
        pid = re.compile(rf"\b(pid )?{self.proc.pid}\b")
        # Search after the "[ uptime]" stamp, whose digits could look like the pid.
        return [ln for ln in out.splitlines() if pid.search(ln.split("]", 1)[-1])][-5:]

    def output_tail(self, lines: int = 20) -> list[str]:
        """The last lines this process wrote (stdout and stderr; the log from its start)."""
        try:
            with self.log.open("rb") as f:
                f.seek(self.mark)
                text = f.read().decode(errors="replace")
        except OSError as exc:
            return [f"(cannot read {self.log}: {exc})"]
        return text.splitlines()[-lines:]
