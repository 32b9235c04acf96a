"""Hand-written SQL for the hot path: alarm intake and appending to the log.

Measured (docs/performance.md): SQLAlchemy Core spends hundreds of microseconds
per statement in Python (a SAVEPOINT is compiled afresh every time) where the
driver takes a few; an alarm is several statements. These few statements run
on the raw DBAPI cursor of the writer's own connection, inside the transaction
SQLAlchemy began. The SQL is plain and portable (INSERT ... RETURNING works on
SQLite 3.35+ and PostgreSQL); only the placeholder style follows the driver.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any


def _placeholders(sql: str, paramstyle: str) -> str:
    """Statements are written with :name; pyformat drivers (psycopg) want %(name)s."""
    if paramstyle in ("named", "qmark"):  # sqlite3 takes :name whatever it advertises
        return sql
    if paramstyle == "pyformat":
        return re.sub(r":(\w+)", r"%(\1)s", sql)
    raise ValueError(f"no hot-path SQL for paramstyle {paramstyle!r}")


def to_json(value: Any) -> str:
    """As SQLAlchemy's JSON type writes it, so its reads give the same value back. NaN and
    infinities are refused: they are not JSON (PostgreSQL rejects them, browsers cannot
    parse them), so an event carrying one fails its own job instead of entering the log."""
    return json.dumps(value, allow_nan=False)


@dataclass(frozen=True)
class HotSql:
    find_alert: str
    insert_incident: str
    insert_event: str
    set_last_seq: str
    events_after: str

    @classmethod
    def for_paramstyle(cls, paramstyle: str) -> HotSql:
        def q(sql: str) -> str:
            return _placeholders(" ".join(sql.split()), paramstyle)

        return cls(
            find_alert=q("SELECT id, reporter_id FROM incident WHERE alert_id = :alert_id"),
            # ON CONFLICT: a retry racing its first try (committed by another writer after
            # find_alert looked) waits for it and gets no row back instead of an error that
            # would abort PostgreSQL's transaction. SQLite 3.35+ and PostgreSQL 9.5+.
            insert_incident=q(
                """INSERT INTO incident (alert_id, reporter_id, grid_id, lon, lat, category,
                   status, opened_at, last_seq)
                   VALUES (:alert_id, :reporter_id, :grid_id, :lon, :lat, :category,
                   :status, :opened_at, 0)
                   ON CONFLICT (alert_id) DO NOTHING RETURNING id"""
            ),
            # seq is the log's own max + 1, taken inside the writer's transaction (under the
            # cluster-wide write lock on PostgreSQL): a write that rolls back takes no number,
            # so the log has no gaps, and numbers follow commit order (decision 25). The
            # column's own autoincrement/SERIAL default is never used.
            insert_event=q(
                """INSERT INTO event (seq, incident_id, roll_call_id, type, at, actor, data)
                   VALUES ((SELECT COALESCE(MAX(seq), 0) + 1 FROM event),
                   :incident_id, :roll_call_id, :type, :at, :actor, :data) RETURNING seq"""
            ),
            set_last_seq=q("UPDATE incident SET last_seq = :seq WHERE id = :id"),
            events_after=q(
                """SELECT seq, type, at, actor, incident_id, data, roll_call_id FROM event
                   WHERE seq > :seq ORDER BY seq"""
            ),
        )
