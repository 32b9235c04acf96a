"""The README's first steps, pasted into a shell on a fresh copy of the checkout, work with no
edits (issue 14): the first block starts the server (`make run`), the second registers a
duty volunteer and a member and raises an alarm, and the third's handheld command is one
`patrol-client` accepts, with a position inside the member's grid."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import shapely

from dispatch_server.geo.grids import load_grids
from dispatch_server.settings import SAMPLE_GRIDS
from patrol_client.cli import position_source
from patrol_client.position import FixedPoint

ROOT = Path(__file__).resolve().parents[2]
NOT_SOURCE = (".venv", ".git", "*_cache", "build", "dist", "*.egg-info", "data", "__pycache__")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.only_on("sqlite", "the first steps run on the embedded SQLite default"),
]


def first_steps(readme: str) -> list[str]:
    """The fenced sh blocks of the README's "First steps" section, in order."""
    section = readme.split("\n## First steps\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)```", section, flags=re.S)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def clone_like(where: Path) -> Path:
    """The checkout as it stands, without its data or caches; `.venv` is the checkout's
    own, reached through a link to its bin/ with the install stamp set, so `make` installs
    nothing (and never touches the real .venv)."""
    copy = where / "checkout"
    shutil.copytree(ROOT, copy, symlinks=True, ignore=shutil.ignore_patterns(*NOT_SOURCE))
    venv = copy / ".venv"
    venv.mkdir()
    (venv / "bin").symlink_to((ROOT / ".venv").resolve() / "bin")
    (venv / ".installed").touch()
    return copy


def shell_env(copy: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISPATCH_")}
    # The copy's code, not whatever the venv's editable install points at.
    env.update(PYTHONPATH=str(copy), PORT=str(port), HOME=str(copy.parent / "home"))
    return env


@pytest.fixture
def started(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str], list[str]]]:
    """The first block, run as pasted in its own process group; killed by its id."""
    blocks = first_steps((ROOT / "README.md").read_text())
    assert len(blocks) == 3, blocks
    copy = clone_like(tmp_path)
    env = shell_env(copy, free_port())
    proc = subprocess.Popen(
        ["bash", "-e", "-c", blocks[0]],
        cwd=copy,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    said: list[str] = []
    drain: threading.Thread | None = None
    try:
        assert proc.stdout is not None
        while not any(line.startswith("Console: ") for line in said):
            line = proc.stdout.readline()
            assert line, f"the first block ended before it served: {said}"
            said.append(line)
        drain = threading.Thread(target=said.extend, args=(proc.stdout,))
        drain.start()
        yield copy, env, blocks
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        if drain is not None:
            drain.join(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


@pytest.mark.timeout(180)
def test_the_first_steps_work_as_pasted(
    started: tuple[Path, dict[str, str], list[str]],
) -> None:
    copy, env, blocks = started
    assert (copy / "data" / "admin-token").read_text().strip()
    second = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", blocks[1]],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert second.returncode == 0, second.stdout + second.stderr
    assert "accepted: incident" in second.stdout, second.stdout
    assert "unattended" in second.stdout  # no console was open
    assert '"token"' in (copy / "data" / "duty.json").read_text()
    # The handheld's line: the command, and a position inside the member's grid (G03).
    (line,) = (x for x in blocks[2].splitlines() if "patrol-client run" in x)
    args = shlex.split(line)
    position = args[args.index("--position") + 1]
    source = position_source(position)
    assert isinstance(source, FixedPoint)
    fix = source.fix()
    assert fix is not None
    (g03,) = (g for g in load_grids(SAMPLE_GRIDS) if g.grid_id == "G03")
    assert shapely.contains_xy(g03.geometry, fix.lon, fix.lat)
