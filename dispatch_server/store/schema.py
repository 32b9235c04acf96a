"""The schema's revision: migrate a database to head, and refuse one that is not there.

Alembic's migrations (`store/migrations/`) are the only way the schema is made or
changed, on SQLite and PostgreSQL alike (docs/decisions.md). The server never creates
or alters tables itself: a server that quietly ran `create_all` on start would paper
over a missed migration until an alarm hit a missing column. So `serve` checks the
revision first and, when it is not the one this code was written for, says what to run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

from dispatch_server.store import tables  # noqa: F401  (registers the tables)
from dispatch_server.store.engine import is_sqlite, make_engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
MIGRATE = "dispatch-server migrate"


class SchemaNotCurrent(RuntimeError):
    """The database's schema is not the revision this code needs; the message says why
    and what to run."""


def shown(url: str) -> str:
    """The URL as it may be printed or logged: backend, host and database, no password."""
    return make_url(url).render_as_string(hide_password=True)


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration, built here rather than read from an .ini, so an installed
    package finds its migrations; `connection` is handed to env.py to migrate on."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def revisions() -> ScriptDirectory:
    """The revision scripts shipped with this version."""
    return ScriptDirectory.from_config(alembic_config())


def head() -> str:
    """The revision this code needs (one line of history: a second head is a bug)."""
    revision = revisions().get_current_head()
    if revision is None:
        raise RuntimeError(f"no migrations under {MIGRATIONS}")
    return revision


def current(conn: Connection) -> str | None:
    """The database's revision; None for a database no migration has touched."""
    return MigrationContext.configure(conn).get_current_revision()


@dataclass(frozen=True)
class Upgrade:
    before: str | None
    after: str
    adopted: bool = False  # made before migrations, checked and recorded

    def steps(self) -> list[str]:
        """The revisions this upgrade applied, oldest first, each with its title."""
        if self.before == self.after or self.adopted:
            return []
        applied = revisions().iterate_revisions(self.after, self.before or "base")
        return [f"{r.revision} {r.doc}" for r in reversed(list(applied)) if r is not None]


class NotMigrated(RuntimeError):
    """The database has the server's tables but no revision: it predates migrations."""


def _adopt(conn: Connection, where: str) -> None:
    """Record a database made before migrations (by `create_all`) as being at head, if its
    tables match the models exactly; otherwise say what differs and change nothing."""
    context = MigrationContext.configure(conn, opts={"compare_type": True})
    differences = compare_metadata(context, SQLModel.metadata)
    if differences:
        shown_diffs = "; ".join(str(d) for d in differences[:5])
        raise NotMigrated(
            f"the database {where} predates migrations and does not match this version's "
            f"tables, so it cannot be adopted ({len(differences)} differences: {shown_diffs})"
        )
    command.stamp(alembic_config(conn), "head")


def upgrade(url: str, *, adopt: bool = False) -> Upgrade:
    """Bring the database to head, in one transaction: it ends at head or where it was.

    A database with our tables and no revision was made by a version before migrations
    (its `create_all`); creating the tables again would fail halfway, so it is refused
    unless `adopt` asks to check it against the models and record it at head."""
    engine = make_engine(url, writer=True)
    try:
        with engine.connect() as conn:
            sqlite = conn.dialect.name == "sqlite"
            if sqlite:
                # Batch mode rebuilds a table by copy, rename and drop; with foreign keys
                # enforced, dropping the old table would fail or cascade. SQLite only honours
                # this pragma outside a transaction (sqlite.org/lang_altertable.html, "Making
                # Other Kinds Of Table Schema Changes"), so it goes before the BEGIN; the
                # foreign_key_check below stands in for enforcement during the upgrade.
                raw = conn.connection.dbapi_connection
                assert raw is not None
                raw.cursor().execute("PRAGMA foreign_keys=OFF")
            with conn.begin():
                before = current(conn)
                adopted = before is None and _predates_migrations(conn)
                if adopted:
                    if not adopt:
                        raise NotMigrated(
                            f"the database {shown(url)} has tables but no schema revision: a "
                            f"version before migrations made it. Run `{MIGRATE} --adopt` to "
                            "check it against this version's tables and record it"
                        )
                    _adopt(conn, shown(url))
                command.upgrade(alembic_config(conn), "head")
                after = current(conn)
                if sqlite:
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
                    if broken:
                        raise RuntimeError(f"the upgrade broke foreign keys: {broken[:5]}")
    finally:
        engine.dispose()
    assert after is not None
    return Upgrade(before, after, adopted)


def _predates_migrations(conn: Connection) -> bool:
    """Our tables without a revision: `create_all` made them, before migrations existed."""
    return inspect(conn).has_table("event")


def missing_sqlite_file(url: str) -> Path | None:
    """The file of an embedded SQLite database that does not exist yet, else None.

    Such a database cannot be behind or hold anyone's data, so `serve` makes it at head
    (decision 42) instead of asking for `migrate`; an existing file, even an empty one, and
    every PostgreSQL database still go through `check_current`'s refusal."""
    database = make_url(url).database
    if not is_sqlite(url) or not database or database == ":memory:":
        return None
    path = Path(database)
    return None if path.exists() else path


def check_current(url: str) -> None:
    """Raise SchemaNotCurrent unless the database is at head; never creates or changes it."""
    want = head()
    where = shown(url)
    if (missing := missing_sqlite_file(url)) is not None:
        raise SchemaNotCurrent(
            f"there is no database file at {missing} ({where}); "
            f"run `{MIGRATE}` with the same DISPATCH_DATABASE_URL to create it"
        )
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            have = current(conn)
            predates = have is None and _predates_migrations(conn)
    finally:
        engine.dispose()
    problem = refusal(where, have, want, known=have is not None and _known(have), predates=predates)
    if problem is not None:
        raise SchemaNotCurrent(problem)


def refusal(where: str, have: str | None, want: str, *, known: bool, predates: bool) -> str | None:
    """What is wrong with a database at revision `have` for a server that needs `want`, and
    what to run; None when nothing is. (`known`: `have` is one of this version's revisions,
    so the database is behind; `predates`: tables without a revision.)"""
    if have == want:
        return None
    if predates:
        return (
            f"the database {where} was made before schema migrations existed; run "
            f"`{MIGRATE} --adopt` with the same DISPATCH_DATABASE_URL to check its tables "
            "against this version and record it"
        )
    if have is None:
        return (
            f"the database {where} has no schema yet (empty, or never migrated); "
            f"run `{MIGRATE}` with the same DISPATCH_DATABASE_URL to create it"
        )
    if known:
        return (
            f"the database {where} is at schema revision {have} but this server needs {want}; "
            f"back it up, then run `{MIGRATE}` with the same DISPATCH_DATABASE_URL"
        )
    return (
        f"the database {where} is at schema revision {have}, which this server does not know "
        f"(a newer version migrated it?); this server needs {want}. Run the newer version, "
        "or restore a backup taken before it migrated"
    )


def _known(revision: str) -> bool:
    return any(script.revision == revision for script in revisions().walk_revisions())
