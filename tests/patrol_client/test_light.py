"""The handheld stays light: its install and its imports carry none of the server's libraries."""

from __future__ import annotations

import re
import subprocess
import sys
from importlib.metadata import requires

SERVER_ONLY = {"fastapi", "sqlmodel", "shapely", "sqlalchemy", "uvicorn", "starlette", "numpy"}


def _name(requirement: str) -> str:
    return re.split(r"[ ;<>=!~\[(]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _closure(package: str, seen: set[str]) -> set[str]:
    """Every distribution a plain `pip install package` pulls in (no extras), by installed
    metadata."""
    for req in requires(package) or []:
        if "extra ==" in req:
            continue
        name = _name(req)
        if name not in seen:
            seen.add(name)
            _closure(name, seen)
    return seen


def test_base_install_pulls_in_no_server_library() -> None:
    pulled = _closure("grid-patrol-dispatch", set())
    assert {"websockets", "pydantic"} <= pulled
    assert not pulled & SERVER_ONLY, pulled & SERVER_ONLY


def test_importing_the_handheld_loads_no_server_library() -> None:
    code = (
        "import sys, patrol_client.cli, patrol_client.client, patrol_client.fleet, "
        "patrol_client.outbox, patrol_client.position, patrol_client.connection, "
        "patrol_client.core;"
        f"print(sorted(m for m in {sorted(SERVER_ONLY)!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
