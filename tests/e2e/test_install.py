"""The built wheel, installed the normal way outside the checkout, serves (issue 14).

Builds the wheel from this checkout, installs it with the `server` extra into a fresh
virtualenv under tmp_path (pip fetches the dependencies from the package index: about 15 s
here), starts `dispatch-server serve` there on a SQLite file that does not exist yet, with
the working directory in tmp_path, and drives it over real HTTP and a real websocket."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import venv
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.clients import Api, Handheld

ROOT = Path(__file__).resolve().parents[2]
ADMIN = "install-admin-token"
DRAIN = "install-test-serve-output"
NOT_SOURCE = (".venv", ".git", "*_cache", "build", "dist", "*.egg-info", "data", "__pycache__")
SAMPLE_GRID_IDS = [f"G{i:02d}" for i in range(1, 11)]
pytestmark = [
    pytest.mark.slow,
    pytest.mark.only_on("sqlite", "its own fresh SQLite file; nothing to learn on PostgreSQL"),
    pytest.mark.timeout(600),
]


def clean_env() -> dict[str, str]:
    """This environment without the checkout on the path or any DISPATCH_ setting: the
    installed package must stand on its own."""
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("DISPATCH_") and key not in {"PYTHONPATH", "VIRTUAL_ENV"}
    }


def build_wheel(out: Path) -> Path:
    """`pip wheel --no-deps` (setuptools in an isolated build env) on a copy of the checkout
    as it stands, so the build's egg-info and build/ never land in the checkout (where, on
    PYTHONPATH, they would pass for an installed distribution)."""
    source = out / "source"
    shutil.copytree(ROOT, source, symlinks=True, ignore=shutil.ignore_patterns(*NOT_SOURCE))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), "."],
        check=True,
        timeout=300,
        capture_output=True,
        cwd=source,
        env=clean_env(),
    )
    (wheel,) = out.glob("grid_patrol_dispatch-*.whl")
    return wheel


def install(wheel: Path, where: Path) -> Path:
    """A fresh virtualenv with the wheel and its `server` extra; its bin directory."""
    venv.create(where, with_pip=True)
    bin_dir = where / "bin"
    subprocess.run(
        [str(bin_dir / "pip"), "install", "--quiet", f"{wheel}[server]"],
        check=True,
        timeout=480,
        capture_output=True,
        cwd=where,
        env=clean_env(),
    )
    return bin_dir


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The installed `dispatch-server`, built once for this module's tests."""
    root = tmp_path_factory.mktemp("install")
    wheel = build_wheel(root)
    return install(wheel, root / "venv") / "dispatch-server"


@pytest.fixture
def serving(installed: Path, tmp_path: Path) -> Iterator[str]:
    """`dispatch-server serve` from the installed package, in tmp_path, on a fresh file."""
    env = {**clean_env(), "DISPATCH_ADMIN_TOKEN": ADMIN}
    proc = subprocess.Popen(
        [str(installed), "serve", "--port", "0"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        said: list[str] = []
        while not any(line.startswith("Console: ") for line in said):
            line = proc.stdout.readline()
            assert line, f"serve ended before it served: {said}"
            said.append(line)
        assert any("Database: created" in line for line in said), said
        grids_line = next(line for line in said if line.startswith("Grids: "))
        assert str(ROOT) not in grids_line, f"the grids came from the checkout: {grids_line}"
        assert "site-packages" in grids_line, grids_line
        assert (tmp_path / "data" / "dispatch.sqlite3").exists()
        match = re.search(r"Console: (http://\S+)/", "".join(said))
        assert match is not None
        # Keep reading what it logs, so a full pipe never blocks the server.
        drain = threading.Thread(target=said.extend, args=(proc.stdout,), name=DRAIN)
        drain.start()
        yield match.group(1)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        for thread in threading.enumerate():
            if thread.name == DRAIN:
                thread.join(timeout=10)  # it ends at the pipe's end, with the process
        if proc.stdout is not None:
            proc.stdout.close()


async def test_the_installed_wheel_serves_grids_pages_and_an_alarm(serving: str) -> None:
    base = serving
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        health = await http.get("/api/health")
        assert health.status_code == 200 and health.json()["ok"] is True
        assert health.json()["grids"] == 10
        console = await http.get("/")
        assert console.status_code == 200 and "<html" in console.text.lower()
        assert (await http.get("/static/console.css")).status_code == 200
        handheld = await http.get("/h/")
        assert handheld.status_code == 200 and "<html" in handheld.text.lower()
        for path in ("/static/h/icon-192.png", "/static/h/manifest.webmanifest", "/h/sw.js"):
            assert (await http.get(path)).status_code == 200, path
    api = Api(base, ADMIN)
    dispatcher = await api.dispatcher()
    grids = await api.get("/api/grids", token=dispatcher["token"])
    assert sorted(f["id"] for f in grids["features"]) == SAMPLE_GRID_IDS
    member = await api.member("Li", "G03")
    handheld_ws = f"ws://{base.removeprefix('http://')}/ws/patrol"
    patrol = await Handheld(handheld_ws, member["token"]).connect()
    try:
        await patrol.start_shift()
        accepted = await patrol.alarm()
        assert accepted["unattended"] is True  # no console open
    finally:
        await patrol.close()
