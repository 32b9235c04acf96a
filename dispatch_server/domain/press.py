"""When the alarm key was pressed, as the server keeps it: the handheld's word, clamped.

A handheld may hold an alarm in its outbox for as long as its link is down, so the time the
server hears it can be long after the press. The handheld says when the key was pressed
(`alert.pressed_at`), by its own clock, which may be wrong. The server keeps that time only
within what it can vouch for:

- never after its own now (a press cannot be in the future);
- on shift: never before the member's current shift started (the handheld was in use);
- otherwise: never more than `MAX_AGE_S` before now.

A time outside is moved to the nearest bound, and the event says so and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

MAX_AGE_S = 24 * 3600.0


class Clamp(StrEnum):
    FUTURE = "future"  # after the server's now
    BEFORE_SHIFT = "before_shift"  # before the member's current shift started
    TOO_OLD = "too_old"  # off shift, more than MAX_AGE_S ago


@dataclass(frozen=True)
class PressTime:
    at: float  # seconds since the epoch, within the bounds
    clamped: Clamp | None  # None: the handheld's own time


def press_time(
    reported: float, now: float, shift_start: float | None, max_age_s: float = MAX_AGE_S
) -> PressTime:
    """The press time to keep for an alarm the handheld says was pressed at `reported`."""
    if reported > now:
        return PressTime(now, Clamp.FUTURE)
    if shift_start is not None:
        earliest, why = min(shift_start, now), Clamp.BEFORE_SHIFT
    else:
        earliest, why = now - max_age_s, Clamp.TOO_OLD
    if reported < earliest:
        return PressTime(earliest, why)
    return PressTime(reported, None)
