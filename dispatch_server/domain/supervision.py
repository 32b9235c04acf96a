"""Patrol supervision: who has gone silent, and who is back, as pure functions of the roster.

A member on shift whose link has been silent (no frame: positions and
heartbeats count) for longer than `offline_after_s` (3 missed beats of 15 s by
default) goes offline, once; the first frame after that brings them back
online, once. A drop shorter than the grace time changes nothing: that is the
hysteresis. The log records each crossing (`member_offline`/`member_online`);
the roster's `marked_offline` mirrors the log, so nothing is said twice.
"""

from __future__ import annotations

import numpy as np

from dispatch_server.domain.roster import Roster


def gone_silent(roster: Roster, now: float, offline_after_s: float) -> list[int]:
    """On shift, silent past the grace time, and not yet marked offline."""
    n = len(roster)
    due = roster.offline(now, offline_after_s) & ~roster.marked_offline[:n]
    return [roster.ids[i] for i in np.flatnonzero(due)]


def back(roster: Roster, now: float, offline_after_s: float) -> list[int]:
    """Marked offline, but heard from within the grace time (or off shift now)."""
    n = len(roster)
    due = roster.marked_offline[:n] & ~roster.offline(now, offline_after_s)
    return [roster.ids[i] for i in np.flatnonzero(due)]


def next_check(roster: Roster, offline_after_s: float) -> float | None:
    """When the next member on shift would cross the grace time if nothing is heard."""
    n = len(roster)
    watched = roster.on_shift[:n] & ~roster.marked_offline[:n]
    if not watched.any():
        return None
    return float(roster.last_seen[:n][watched].min() + offline_after_s)
