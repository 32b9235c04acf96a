"""Shift windows: parsing, which shift holds an instant (local time), and the next edge."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from dispatch_server.domain.shifts import (
    Shift,
    Window,
    current,
    next_change,
    overlap,
    parse_window,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
WINDOWS = {Shift.MORNING: parse_window("07:00-15:00"), Shift.EVENING: parse_window("15:00-23:00")}


def at(text: str, tz: ZoneInfo = SHANGHAI) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=tz).timestamp()


@pytest.mark.parametrize(
    "text", ["7:00-15:00", "07:00-24:00", "07:00", "07:60-08:00", "09:00-09:00"]
)
def test_bad_windows_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_window(text)


@pytest.mark.parametrize(
    ("local", "shift"),
    [
        ("2026-11-30 06:59:59", None),
        ("2026-11-30 07:00:00", Shift.MORNING),  # the start belongs to the window
        ("2026-11-30 14:59:59", Shift.MORNING),
        ("2026-11-30 15:00:00", Shift.EVENING),  # the end does not
        ("2026-11-30 22:59:59", Shift.EVENING),
        ("2026-11-30 23:00:00", None),
        ("2026-12-01 03:00:00", None),
    ],
)
def test_current_shift_in_local_time(local: str, shift: Shift | None) -> None:
    assert current(at(local), WINDOWS, SHANGHAI) is shift


def test_the_same_instant_is_another_shift_elsewhere() -> None:
    instant = at("2026-11-30 08:00:00")  # 00:00 UTC
    assert current(instant, WINDOWS, SHANGHAI) is Shift.MORNING
    assert current(instant, WINDOWS, ZoneInfo("UTC")) is None


def test_a_window_past_midnight() -> None:
    night = {Shift.EVENING: parse_window("22:00-06:00")}
    assert night[Shift.EVENING] == Window(datetime(1, 1, 1, 22).time(), datetime(1, 1, 1, 6).time())
    assert current(at("2026-11-30 23:30:00"), night, SHANGHAI) is Shift.EVENING
    assert current(at("2026-12-01 05:59:00"), night, SHANGHAI) is Shift.EVENING
    assert current(at("2026-12-01 06:00:00"), night, SHANGHAI) is None
    assert next_change(at("2026-11-30 23:30:00"), night, SHANGHAI) == at("2026-12-01 06:00:00")


def test_next_change_is_the_next_edge() -> None:
    assert next_change(at("2026-11-30 03:00:00"), WINDOWS, SHANGHAI) == at("2026-11-30 07:00:00")
    assert next_change(at("2026-11-30 07:00:00"), WINDOWS, SHANGHAI) == at("2026-11-30 15:00:00")
    assert next_change(at("2026-11-30 23:00:00"), WINDOWS, SHANGHAI) == at("2026-12-01 07:00:00")


def test_overlapping_windows_are_found() -> None:
    assert overlap(WINDOWS) is None
    both = {Shift.MORNING: parse_window("07:00-15:01"), Shift.EVENING: WINDOWS[Shift.EVENING]}
    assert overlap(both) == (Shift.MORNING, Shift.EVENING)
