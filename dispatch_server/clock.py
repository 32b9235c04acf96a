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


def iso(ts: float) -> str:
    """UTC ISO 8601 with milliseconds: what the wire and the exports show."""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
