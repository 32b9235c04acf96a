"""Frame validation as a pure function: each fault named, good frames typed."""

from __future__ import annotations

import uuid

import pytest

from dispatch_server.protocol.codes import ErrorCode
from dispatch_server.protocol.frames import CONSOLE_FRAMES, PATROL_FRAMES, Alert, Category, Hello
from dispatch_server.protocol.parse import FrameError, parse_frame


def test_alert_parses_with_defaults() -> None:
    alert_id = uuid.uuid4()
    frame = parse_frame(PATROL_FRAMES, f'{{"type":"alert","alert_id":"{alert_id}","extra":1}}')
    assert isinstance(frame, Alert)
    assert frame.alert_id == alert_id and frame.category is Category.UNKNOWN and frame.lon is None


def test_console_hello_with_since() -> None:
    hello = parse_frame(CONSOLE_FRAMES, '{"type":"hello","token":"t","since":42}')
    assert isinstance(hello, Hello) and hello.since == 42


@pytest.mark.parametrize(
    ("text", "code", "ref_type"),
    [
        ("", ErrorCode.BAD_JSON, None),
        ("{", ErrorCode.BAD_JSON, None),
        ("null", ErrorCode.INVALID_FRAME, None),
        ('"alert"', ErrorCode.INVALID_FRAME, None),
        ("{}", ErrorCode.INVALID_FRAME, None),
        ('{"type":"nope"}', ErrorCode.UNKNOWN_TYPE, "nope"),
        ('{"type":"position","lon":1e999,"lat":0}', ErrorCode.INVALID_FRAME, "position"),
        ('{"type":"position","lon":true,"lat":0}', ErrorCode.INVALID_FRAME, "position"),
        ('{"type":"hello","token":""}', ErrorCode.INVALID_FRAME, "hello"),
        ('{"type":"hello","token":"t","since":-1}', ErrorCode.INVALID_FRAME, "hello"),
        (
            '{"type":"assignment_reply","incident_id":0,"accept":true}',
            ErrorCode.INVALID_FRAME,
            "assignment_reply",
        ),
    ],
)
def test_faults(text: str, code: ErrorCode, ref_type: str | None) -> None:
    with pytest.raises(FrameError) as caught:
        parse_frame(PATROL_FRAMES, text)
    assert caught.value.code is code
    assert caught.value.ref_type == ref_type
    assert caught.value.message


def test_error_names_the_alert() -> None:
    alert_id = str(uuid.uuid4())
    with pytest.raises(FrameError) as caught:
        parse_frame(PATROL_FRAMES, f'{{"type":"alert","alert_id":"{alert_id}","note":5}}')
    assert caught.value.alert_id == alert_id and "note" in caught.value.message


def test_console_takes_only_hello() -> None:
    with pytest.raises(FrameError) as caught:
        parse_frame(CONSOLE_FRAMES, f'{{"type":"alert","alert_id":"{uuid.uuid4()}"}}')
    assert caught.value.code is ErrorCode.UNKNOWN_TYPE


def test_an_alert_may_say_when_its_key_was_pressed() -> None:
    alert_id = str(uuid.uuid4())
    said = '"pressed_at":"2026-11-22T08:30:00.123Z"'
    frame = parse_frame(PATROL_FRAMES, f'{{"type":"alert","alert_id":"{alert_id}",{said}}}')
    assert isinstance(frame, Alert) and frame.pressed_at is not None
    assert frame.pressed_at.isoformat() == "2026-11-22T08:30:00.123000+00:00"
    # A time that is not one is the frame's fault, named, with the alert's id.
    for bad in (
        '"pressed_at":1795336200',
        '"pressed_at":"yesterday"',
        '"pressed_at":"2026-02-30T00:00:00Z"',
    ):
        with pytest.raises(FrameError) as caught:
            parse_frame(PATROL_FRAMES, f'{{"type":"alert","alert_id":"{alert_id}",{bad}}}')
        assert caught.value.code is ErrorCode.INVALID_FRAME and caught.value.alert_id == alert_id
        assert "pressed_at" in caught.value.message
