"""Time as an injected dependency, so deadlines and freshness are testable without sleeps."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def __call__(self) -> float:
        """Seconds since the epoch."""
        ...


def system_clock() -> float:
    return time.time()


def epoch_seconds(when: datetime) -> float:
    """A time given by a peer, as seconds since the epoch. A time without an offset is UTC, as
    every time on the wire is (datetime.timestamp() would take it as local time, through the
    C library, which fails for the first and last days that datetime can hold)."""
    return (when if when.tzinfo is not None else when.replace(tzinfo=UTC)).timestamp()


def iso(ts: float) -> str:
    """UTC ISO 8601 with milliseconds: what the wire and the exports show."""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def from_iso(text: str) -> float:
    """`iso`'s text back to seconds since the epoch."""
    return epoch_seconds(datetime.fromisoformat(text.replace("Z", "+00:00")))
