"""The outbox on a real SQLite file: order, survival across reopen, states that only move on,
the press time kept with each alarm, and a file from before it brought up to date."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

import pytest

from patrol_client.outbox import SCHEMA_VERSION, AlarmState, Outbox


def test_pending_in_order_and_survives_reopen(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.sqlite3")
    ids = [box.add("fire", "smoke", (113.0, 28.1, 5.0)).alert_id for _ in range(3)]
    box.close()
    again = Outbox(tmp_path / "o.sqlite3")
    assert [a.alert_id for a in again.pending()] == ids
    first = again.pending()[0]
    assert first.frame() == {
        "type": "alert",
        "alert_id": ids[0],
        "category": "fire",
        "lon": 113.0,
        "lat": 28.1,
        "accuracy_m": 5.0,
        "note": "smoke",
        "pressed_at": first.pressed_at,
    }


def test_accepted_leaves_pending_and_late_echoes_do_not_drag_it_back(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.sqlite3")
    a, b = box.add(), box.add()
    box.mark_sent(a.alert_id)
    box.accepted(a.alert_id, 17)
    box.mark_sent(a.alert_id)  # a resend's echo after the accept
    assert [x.alert_id for x in box.pending()] == [b.alert_id]
    got = box.get(a.alert_id)
    assert got is not None and got.state is AlarmState.ACCEPTED and got.incident_id == 17
    box.progressed(a.alert_id, 17, AlarmState.RESPONDING, ["张医生"], None)
    got = box.get(a.alert_id)
    assert got is not None and got.coming == ["张医生"] and got.state is AlarmState.RESPONDING


def test_rejected_is_not_retried(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.sqlite3")
    a = box.add()
    box.rejected(a.alert_id, "alert_id belongs to another member's alarm")
    assert box.pending() == []
    got = box.get(a.alert_id)
    assert got is not None and got.state is AlarmState.REJECTED and got.detail


def test_an_alarm_without_fix_sends_no_coordinates(tmp_path: Path) -> None:
    frame = Outbox(tmp_path / "o.sqlite3").add().frame()
    assert "lon" not in frame and "lat" not in frame and frame["category"] == "unknown"


def test_accepted_can_carry_what_the_centre_said(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.sqlite3")
    a = box.add()
    box.accepted(a.alert_id, 3, "unattended")
    got = box.get(a.alert_id)
    assert got is not None and got.detail == "unattended" and got.incident_id == 3


def test_the_press_time_is_kept_across_reopen_and_sent_the_same_every_time(
    tmp_path: Path,
) -> None:
    box = Outbox(tmp_path / "o.sqlite3")
    pressed = 1_790_000_000.1239
    a = box.add("medical", pressed_at=pressed)
    assert a.pressed_at == "2026-09-21T14:13:20.123Z", "UTC, milliseconds, as the centre writes"
    box.mark_sent(a.alert_id)  # sent once, no answer: the link dropped
    box.close()
    again = Outbox(tmp_path / "o.sqlite3")
    [kept] = again.pending()
    assert kept.state is AlarmState.SENT and kept.pressed_at == a.pressed_at
    assert kept.frame()["pressed_at"] == kept.frame()["pressed_at"] == a.pressed_at
    assert kept.frame() == a.frame(), "a retry is the same frame, press time and all"
    # Without a time given, the press is when the outbox writes it.
    b = again.add()
    assert b.pressed_at is not None
    assert datetime.fromisoformat(b.pressed_at).timestamp() == pytest.approx(b.created_at, abs=1e-3)


# The outbox as the handheld wrote it before the press time was kept (user_version 0).
OLD_SCHEMA = """
CREATE TABLE alarm (
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
    updated_at REAL NOT NULL
)
"""


def test_an_outbox_from_before_the_press_time_is_migrated_and_keeps_its_alarms(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute(OLD_SCHEMA)
        db.executemany(
            "INSERT INTO alarm (alert_id, created_at, category, state, incident_id, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [
                (
                    "5f0c7e2a-0000-4000-8000-000000000001",
                    1_790_000_000.5,
                    "fire",
                    "queued",
                    None,
                    1,
                ),
                (
                    "5f0c7e2a-0000-4000-8000-000000000002",
                    1_790_000_100.0,
                    "theft",
                    "accepted",
                    9,
                    2,
                ),
            ],
        )
    db.close()
    box = Outbox(path)
    [waiting] = box.pending()
    # Written at the key press, so the alarm was pressed when it was written.
    assert waiting.pressed_at == "2026-09-21T14:13:20.500Z"
    assert waiting.frame()["pressed_at"] == waiting.pressed_at
    done = box.get("5f0c7e2a-0000-4000-8000-000000000002")
    assert done is not None and done.incident_id == 9 and done.pressed_at is not None
    new = box.add()
    assert [a.alert_id for a in box.pending()] == [waiting.alert_id, new.alert_id]
    box.close()
    # Opened again: nothing more to do, nothing changed.
    again = Outbox(path)
    assert [a.pressed_at for a in again.recent()] == [
        new.pressed_at,
        done.pressed_at,
        waiting.pressed_at,
    ]
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    db.close()
    # The drill column came too (decision 50): old alarms answer no drill.
    assert all(a.drill_id is None for a in again.recent())
    drilled = again.add(drill_id=4)
    assert again.get(drilled.alert_id) == drilled and drilled.frame()["drill_id"] == 4
