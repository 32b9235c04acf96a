"""Engines: what reads and writes may rely on, on every backend."""

from __future__ import annotations

import pytest
from sqlalchemy import insert

from dispatch_server.store.log import events_after, last_seq
from dispatch_server.store.tables import EVENT
from tests.dispatch_server.conftest import Engines


def test_a_read_sees_one_snapshot(engines: Engines) -> None:
    """A read of several statements (the incident list and the `last_seq` a console resumes
    from) must not see a commit land between them: SQLite's read transaction gives this, and
    PostgreSQL's default READ COMMITTED would not."""
    reader, writer = engines(), engines(writer=True)
    event = {"type": "note_added", "at": 1.0, "actor": "test:1", "data": {}}
    with reader.connect() as conn:
        head = last_seq(conn)
        with writer.begin() as w:
            w.execute(insert(EVENT), event)
        assert events_after(conn, head, 10) == []
    with reader.connect() as conn:
        assert [e.seq for e in events_after(conn, head, 10)] == [head + 1]


@pytest.mark.only_on("sqlite", "WAL, synchronous and checkpoints are SQLite's")
def test_the_sqlite_writer_commits_durably_and_leaves_checkpoints_to_their_thread(
    engines: Engines,
) -> None:
    """decisions.md 2 and 15: WAL, synchronous=FULL, foreign keys on, no autocheckpoint."""
    with engines(writer=True).connect() as conn:
        pragma = {
            name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "synchronous", "foreign_keys", "wal_autocheckpoint")
        }
    assert pragma == {
        "journal_mode": "wal",
        "synchronous": 2,
        "foreign_keys": 1,
        "wal_autocheckpoint": 0,
    }
