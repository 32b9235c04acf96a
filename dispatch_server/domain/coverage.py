"""Coverage gaps, as a pure function of who is on shift where.

A grid planned for the current shift (it has a roster slot for it) is short while fewer
of its members than `minimum` are on shift and not offline. Short for `grace_s` or more,
it is a gap: said once (`coverage_gap`), and once more when it ends (`coverage_restored`:
staffed again, its shift is over, or its slot was emptied). A grid short for less than the
grace time says nothing: that is the hysteresis. Grids without a slot for the shift, and the hours
outside every shift window, are not watched.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass, replace
from enum import StrEnum

import numpy as np

from dispatch_server.domain.roster import Roster
from dispatch_server.domain.shifts import Shift


@dataclass(frozen=True)
class Short:
    """A grid short of members on `shift` since `since`; `said`: the gap is in the log."""

    shift: Shift
    since: float
    said: bool = False


class Why(StrEnum):
    STAFFED = "staffed"
    SHIFT_OVER = "shift_over"
    UNPLANNED = "unplanned"  # the grid's slot for the shift was emptied


@dataclass(frozen=True)
class Gap:
    """A gap to write: opened (`why` None) or ended (`why` says how)."""

    grid_id: str
    shift: Shift
    on_shift: int
    since: float
    why: Why | None = None


def staffed(roster: Roster) -> dict[str, int]:
    """Members on shift and heard (not marked offline), by their grid."""
    n = len(roster)
    counted: dict[str, int] = {}
    for i in np.flatnonzero(roster.on_shift[:n] & ~roster.marked_offline[:n]):
        grid_id = roster.grids[i]
        counted[grid_id] = counted.get(grid_id, 0) + 1
    return counted


def step(
    shorts: Mapping[str, Short],
    shift: Shift | None,
    planned: Set[str],
    counts: Mapping[str, int],
    now: float,
    minimum: int,
    grace_s: float,
) -> tuple[dict[str, Short], list[Gap]]:
    """The grids short after `now`, and the gaps that open or end at `now`."""
    watched = planned if shift is not None else set()
    after: dict[str, Short] = {}
    gaps: list[Gap] = []
    for grid_id, short in shorts.items():
        if grid_id not in watched or short.shift != shift:
            if short.said:
                why = Why.SHIFT_OVER if short.shift != shift else Why.UNPLANNED
                gaps.append(Gap(grid_id, short.shift, counts.get(grid_id, 0), short.since, why))
            continue
        after[grid_id] = short
    assert shift is not None or not watched
    for grid_id in sorted(watched):
        on_shift = counts.get(grid_id, 0)
        known = after.get(grid_id)
        if on_shift >= minimum:
            if known is not None:
                del after[grid_id]
                if known.said:
                    gaps.append(Gap(grid_id, known.shift, on_shift, known.since, Why.STAFFED))
            continue
        assert shift is not None
        short = known if known is not None else Short(shift, now)
        after[grid_id] = short
        if not short.said and now - short.since >= grace_s:
            after[grid_id] = replace(short, said=True)
            gaps.append(Gap(grid_id, shift, on_shift, short.since))
    return after, gaps


def next_due(shorts: Mapping[str, Short], grace_s: float) -> float | None:
    """When the first grid short now, and not yet said, would become a gap."""
    waiting = [s.since + grace_s for s in shorts.values() if not s.said]
    return min(waiting) if waiting else None
