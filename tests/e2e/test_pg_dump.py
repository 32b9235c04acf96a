"""The PostgreSQL backup recipe of docs/operations.md ("Backups"), run as written:
`pg_dump --format=custom` of a database with alarms in it, `pg_restore` into a new
database, and a server on the copy that has every alarm and carries the log on."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.support.databases import Databases
from tests.support.servers import in_process, settings_for

pytestmark = pytest.mark.only_on("postgresql", "pg_dump and pg_restore are PostgreSQL's tools")


def libpq(url: str) -> str:
    """DISPATCH_DATABASE_URL as the PostgreSQL tools take it: without `+psycopg`."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def run(*cmd: str) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, f"{' '.join(cmd[:2])} failed: {done.stderr}"


async def test_pg_dump_and_pg_restore_keep_every_alarm(
    tmp_path: Path, database_url: str, databases: Databases
) -> None:
    recipe = (Path(__file__).parents[2] / "docs" / "operations.md").read_text()
    assert "pg_dump --format=custom" in recipe and "pg_restore --no-owner" in recipe
    missing = [tool for tool in ("pg_dump", "pg_restore") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"{' and '.join(missing)} not installed (Debian: postgresql-client)")
    async with in_process(settings_for(database_url)) as server:
        tokens = [(await server.api.member(f"m{i}", f"G0{i + 1}"))["token"] for i in range(3)]
        accepted: dict[str, int] = {}
        for token in tokens:
            h = await server.handheld(token).connect()
            for _ in range(4):
                reply = await h.alarm()
                accepted[reply["alert_id"]] = reply["incident_id"]
        # Taken while serving: pg_dump reads one snapshot, whatever commits meanwhile.
        dump = tmp_path / "dispatch.dump"
        run("pg_dump", "--format=custom", f"--file={dump}", libpq(database_url))

    restored = databases.empty(tmp_path)
    try:
        run("pg_restore", "--no-owner", f"--dbname={libpq(restored)}", str(dump))
        async with in_process(settings_for(restored)) as server:
            listing = await server.api.get("/api/incidents", limit=1000)
            logged = {i["alert_id"]: i["incident_id"] for i in listing["incidents"]}
            assert logged == accepted
            # The sequences came along: the next alarm's event follows the restored log.
            h = await server.handheld(tokens[0]).connect()
            await h.alarm()
            after = await server.api.get("/api/incidents", limit=1)
            assert after["last_seq"] > listing["last_seq"]
            d = await server.api.dispatcher()
            console = await server.console(d["token"]).connect(since=0)
            head = (await server.api.get("/api/incidents", limit=1))["last_seq"]
            events = await console.events_until(lambda got: bool(got) and got[-1]["seq"] == head)
            assert [e["seq"] for e in events] == list(range(1, head + 1))
    finally:
        databases.drop(restored)
