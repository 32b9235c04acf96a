"""Which planned shift is on now: the morning and evening windows, in the community's time.

One module parses and reads shift windows, so every part that asks "which shift is it"
(the coverage watch, the roster) gets the same answer. A window is `HH:MM-HH:MM` in local
wall-clock time; one whose end is before its start runs past midnight. Outside every
window no shift is planned. Times are Unix seconds; the time zone turns them into local
times, so a window keeps its wall-clock hours through a change of daylight saving time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo
from enum import StrEnum

WINDOW = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")
WINDOW_PATTERN = WINDOW.pattern


class Shift(StrEnum):
    MORNING = "morning"
    EVENING = "evening"


@dataclass(frozen=True)
class Window:
    """From `start` (included) to `end` (excluded), local time; past midnight if end < start."""

    start: time
    end: time

    def holds(self, at: time) -> bool:
        if self.start <= self.end:
            return self.start <= at < self.end
        return at >= self.start or at < self.end


def parse_window(text: str) -> Window:
    """`07:00-15:00` -> Window; a malformed or empty window is a ValueError naming it."""
    m = WINDOW.match(text)
    if m is None:
        raise ValueError(f"a shift window is HH:MM-HH:MM, not {text!r}")
    start, end = time(int(m[1]), int(m[2])), time(int(m[3]), int(m[4]))
    if start == end:
        raise ValueError(f"the shift window {text!r} is empty")
    return Window(start, end)


def overlap(windows: Mapping[Shift, Window]) -> tuple[Shift, Shift] | None:
    """Two windows that share a minute (a minute can belong to one shift only), or None."""
    day = [time(h, m) for h in range(24) for m in range(60)]
    items = list(windows.items())
    for i, (a, wa) in enumerate(items):
        for b, wb in items[i + 1 :]:
            if any(wa.holds(t) and wb.holds(t) for t in day):
                return a, b
    return None


def current(at: float, windows: Mapping[Shift, Window], tz: tzinfo) -> Shift | None:
    """The shift whose window holds the instant `at`, or None between shifts."""
    local = datetime.fromtimestamp(at, tz).time()
    return next((shift for shift, w in windows.items() if w.holds(local)), None)


def next_change(at: float, windows: Mapping[Shift, Window], tz: tzinfo) -> float | None:
    """The first window edge after `at`: when `current` may answer differently."""
    today = datetime.fromtimestamp(at, tz).date()
    edges = [
        datetime.combine(today + timedelta(days=d), t, tzinfo=tz).timestamp()
        for d in (0, 1, 2)
        for w in windows.values()
        for t in (w.start, w.end)
    ]
    later = [e for e in edges if e > at]
    return min(later) if later else None
