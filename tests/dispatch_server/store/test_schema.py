"""Migrations: `dispatch-server migrate` makes and upgrades the schema, `serve` refuses a
database that is not at head, and the migrations make exactly what the models describe."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

from dispatch_server.clock import system_clock
from dispatch_server.runtime import running
from dispatch_server.store import tables  # noqa: F401  (registers the tables)
from dispatch_server.store.engine import make_engine
from dispatch_server.store.schema import (
    NotMigrated,
    SchemaNotCurrent,
    Upgrade,
    alembic_config,
    check_current,
    head,
    refusal,
    revisions,
    upgrade,
)
from tests.dispatch_server.conftest import Engines
from tests.support.servers import ADMIN, settings_for

SECRET = "s3cret-pw"


def cli(*args: str, url: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """The real CLI in a child process, with DISPATCH_DATABASE_URL set to `url`."""
    env = {**os.environ, "DISPATCH_DATABASE_URL": url, "DISPATCH_ADMIN_TOKEN": "x"}
    return subprocess.run(
        [sys.executable, "-m", "dispatch_server.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def with_password(url: str) -> str:
    """A password in the URL (trust authentication ignores it): output must never show it."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return url
    return parsed.set(password=SECRET).render_as_string(hide_password=False)


def differences(engines: Engines) -> list[Any]:
    with engines(writer=True).connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, SQLModel.metadata))


def test_migrate_creates_the_schema_then_has_nothing_to_do(empty_database_url: str) -> None:
    url = with_password(empty_database_url)
    first = cli("migrate", url=url)
    assert first.returncode == 0, first.stderr
    assert f"Schema: empty -> {head()}" in first.stdout
    assert f"  applied {head()} " in first.stdout
    again = cli("migrate", url=url)
    assert again.returncode == 0, again.stderr
    assert f"Schema: already at {head()}; nothing to do" in again.stdout
    for run in (first, again):
        assert SECRET not in run.stdout + run.stderr


def test_every_revision_upgrades_in_turn_to_what_the_models_describe(
    empty_database_url: str,
) -> None:
    """Step by step from an empty database, each revision on top of the one before (as an
    installation that skipped no release would go), then autogenerate finds nothing to do.
    (On the empty database: the `engines` fixture's is the test's database, already at head,
    where each step was a no-op; that went unseen while there was one revision.)"""
    oldest_last = [s.revision for s in revisions().walk_revisions("base", "heads")]
    engine = make_engine(empty_database_url, writer=True)
    try:
        for revision in reversed(oldest_last):
            with engine.begin() as conn:
                command.upgrade(alembic_config(conn), revision)
                assert MigrationContext.configure(conn).get_current_revision() == revision
        assert differences(lambda writer=False: engine) == []
        assert "event" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_the_migrated_template_matches_the_models(database_url: str, engines: Engines) -> None:
    """What every other test runs on: migrated once, copied per test."""
    assert differences(engines) == []


def test_serve_refuses_an_empty_database_and_says_what_to_run(empty_database_url: str) -> None:
    """An empty SQLite file that exists is refused too: only a missing one is made."""
    url = with_password(empty_database_url)
    database = make_url(url).database
    if make_url(url).get_backend_name() == "sqlite":
        assert database is not None
        Path(database).touch()
    run = cli("serve", "--port", "0", url=url)
    assert run.returncode == 2
    assert "refusing to start" in run.stderr and "`dispatch-server migrate`" in run.stderr
    assert make_url(url).render_as_string(hide_password=True) in run.stderr
    assert "Traceback" not in run.stderr and SECRET not in run.stdout + run.stderr
    assert "Admin token" not in run.stdout  # refused before anything else happens
    engine = make_engine(url)
    try:
        assert inspect(engine).get_table_names() == [], "refusing made tables"
    finally:
        engine.dispose()


