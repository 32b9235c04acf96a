"""`dispatch-server cards` end to end: the command in a child process, against a real
server, writes a PDF whose QR codes carry the given base; and it refuses clearly."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pypdf
import pytest

from dispatch_server.cli import main
from tests.dispatch_server.api.test_member_cards import decoded
from tests.support.servers import ADMIN, Running, free_port

BASE = "https://patrol.example.org"


async def cards(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DISPATCH_")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "dispatch_server.cli",
        "cards",
        *args,
        env={**clean, **(env or {})},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_cards_by_member_grid_and_all(server: Running, tmp_path: Path) -> None:
    a = await server.api.member("王小明", "G01")
    b = await server.api.member("Li Wei", "G02")
    c = await server.api.member("张三", "G01")
    to = ["--server", server.base, "--token", ADMIN, "--url", BASE]

    pdf = tmp_path / "two.pdf"
    code, out, err = await cards(
        "--member", str(a["member_id"]), "--member", str(b["member_id"]), "-o", str(pdf), *to
    )
    assert code == 0, err
    assert "2 cards on 1 pages" in out
    urls = decoded(pdf.read_bytes())
    assert len(urls) == 2 and all(u.startswith(f"{BASE}/h/#enrol=") for u in urls)

    grid = tmp_path / "g01.pdf"
    code, _, err = await cards("--grid", "G01", "-o", str(grid), *to)
    assert code == 0, err
    text = pypdf.PdfReader(grid).pages[0].extract_text()
    assert "王小明" in text and "张三" in text and "Li Wei" not in text

    # The token and the base from the environment, as on the server's own machine.
    every = tmp_path / "all.pdf"
    env = {"DISPATCH_ADMIN_TOKEN": ADMIN, "DISPATCH_PUBLIC_URL": BASE}
    code, out, err = await cards("--all", "-o", str(every), "--server", server.base, env=env)
    assert code == 0, err
    assert len(decoded(every.read_bytes())) == 3 and "3 cards" in out
    assert c["member_id"]


async def test_cards_refuses_clearly(
    server: Running,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """In this process (off the event loop that serves): each refusal is exit 2 and a line
    that says what to do."""
    for name in ("DISPATCH_ADMIN_TOKEN", "DISPATCH_PUBLIC_URL"):
        monkeypatch.delenv(name, raising=False)
    m = await server.api.member("Li", "G01")
    pdf = tmp_path / "cards.pdf"
    one = ["--member", str(m["member_id"]), "-o", str(pdf)]

    async def refused(*args: str) -> str:
        capsys.readouterr()
        assert await asyncio.to_thread(main, ["cards", *args]) == 2
        return capsys.readouterr().err

    err = await refused(*one, "--server", server.base, "--token", ADMIN)
    assert "--url" in err and "DISPATCH_PUBLIC_URL" in err
    assert "admin token" in await refused(*one, "--server", server.base, "--url", BASE)
    err = await refused(*one, "--server", server.base, "--token", ADMIN, "--url", "example.org")
    assert "not an http(s) address" in err
    to = ["--server", server.base, "--token", ADMIN, "--url", BASE]
    err = await refused("--member", "999999", "-o", str(pdf), *to)
    assert "404" in err and "999999" in err
    assert "no members in grid G09" in await refused("--grid", "G09", "-o", str(pdf), *to)
    assert "401" in await refused(*one, "--server", server.base, "--token", "x", "--url", BASE)
    gone = f"http://127.0.0.1:{free_port()}"
    err = await refused(*one, "--server", gone, "--token", ADMIN, "--url", BASE)
    assert "cannot reach the server" in err
    assert not pdf.exists()
