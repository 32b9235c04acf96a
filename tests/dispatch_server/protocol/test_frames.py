"""What the server sends: one model per frame, on the wire exactly as docs/protocol.md says."""

from __future__ import annotations

import json
import typing
from typing import Any

import pytest
from pydantic import ValidationError

from dispatch_server.protocol import frames
from dispatch_server.protocol.frames import (
    SERVER_TO_HANDHELD,
    AlertAccepted,
    AlertCategoryRecorded,
    AlertUpdate,
    AssignmentFrame,
    AssignmentRecorded,
    AssignmentStatusRecorded,
    CheckInDue,
    CheckInRecorded,
    Coming,
    DrillFrame,
    ErrorFrame,
    RollCallAnswer,
    RollCallFrame,
    RollCallRecorded,
    ServerFrame,
    ShiftState,
    TeamCheck,
    Welcome,
)

AT = "2026-11-22T08:30:00.123Z"

# Each frame beside the dict the server sent before the frames were typed: same keys, same
# order, same values, nulls where there were nulls.
WIRE: list[tuple[ServerFrame, dict[str, Any]]] = [
    (
        Welcome(member_id=3, grid_id="G01", on_shift=False, server_time=AT, grid={"name_en": None}),
        {
            "type": "welcome",
            "server_time": AT,
            "member_id": 3,
            "grid_id": "G01",
            "on_shift": False,
            "grid": {"name_en": None},
        },
    ),
    (
        AlertAccepted(alert_id="5f0c", incident_id=7, duplicate=False),
        {
            "type": "alert_accepted",
            "alert_id": "5f0c",
            "incident_id": 7,
            "duplicate": False,
            "unattended": False,
        },
    ),
    (
        AlertUpdate(
            alert_id="5f0c",
            incident_id=7,
            status="responding",
            acknowledged=True,
            coming=[Coming(member_id=12, name="张医生")],
        ),
        {
            "type": "alert_update",
            "alert_id": "5f0c",
            "incident_id": 7,
            "status": "responding",
            "acknowledged": True,
            "coming": [
                {
                    "member_id": 12,
                    "name": "张医生",
                    "distance_m": None,
                    "arrived": False,
                    "done": False,
                }
            ],
            "security": "none",
        },
    ),
    (
        AlertUpdate(
            alert_id="5f0c",
            incident_id=7,
            status="resolved",
            acknowledged=True,
            coming=[Coming(member_id=12, name="张医生", distance_m=35.5, arrived=True, done=True)],
            disposition="true_alarm",
            category="medical",
            security="acknowledged",
        ),
        {
            "type": "alert_update",
            "alert_id": "5f0c",
            "incident_id": 7,
            "status": "resolved",
            "acknowledged": True,
            "coming": [
                {
                    "member_id": 12,
                    "name": "张医生",
                    "distance_m": 35.5,
                    "arrived": True,
                    "done": True,
                }
            ],
            "disposition": "true_alarm",
            "category": "medical",
            "security": "acknowledged",
        },
    ),
    (ShiftState(on_shift=True), {"type": "shift", "on_shift": True}),
    (
        AssignmentFrame(
            incident_id=7,
            grid_id="G03",
            lon=113.0405,
            lat=28.1305,
            category="medical",
            note=None,
            distance_m=None,
            opened_at=AT,
        ),
        {
            "type": "assignment",
            "incident_id": 7,
            "grid_id": "G03",
            "grid_name_zh": None,
            "grid_name_en": None,
            "reporter_name": None,
            "lon": 113.0405,
            "lat": 28.1305,
            "category": "medical",
            "note": None,
            "distance_m": None,
            "opened_at": AT,
        },
    ),
    (
        AssignmentFrame(
            incident_id=7,
            grid_id="G03",
            grid_name_zh="三号网格",
            grid_name_en="Grid 3",
            reporter_name="李四",
            lon=113.0,
            lat=28.0,
            category="fire",
            note="二楼",
            distance_m=184.2,
            opened_at=AT,
        ),
        {
            "type": "assignment",
            "incident_id": 7,
            "grid_id": "G03",
            "grid_name_zh": "三号网格",
            "grid_name_en": "Grid 3",
            "reporter_name": "李四",
            "lon": 113.0,
            "lat": 28.0,
            "category": "fire",
            "note": "二楼",
            "distance_m": 184.2,
            "opened_at": AT,
        },
    ),
    (
        AssignmentRecorded(incident_id=7, accept=False),
        {"type": "assignment_recorded", "incident_id": 7, "accept": False},
    ),
    (
        AssignmentStatusRecorded(incident_id=7, status="arrived"),
        {"type": "assignment_status_recorded", "incident_id": 7, "status": "arrived"},
    ),
    (
        AlertCategoryRecorded(alert_id="5f0c", incident_id=7, category="fire"),
        {
            "type": "alert_category_recorded",
            "alert_id": "5f0c",
            "incident_id": 7,
            "category": "fire",
        },
    ),
    (
        RollCallFrame(roll_call_id=2, deadline=AT),
        {"type": "roll_call", "roll_call_id": 2, "deadline": AT},
    ),
    (
        RollCallRecorded(roll_call_id=2, status=RollCallAnswer.NEED_HELP),
        {"type": "roll_call_recorded", "roll_call_id": 2, "status": "need_help"},
    ),
    (
        CheckInDue(state="warning", since=AT),
        {"type": "check_in_due", "state": "warning", "since": AT},
    ),
    (
        TeamCheck(reason="drift", state="warning", since=AT),
        {"type": "team_check", "reason": "drift", "state": "warning", "since": AT},
    ),
    (CheckInRecorded(at=AT), {"type": "check_in_recorded", "at": AT}),
    (DrillFrame(drill_id=3), {"type": "drill", "drill_id": 3}),
    (
        ErrorFrame(code="conflict", message="taken", ref_type="alert", alert_id="5f0c"),
        {
            "type": "error",
            "code": "conflict",
            "message": "taken",
            "ref_type": "alert",
            "alert_id": "5f0c",
        },
    ),
]


