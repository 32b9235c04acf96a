"""Engines: the only place that knows which database it is.

SQLite gets WAL (readers never block the writer) and synchronous=FULL: an
acknowledged alarm must survive a power cut, not just a process crash; group
commit pays for the fsync. pysqlite's own transaction handling is switched off
so that SQLAlchemy's BEGIN/SAVEPOINT are what SQLite sees (SQLAlchemy docs,
"Serializable isolation / Savepoints / Transactional DDL"), and the writer
begins with BEGIN IMMEDIATE so it never has to upgrade a read lock.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL; None for PostgreSQL or an in-memory database."""
    if not is_sqlite(url):
        return None
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def make_engine(url: str, *, writer: bool = False) -> Engine:
    """The writer's engine holds one connection; readers get a small pool."""
    if not is_sqlite(url):
        return _server_engine(url, writer=writer)
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": 30},
        pool_size=1 if writer else 8,
    )
    begin = "BEGIN IMMEDIATE" if writer else "BEGIN"

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        if writer:
            # Checkpoints run in Checkpointer's thread, not inside an alarm's commit.
            cur.execute("PRAGMA wal_autocheckpoint=0")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql(begin)

    return engine


def create_database(url: str) -> bool:
    """PostgreSQL: create the URL's database if the server lacks it (True if it did), as
    its owner would with `createdb`; connects to the server's `postgres` database to do it.
    SQLite makes its file on first use, so there is nothing to do."""
    if is_sqlite(url):
        return False
    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            found = conn.exec_driver_sql(
                "SELECT 1 FROM pg_database WHERE datname = %(name)s", {"name": target.database}
            ).first()
            if found:
                return False
            quoted = conn.dialect.identifier_preparer.quote(str(target.database))
            conn.exec_driver_sql(f"CREATE DATABASE {quoted}")
            return True
    finally:
        admin.dispose()


# pg_advisory_xact_lock key for "a batch is being written": every instance's writer takes it
# first in each transaction, so batches commit one at a time across the cluster.
WRITE_LOCK_KEY = 0x44495350_57524954 & 0x7FFFFFFFFFFFFFFF


def write_lock_sql(url: str) -> str | None:
    """What the writer runs first in every transaction; None where one process owns the
    database (SQLite's BEGIN IMMEDIATE already excludes every other writer)."""
    return None if is_sqlite(url) else f"SELECT pg_advisory_xact_lock({WRITE_LOCK_KEY})"


def _server_engine(url: str, *, writer: bool) -> Engine:
    """PostgreSQL (psycopg 3, used synchronously from the writer's and readers' threads).

    Readers run REPEATABLE READ: a read of several statements (an incident list and the
    `last_seq` a console resumes from) then sees one snapshot, as a SQLite read transaction
    does. Under PostgreSQL's default READ COMMITTED each statement sees the latest commits:
    an incident list could include an event committed after the `last_seq` it reports, and
    a console resuming from that seq would be sent it again. Read-only transactions at that
    level never fail to serialize, and read_only makes a stray write an error.
    The writer stays READ COMMITTED: it is the only writer of its instance, and it must see
    what others committed (the alert_id check in services/intake.py).
    """
    if writer:
        return create_engine(url, pool_size=1, pool_pre_ping=True)
    return create_engine(
        url,
        pool_size=8,
        pool_pre_ping=True,
        isolation_level="REPEATABLE READ",
        execution_options={"postgresql_readonly": True},
    )


class Checkpointer:
    """SQLite only: copies the WAL back into the database from a thread of its own.

    SQLite's automatic checkpoint runs inside whichever commit crosses the
    threshold, which put a 1.3 ms p99 on alarm commits (docs/performance.md).
    PASSIVE never blocks the writer; a last TRUNCATE on stop leaves a small WAL.
    """

    def __init__(
        self,
        engine: Engine,
        every_s: float = 1.0,
        on_done: Callable[[BaseException | None], None] = lambda _: None,
    ) -> None:
        """`on_done(failure)`: from the checkpoint thread, after each checkpoint."""
        self._engine = engine
        self._every_s = every_s
        self._on_done = on_done
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._main, name="wal-checkpoint", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join()
        self._thread = None
        self._checkpoint("TRUNCATE")

    def _main(self) -> None:
        while not self._stop.wait(self._every_s):
            self._checkpoint("PASSIVE")

    def _checkpoint(self, mode: str) -> None:
        try:
            with self._engine.connect() as conn:
                conn.exec_driver_sql(f"PRAGMA wal_checkpoint({mode})")
        except Exception as exc:  # logged, shown, retried: a late checkpoint grows the WAL
            log.exception("WAL checkpoint (%s) failed", mode)
            self._on_done(exc)
            return
        self._on_done(None)