@pytest.mark.only_on("sqlite", "only an embedded SQLite file is made by serve")
def test_serve_makes_a_missing_sqlite_file_at_head_and_starts(tmp_path: Path) -> None:
    """A first start on a fresh machine: no `migrate` needed for the embedded default."""
    database = tmp_path / "sub" / "first.sqlite3"
    env = {
        **os.environ,
        "DISPATCH_DATABASE_URL": f"sqlite:///{database}",
        "DISPATCH_ADMIN_TOKEN": "x",
    }
    with subprocess.Popen(
        [sys.executable, "-m", "dispatch_server.cli", "serve", "--port", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            assert proc.stdout is not None
            lines = [proc.stdout.readline() for _ in range(5)]
            assert f"Database: created {database} at schema {head()}\n" in lines, lines
            assert any(line.startswith("Console: http://") for line in lines), lines
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    check_current(f"sqlite:///{database}")


def test_serve_refuses_a_revision_it_does_not_know(database_url: str, engines: Engines) -> None:
    """A database migrated by a newer release: `migrate` cannot help, and says so too."""
    with engines(writer=True).begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'from-the-future'"))
    run = cli("serve", "--port", "0", url=database_url)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "from-the-future" in run.stderr and "does not know" in run.stderr
    migrate = cli("migrate", url=database_url)
    assert migrate.returncode == 2 and "Traceback" not in migrate.stderr
    assert "from-the-future" in migrate.stderr


async def test_the_app_refuses_too(empty_database_url: str) -> None:
    """The app's lifespan checks as well, for whoever builds the app without the CLI."""
    with pytest.raises(SchemaNotCurrent, match="dispatch-server migrate"):
        async with running(settings_for(empty_database_url), ADMIN, system_clock):
            pass


def test_an_unreachable_database_is_one_line_not_a_traceback() -> None:
    url = f"postgresql+psycopg://dispatch:{SECRET}@127.0.0.1:1/dispatch"
    for args in (["migrate"], ["serve", "--port", "0"]):
        run = cli(*args, url=url)
        assert run.returncode == 2, run.stderr
        assert "cannot use the database postgresql+psycopg://dispatch:***@127.0.0.1:1" in (
            run.stderr
        )
        assert "Traceback" not in run.stderr and SECRET not in run.stdout + run.stderr


def test_a_database_made_before_migrations_is_adopted_only_on_request(
    empty_database_url: str,
) -> None:
    """Versions before migrations made their tables with create_all. Creating them again
    would fail halfway; `migrate --adopt` checks them against the models and records head."""
    engine = make_engine(empty_database_url, writer=True)
    try:
        SQLModel.metadata.create_all(engine)
    finally:
        engine.dispose()
    served = cli("serve", "--port", "0", url=empty_database_url)
    assert served.returncode == 2 and "`dispatch-server migrate --adopt`" in served.stderr
    with pytest.raises(NotMigrated, match="--adopt"):
        upgrade(empty_database_url)
    assert upgrade(empty_database_url, adopt=True) == Upgrade(None, head(), adopted=True)
    assert upgrade(empty_database_url) == Upgrade(head(), head())
    check_current(empty_database_url)


def test_a_pre_migration_database_that_differs_is_not_adopted(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url, writer=True)
    try:
        SQLModel.metadata.create_all(engine)
        with engine.begin() as conn:
            conn.execute(text("DROP INDEX ix_incident_status"))
    finally:
        engine.dispose()
    with pytest.raises(NotMigrated, match=r"does not match.*ix_incident_status"):
        upgrade(empty_database_url, adopt=True)
    with pytest.raises(SchemaNotCurrent, match="--adopt"):
        check_current(empty_database_url)


def test_a_database_behind_is_told_to_migrate() -> None:
    """With one revision no real database can be behind yet; the decision is pure, so it
    is checked for a server that would need 0002."""
    where = "postgresql+psycopg://dispatch:***@db/dispatch"
    told = refusal(where, "0001", "0002", known=True, predates=False)
    assert told is not None
    assert "at schema revision 0001 but this server needs 0002" in told
    assert "`dispatch-server migrate`" in told and where in told
    assert refusal(where, "0002", "0002", known=True, predates=False) is None


@pytest.mark.only_on("postgresql", "SQLite makes its file on first use")
def test_migrate_create_makes_a_missing_database(databases: Any) -> None:
    """`make cluster` starts from nothing: `migrate --create` makes the database first."""
    url = databases.empty(Path("."))
    databases.drop(url)  # a name the server does not have
    try:
        made = cli("migrate", "--create", url=url)
        assert made.returncode == 0, made.stderr
        assert "Database: created" in made.stdout and f"Schema: empty -> {head()}" in made.stdout
        again = cli("migrate", "--create", url=url)
        assert again.returncode == 0 and "created" not in again.stdout
    finally:
        databases.drop(url)