def _text(data: dict[str, Any]) -> str:
    # As dispatch_server.live.link.dumps writes every patrol frame.
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


@pytest.mark.parametrize(("frame", "expected"), WIRE, ids=lambda v: getattr(v, "type", ""))
def test_a_frame_goes_out_byte_for_byte_as_before(
    frame: ServerFrame, expected: dict[str, Any]
) -> None:
    assert _text(frame.wire()) == _text(expected)
    assert frame.wire_json() == _text(expected), "what the sockets send, written by pydantic"


@pytest.mark.parametrize(("frame", "expected"), WIRE, ids=lambda v: getattr(v, "type", ""))
def test_the_handheld_reads_back_what_the_server_sent(
    frame: ServerFrame, expected: dict[str, Any]
) -> None:
    assert SERVER_TO_HANDHELD.validate_json(_text(frame.wire())) == frame


def test_every_server_frame_is_in_the_one_union() -> None:
    members = typing.get_args(typing.get_args(frames.ToHandheld)[0])
    defined = {
        cls
        for cls in vars(frames).values()
        if isinstance(cls, type) and issubclass(cls, ServerFrame) and "type" in cls.model_fields
    }
    assert set(members) == defined
    assert {type(f) for f, _ in WIRE} == defined


def test_a_type_from_a_newer_server_is_told_apart_from_a_broken_frame() -> None:
    with pytest.raises(ValidationError) as unknown:
        SERVER_TO_HANDHELD.validate_json('{"type": "weather_warning", "level": 3}')
    assert [e["type"] for e in unknown.value.errors()] == ["union_tag_invalid"]
    with pytest.raises(ValidationError) as broken:
        SERVER_TO_HANDHELD.validate_json('{"type": "alert_accepted"}')
    assert "union_tag_invalid" not in {e["type"] for e in broken.value.errors()}


def test_fields_a_newer_server_adds_are_ignored() -> None:
    got = SERVER_TO_HANDHELD.validate_json('{"type": "check_in_recorded", "at": "x", "streak": 4}')
    assert got == CheckInRecorded(at="x")
