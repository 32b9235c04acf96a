"""The durable outbox: an alarm is written here before anything is sent, and stays until
the centre answers `alert_accepted`.

A local SQLite file (stdlib only, so a small device needs nothing more). WAL and
synchronous=FULL: the key press returns only once the alarm would survive a
power cut. Accepted alarms stay as history with their latest state, so the
screen can say what became of them; `pending()` is what must still be sent.

Each alarm keeps when its key was pressed (`pressed_at`, UTC ISO 8601 with
milliseconds, written once), and every send carries that same time, so the
centre counts an alarm's age from the press however long the link was down.
The file's schema version is SQLite's `user_version`; opening an older file
brings it up to date (`migrate`).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any


class AlarmState(StrEnum):
    QUEUED = "queued"  # written here, not yet sent on a live link
    SENT = "sent"  # sent, no answer yet
    ACCEPTED = "accepted"  # committed by the centre: it has an incident id
    ACKNOWLEDGED = "acknowledged"  # a duty volunteer has seen it
    DISPATCHED = "dispatched"  # responders called
    RESPONDING = "responding"  # someone is coming
    RESOLVED = "resolved"
    REJECTED = "rejected"  # the centre refused it for good (the reason is in `detail`)


NOT_YET_ACCEPTED = (AlarmState.QUEUED, AlarmState.SENT)
# An alarm the centre has taken, as its incident moves on (`alert_update`'s status).
TAKEN = (
    AlarmState.ACCEPTED,
    AlarmState.ACKNOWLEDGED,
    AlarmState.DISPATCHED,
    AlarmState.RESPONDING,
    AlarmState.RESOLVED,
)


# --- what may happen to an alarm: data, and one rule (no I/O) ------------------------


@dataclass(frozen=True)
class MarkSent:
    """It went out on a live link."""

    alert_id: str

    def columns(self) -> dict[str, Any]:
        return {}


@dataclass(frozen=True)
class Accept:
    """`alert_accepted`: the centre committed it."""

    alert_id: str
    incident_id: int
    detail: str | None = None

    def columns(self) -> dict[str, Any]:
        return {"incident_id": self.incident_id, "detail": self.detail}


@dataclass(frozen=True)
class Reject:
    """The centre refused it for good: never send it again."""

    alert_id: str
    reason: str

    def columns(self) -> dict[str, Any]:
        return {"detail": self.reason}


@dataclass(frozen=True)
class Progress:
    """`alert_update`: news of an alarm the centre has taken."""

    alert_id: str
    incident_id: int
    state: AlarmState  # one of TAKEN
    coming: tuple[str, ...] = ()
    disposition: str | None = None

    def columns(self) -> dict[str, Any]:
        return {
            "incident_id": self.incident_id,
            "coming": json.dumps(list(self.coming), ensure_ascii=False),
            "disposition": self.disposition,
        }


Change = MarkSent | Accept | Reject | Progress


def next_state(state: AlarmState, change: Change) -> AlarmState | None:
    """Where `change` takes an alarm in `state`; None: it does not apply, the alarm stays.

    A late echo never drags an alarm back: once taken it is never queued, sent or rejected
    again; rejected is final (it is never sent again); resolved is final but for news of the
    resolved incident itself (a stale `alert_update` from before the resolution is dropped)."""
    match change:
        case MarkSent():
            return AlarmState.SENT if state in NOT_YET_ACCEPTED else None
        case Accept():
            return AlarmState.ACCEPTED if state in NOT_YET_ACCEPTED else None
        case Reject():
            return AlarmState.REJECTED if state in NOT_YET_ACCEPTED else None
        case Progress(state=news):
            if news not in TAKEN or state is AlarmState.REJECTED:
                return None
            if state is AlarmState.RESOLVED and news is not AlarmState.RESOLVED:
                return None
            return news


SCHEMA = """
CREATE TABLE IF NOT EXISTS alarm (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id TEXT NOT NULL UNIQUE,
    created_at REAL NOT NULL,
    lon REAL, lat REAL, accuracy_m REAL,
    category TEXT NOT NULL,
    note TEXT,
    state TEXT NOT NULL,
    incident_id INTEGER,
    coming TEXT NOT NULL DEFAULT '[]',
    disposition TEXT,
    detail TEXT,
    updated_at REAL NOT NULL,
    pressed_at TEXT,
    drill_id INTEGER
)
"""
# 0: before `pressed_at` (files made before the press time was kept); 1: with it; 2: with
# `drill_id` (decision 50).
SCHEMA_VERSION = 2


def iso_utc(ts: float) -> str:
    """UTC ISO 8601 with milliseconds, as the centre writes its times."""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def migrate(db: sqlite3.Connection) -> None:
    """Make the file's schema current, in one transaction (a crash half-way leaves the file
    as it was). A file from before `pressed_at` gets the column, filled from `created_at`:
    the outbox wrote each alarm at its key press, so that is when it was pressed."""
    db.execute("BEGIN IMMEDIATE")
    try:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version < SCHEMA_VERSION:
            db.execute(SCHEMA)
            columns = {row[1] for row in db.execute("PRAGMA table_info(alarm)")}
            if "pressed_at" not in columns:
                db.execute("ALTER TABLE alarm ADD COLUMN pressed_at TEXT")
            if "drill_id" not in columns:
                db.execute("ALTER TABLE alarm ADD COLUMN drill_id INTEGER")
            rows = db.execute("SELECT seq, created_at FROM alarm WHERE pressed_at IS NULL")
            db.executemany(
                "UPDATE alarm SET pressed_at = ? WHERE seq = ?",
                [(iso_utc(created_at), seq) for seq, created_at in rows.fetchall()],
            )
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


@dataclass(frozen=True)
class Alarm:
    alert_id: str
    created_at: float
    category: str
    state: AlarmState
    lon: float | None = None
    lat: float | None = None
    accuracy_m: float | None = None
    note: str | None = None
    incident_id: int | None = None
    coming: list[str] = field(default_factory=list)
    disposition: str | None = None
    detail: str | None = None
    # When the key was pressed: UTC ISO 8601 with milliseconds, the same on every send.
    pressed_at: str | None = None
    # The drill this press answers (the centre's `drill` frame), if any.
    drill_id: int | None = None

    def frame(self) -> dict[str, Any]:
        """The `alert` frame: the same alert_id on every retry, so it opens one incident."""
        out: dict[str, Any] = {
            "type": "alert",
            "alert_id": self.alert_id,
            "category": self.category,
        }
        if self.lon is not None and self.lat is not None:
            out.update(lon=self.lon, lat=self.lat)
            if self.accuracy_m is not None:
                out["accuracy_m"] = self.accuracy_m
        if self.note:
            out["note"] = self.note
        if self.pressed_at is not None:
            out["pressed_at"] = self.pressed_at
        if self.drill_id is not None:
            out["drill_id"] = self.drill_id
        return out


class Outbox:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        migrate(self._db)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def add(
        self,
        category: str = "unknown",
        note: str | None = None,
        fix: tuple[float, float, float | None] | None = None,
        pressed_at: float | None = None,
        drill_id: int | None = None,
    ) -> Alarm:
        """Write a new alarm durably; only then may anyone say it is queued. `pressed_at`:
        when the key was pressed (seconds since the epoch; default now); `drill_id`: the
        drill it answers."""
        now = time.time()
        lon, lat, acc = fix if fix is not None else (None, None, None)
        pressed = iso_utc(now if pressed_at is None else pressed_at)
        alarm = Alarm(str(uuid.uuid4()), now, category, AlarmState.QUEUED, lon, lat, acc, note)
        alarm = replace(alarm, pressed_at=pressed, drill_id=drill_id)
        row = (
            alarm.alert_id,
            now,
            lon,
            lat,
            acc,
            category,
            note,
            alarm.state.value,
            now,
            pressed,
            drill_id,
        )
        with self._lock:
            self._db.execute(
                "INSERT INTO alarm (alert_id, created_at, lon, lat, accuracy_m, category, note,"
                " state, updated_at, pressed_at, drill_id)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                row,
            )
        return alarm

    def pending(self) -> list[Alarm]:
        """Alarms the centre has not accepted yet, oldest first: the order they are replayed in."""
        marks = ",".join("?" * len(NOT_YET_ACCEPTED))
        return self._select(f"state IN ({marks}) ORDER BY seq", [s.value for s in NOT_YET_ACCEPTED])

    def recent(self, limit: int = 20) -> list[Alarm]:
        return self._select("1 ORDER BY seq DESC LIMIT ?", [limit])

    def get(self, alert_id: str) -> Alarm | None:
        found = self._select("alert_id = ?", [alert_id])
        return found[0] if found else None

    def mark_sent(self, alert_id: str) -> None:
        self.apply(MarkSent(alert_id))

    def accepted(self, alert_id: str, incident_id: int, detail: str | None = None) -> None:
        self.apply(Accept(alert_id, incident_id, detail))

    def rejected(self, alert_id: str, reason: str) -> None:
        self.apply(Reject(alert_id, reason))

    def progressed(
        self,
        alert_id: str,
        incident_id: int,
        state: AlarmState,
        coming: list[str],
        disposition: str | None,
    ) -> None:
        """The centre's news about an accepted alarm (`alert_update`)."""
        self.apply(Progress(alert_id, incident_id, state, tuple(coming), disposition))

    def apply(self, change: Change) -> bool:
        """Carry out one change, as `next_state` allows, in one statement: True if it applied.

        The target state never depends on the state it comes from, so the rule becomes a
        guard on the current state and nothing can slip between a read and the write."""
        moves = {s: to for s in AlarmState if (to := next_state(s, change)) is not None}
        if not moves:
            return False
        (target,) = set(moves.values())
        changes = {"state": target.value, **change.columns()}
        columns = ", ".join(f"{name} = ?" for name in changes)
        marks = ",".join("?" * len(moves))
        sql = (
            f"UPDATE alarm SET {columns}, updated_at = ? WHERE alert_id = ? AND state IN ({marks})"
        )
        params = [*changes.values(), time.time(), change.alert_id, *(s.value for s in moves)]
        with self._lock:
            return self._db.execute(sql, params).rowcount > 0

    def _select(self, where: str, params: list[Any]) -> list[Alarm]:
        with self._lock:
            rows = self._db.execute(f"SELECT * FROM alarm WHERE {where}", params).fetchall()
        return [
            Alarm(
                alert_id=r["alert_id"],
                created_at=r["created_at"],
                category=r["category"],
                state=AlarmState(r["state"]),
                lon=r["lon"],
                lat=r["lat"],
                accuracy_m=r["accuracy_m"],
                note=r["note"],
                incident_id=r["incident_id"],
                coming=json.loads(r["coming"]),
                disposition=r["disposition"],
                detail=r["detail"],
                pressed_at=r["pressed_at"],
                drill_id=r["drill_id"],
            )
            for r in rows
        ]
