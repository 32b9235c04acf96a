"""Backups of the embedded SQLite database, taken while the server serves, and restores.

`backup` uses SQLite's online backup API (sqlite.org/backup.html) rather than copying the
file: a copy of `dispatch.sqlite3` without its `-wal` misses every alarm not yet
checkpointed, and a copy made while the writer commits can be torn. The API copies pages
in steps, with a short pause between them so the log writer is never kept waiting (in WAL
mode a reader never blocks it anyway). A commit by the server between two steps makes
SQLite start the copy again; under a steady stream of alarms a long paged copy might never
finish, so after a few restarts the rest is copied in one step: one read transaction, a
snapshot of one instant, which in WAL mode still does not block the writer.

Every copy is checked before it is trusted, on the way out and on the way back in:
`PRAGMA integrity_check`, and a schema revision this code knows (so not newer than it).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from dispatch_server.store import inuse
from dispatch_server.store.engine import sqlite_file
from dispatch_server.store.schema import head, revisions, shown

OPERATIONS = "docs/operations.md, section Backups"
STEP_PAGES = 256  # 1 MiB at SQLite's default 4 KiB page: a step takes about a millisecond
STEP_PAUSE_S = 0.005
RESTARTS = 5  # paged copies restarted by the writer's commits before one single step


LOG_SQL = "SELECT coalesce(max(seq), 0), count(*) FROM event"
INCIDENTS_SQL = "SELECT count(*) FROM incident"


class BackupRefused(RuntimeError):
    """Nothing was written; the message says why and what to do instead."""


@dataclass(frozen=True)
class Contents:
    """What a checked database file holds, as the commands print it."""

    revision: str
    behind: bool  # an older revision than this code's: `migrate` after restoring it
    last_seq: int
    events: int
    incidents: int
    size_bytes: int

    def lines(self) -> list[str]:
        older = " (older: run migrate after restoring)" if self.behind else ""
        schema = f"{self.revision}{older}"
        return [
            f"Schema: {schema}",
            f"Log: {self.events} events, last seq {self.last_seq}",
            f"Incidents: {self.incidents}",
            f"Size: {self.size_bytes} bytes",
        ]


def database_file(url: str) -> Path:
    """The SQLite file behind `url`; PostgreSQL and in-memory databases are refused."""
    path = sqlite_file(url)
    if path is None:
        raise BackupRefused(
            f"{shown(url)} is not an embedded SQLite file; back up PostgreSQL with pg_dump "
            f"and restore it with pg_restore (see {OPERATIONS})"
        )
    return path


def inspect(path: Path) -> Contents:
    """Check a database file (a backup, or one to be backed up) and say what it holds;
    BackupRefused when it is not a sound database at a revision this code knows."""
    if not path.is_file():
        raise BackupRefused(f"there is no file at {path}")
    try:
        uri = f"{path.resolve().as_uri()}?mode=ro"
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as db:
            problems = [row[0] for row in db.execute("PRAGMA integrity_check")]
            if problems != ["ok"]:
                raise BackupRefused(f"{path} is damaged: {'; '.join(problems[:5])}")
            revision = _revision(db, path)
            last_seq, events = db.execute(LOG_SQL).fetchone()
            (incidents,) = db.execute(INCIDENTS_SQL).fetchone()
    except sqlite3.DatabaseError as exc:
        raise BackupRefused(f"{path} is not a usable dispatch database: {exc}") from exc
    size = path.stat().st_size
    return Contents(revision, revision != head(), int(last_seq), int(events), int(incidents), size)


def _revision(db: sqlite3.Connection, path: Path) -> str:
    """The file's schema revision, if this code knows it (one it could migrate from)."""
    try:
        row = db.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError as exc:
        raise BackupRefused(f"{path} has no schema revision: not a dispatch database") from exc
    if row is None:
        raise BackupRefused(f"{path} has no schema revision: not a dispatch database")
    revision = str(row[0])
    if revision not in {script.revision for script in revisions().walk_revisions()}:
        raise BackupRefused(
            f"{path} is at schema revision {revision}, which this version does not know "
            f"(it needs {head()}): a newer version made it; restore it with that version"
        )
    return revision


class _Restarted(Exception):
    """The paged copy was restarted too often by the server's commits."""


def _copy(source: sqlite3.Connection, target: sqlite3.Connection, pages: int) -> int:
    """Page by page with pauses; after RESTARTS restarts, the rest in one step. Returns how
    often the server's commits restarted the copy."""
    seen = {"remaining": -1, "restarts": 0}

    def progress(_status: int, remaining: int, _total: int) -> None:
        if seen["remaining"] >= 0 and remaining > seen["remaining"]:
            seen["restarts"] += 1
            if seen["restarts"] >= RESTARTS:
                raise _Restarted
        seen["remaining"] = remaining
        if remaining:
            # Python's `sleep` argument only waits after a busy step; this is the pause
            # between steps that lets the server's writer commit.
            time.sleep(STEP_PAUSE_S)

    try:
        source.backup(target, pages=pages, progress=progress)
    except _Restarted:
        source.backup(target, pages=-1)
    return seen["restarts"]


def backup(
    url: str, to: Path, *, force: bool = False, pages: int = STEP_PAGES
) -> tuple[Contents, int]:
    """Copy the database of `url` into the file `to`, check the copy, and say what it holds.
    The copy is written beside `to` and renamed over it only once checked, so a failure
    leaves no half backup (and an old one where it was). Returns what the copy holds and
    how often the server's commits restarted it."""
    source = database_file(url)
    if to.resolve() == source.resolve():
        raise BackupRefused(f"{to} is the database itself; write the backup somewhere else")
    if to.exists() and not force:
        raise BackupRefused(f"{to} exists; choose a new name, or add --force to replace it")
    if not source.is_file():
        raise BackupRefused(f"there is no database at {source} ({shown(url)})")
    to.parent.mkdir(parents=True, exist_ok=True)
    partial = to.with_name(f".{to.name}.partial-{os.getpid()}")
    partial.unlink(missing_ok=True)
    try:
        with (
            contextlib.closing(sqlite3.connect(source, timeout=30)) as src,
            contextlib.closing(sqlite3.connect(partial)) as dst,
        ):
            restarts = _copy(src, dst, pages)
            # One self-contained file, whatever mode the server's database is in.
            dst.execute("PRAGMA journal_mode=DELETE")
        contents = inspect(partial)
        with open(partial, "rb") as f:
            os.fsync(f.fileno())
        os.replace(partial, to)
    finally:
        partial.unlink(missing_ok=True)
    return contents, restarts


def restore(backup_file: Path, url: str, *, force: bool = False) -> Contents:
    """Copy a checked backup into the database of `url`, which no server may be using
    unless `force` (a server left running would go on from what it had in memory)."""
    target = database_file(url)
    if backup_file.resolve() == target.resolve():
        raise BackupRefused(f"{backup_file} is the database itself, not a backup of it")
    contents = inspect(backup_file)
    with inuse.exclusive(target) as alone:
        if not alone and not force:
            raise BackupRefused(
                f"a dispatch server is using {target} ({inuse.lock_path(target)} is locked); "
                "stop it first, or add --force to overwrite the live database"
            )
        uri = f"{backup_file.resolve().as_uri()}?mode=ro"
        with (
            contextlib.closing(sqlite3.connect(uri, uri=True)) as src,
            contextlib.closing(sqlite3.connect(target, timeout=30)) as dst,
        ):
            src.backup(dst)  # one step: SQLite locks the target for the whole copy
    return contents
