"""Lone-worker check-ins, as pure functions of the roster.

Where a rule applies (per grid, or per member, which wins), a member on shift
must check in every `period_s`. Past that they are `warning` (the handheld
prompts them); `overdue_after_s` later they are `overdue`, which opens an
incident at their last position. A check-in (or going off shift) clears it.
Shift start counts as a check-in.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np
import numpy.typing as npt

from dispatch_server.domain.roster import Roster


class CheckIn(IntEnum):
    OK = 0
    WARNING = 1
    OVERDUE = 2


@dataclass(frozen=True)
class Rule:
    period_s: float
    overdue_after_s: float


def rule_for(
    member_id: int, grid_id: str, by_member: dict[int, Rule], by_grid: dict[str, Rule]
) -> Rule | None:
    return by_member.get(member_id) or by_grid.get(grid_id)


def set_rule(roster: Roster, member_id: int, rule: Rule | None) -> None:
    """Copy a member's effective rule into the roster, where `due` reads it (NaN: none)."""
    i = roster.row[member_id]
    roster.check_in_period[i] = rule.period_s if rule else np.nan
    roster.check_in_overdue_after[i] = rule.overdue_after_s if rule else np.nan


def _watched(roster: Roster) -> npt.NDArray[np.bool_]:
    n = len(roster)
    return roster.on_shift[:n] & np.isfinite(roster.check_in_period[:n])


def due(roster: Roster, now: float) -> list[tuple[int, CheckIn]]:
    """Members whose check-in state must move on at `now`, and to what."""
    n = len(roster)
    watched = _watched(roster)
    late = now - roster.last_check_in[:n]
    state = roster.check_in_state[:n]
    period, grace = roster.check_in_period[:n], roster.check_in_overdue_after[:n]
    to_overdue = watched & (state < CheckIn.OVERDUE) & (late > period + grace)
    to_warning = watched & (state < CheckIn.WARNING) & (late > period) & ~to_overdue
    return [(roster.ids[i], CheckIn.OVERDUE) for i in np.flatnonzero(to_overdue)] + [
        (roster.ids[i], CheckIn.WARNING) for i in np.flatnonzero(to_warning)
    ]


def next_due(roster: Roster) -> float | None:
    n = len(roster)
    watched = _watched(roster) & (roster.check_in_state[:n] < CheckIn.OVERDUE)
    if not watched.any():
        return None
    base = roster.last_check_in[:n] + roster.check_in_period[:n]
    at = np.where(
        roster.check_in_state[:n] >= CheckIn.WARNING, base + roster.check_in_overdue_after[:n], base
    )
    return float(at[watched].min())
