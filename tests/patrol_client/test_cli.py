"""`patrol-client alarm` as a script or a physical button runs it: its help lists the
categories, and its output says when no duty console was open to see the alarm."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from dispatch_server.protocol.frames import Category
from patrol_client.categories import CATEGORIES
from patrol_client.cli import UNATTENDED, main
from tests.support.servers import Running

ROOT = Path(__file__).resolve().parents[2]


def test_the_handheld_knows_every_category_the_server_does() -> None:
    assert list(CATEGORIES) == [c.value for c in Category]


def test_alarm_help_lists_the_categories(capsys: pytest.CaptureFixture[str]) -> None:
    try:
        main(["alarm", "--help"])
    except SystemExit as exit_:
        assert exit_.code == 0
    out = capsys.readouterr().out
    for category in CATEGORIES:
        assert category in out


async def alarm(server: Running, token: str, outbox: Path) -> tuple[int, str]:
    """The real CLI in a child process (the server runs on this test's loop)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "patrol_client.cli",
        "alarm",
        "--server",
        server.base,
        f"--token={token}",  # a token may start with "-"
        "--outbox",
        str(outbox),
        "--category",
        "medical",
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode()


async def test_alarm_says_when_no_console_was_open(server: Running, tmp_path: Path) -> None:
    member = await server.api.member("李伟", "G02")
    code, out = await alarm(server, member["token"], tmp_path / "a.sqlite3")
    assert code == 0 and "accepted: incident" in out, out
    assert UNATTENDED in out
    console = await server.console((await server.api.dispatcher())["token"]).connect()
    try:
        code, out = await alarm(server, member["token"], tmp_path / "b.sqlite3")
    finally:
        await console.close()
    assert code == 0 and "accepted: incident" in out, out
    assert "unattended" not in out
