"""The outbox on a real SQLite file: order, survival across reopen, states that only move on."""

from __future__ import annotations

from pathlib import Path

from patrol_client.outbox import AlarmState, Outbox


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
