"""The team watch: who has strayed from their team, or gone silent while it is heard, as a
pure function of the roster.

Members on shift in the same grid patrol as a team. One whose fresh fix is farther than
`drift_m` from every teammate with a fresh fix, for `drift_grace_s` or more, has drifted:
said once (`team_drift`), and their handheld asks "are you OK?". One silent long enough
for supervision to mark them offline while a teammate is still heard is flagged too, with
no second warning (supervision's `member_offline` is the warning). Either way, no answer
(a check-in) within `answer_s` of the flag opens an incident, once. Coming back clears the
flag, once (`team_rejoined`): for a drift only within `rejoin_ratio * drift_m`, so a member
walking along the edge does not flap between drifted and back; for silence when heard again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from dispatch_server.domain.roster import Roster


class Reason(StrEnum):
    DRIFT = "drift"
    SILENT = "silent"


@dataclass(frozen=True)
class Policy:
    drift_m: float
    drift_grace_s: float
    answer_s: float  # the check-in overdue time: a flag unanswered this long opens an incident
    fresh_fix_s: float
    rejoin_ratio: float = 0.8


@dataclass(frozen=True)
class Flag:
    """A member flagged at `since`; `overdue`: the incident is open; `said`: in the log."""

    reason: Reason
    since: float
    overdue: bool = False

    @property
    def said(self) -> bool:
        """Whether the log has it (a drift always; a silence once it was overdue)."""
        return self.reason is Reason.DRIFT or self.overdue


class Kind(StrEnum):
    DRIFT = "drift"  # write team_drift
    SILENT = "silent"  # flag in memory (supervision said it)
    OVERDUE = "overdue"  # open an incident
    REJOINED = "rejoined"  # write team_rejoined
    FORGET = "forget"  # drop a flag the log never had


@dataclass(frozen=True)
class Step:
    kind: Kind
    member_id: int
    grid_id: str
    reason: Reason
    distance_m: float | None = None


def distances(roster: Roster, now: float, fresh_fix_s: float) -> dict[int, float]:
    """For each member on shift with a fresh fix: metres to the nearest teammate (same grid,
    on shift) with a fresh fix. Members with no such teammate are left out."""
    n = len(roster)
    fresh = roster.on_shift[:n] & (now - roster.fix_at[:n] <= fresh_fix_s)
    teams: dict[str, list[int]] = {}
    for row in np.flatnonzero(fresh):
        teams.setdefault(roster.grids[row], []).append(int(row))
    out: dict[int, float] = {}
    for rows in teams.values():
        if len(rows) < 2:
            continue
        xs, ys = roster.fix_x[rows], roster.fix_y[rows]
        d = np.hypot(xs[:, None] - xs[None, :], ys[:, None] - ys[None, :])
        np.fill_diagonal(d, np.inf)
        for k, i in enumerate(rows):
            out[roster.ids[i]] = float(d[k].min())
    return out


def _team_heard(roster: Roster) -> set[str]:
    """Grids with a member on shift who is not marked offline (a silent member's own grid
    is in it only when a teammate is heard)."""
    n = len(roster)
    return {
        roster.grids[i] for i in np.flatnonzero(roster.on_shift[:n] & ~roster.marked_offline[:n])
    }


def step(
    roster: Roster,
    now: float,
    far_since: Mapping[int, float],
    flags: Mapping[int, Flag],
    policy: Policy,
) -> tuple[dict[int, float], list[Step]]:
    """Who is far from their team since when (not yet said), and what to do at `now`."""
    near = distances(roster, now, policy.fresh_fix_s)
    heard = _team_heard(roster)
    far: dict[int, float] = {}
    steps: list[Step] = []
    for member_id, flag in flags.items():
        if member_id in roster:
            steps += _flagged(roster, member_id, flag, near.get(member_id), now, policy)
    n = len(roster)
    for i in np.flatnonzero(roster.on_shift[:n]):
        member_id, grid_id = roster.ids[i], roster.grids[i]
        if member_id in flags:
            continue
        if roster.marked_offline[i]:
            # Silent: supervision said so. Flagged only while a teammate is heard (a whole
            # team silent is an outage, which supervision shows already).
            if grid_id in heard:
                steps.append(Step(Kind.SILENT, member_id, grid_id, Reason.SILENT))
            continue
        d = near.get(member_id)
        if d is None or d <= policy.drift_m:
            continue
        since = far[member_id] = far_since.get(member_id, now)
        if now - since >= policy.drift_grace_s:
            del far[member_id]
            steps.append(Step(Kind.DRIFT, member_id, grid_id, Reason.DRIFT, round(d, 1)))
    return far, steps


def _flagged(
    roster: Roster, member_id: int, flag: Flag, d: float | None, now: float, policy: Policy
) -> list[Step]:
    i = roster.row[member_id]
    grid_id = roster.grids[i]
    clear = Kind.REJOINED if flag.said else Kind.FORGET
    if not roster.on_shift[i]:
        return [Step(clear, member_id, grid_id, flag.reason)]
    if flag.reason is Reason.DRIFT and d is not None and d < policy.rejoin_ratio * policy.drift_m:
        return [Step(clear, member_id, grid_id, flag.reason, round(d, 1))]
    if flag.reason is Reason.SILENT and not roster.marked_offline[i]:
        return [Step(clear, member_id, grid_id, flag.reason)]
    answered = float(roster.last_check_in[i]) >= flag.since
    if not flag.overdue and not answered and now - flag.since >= policy.answer_s:
        return [Step(Kind.OVERDUE, member_id, grid_id, flag.reason)]
    return []


def next_due(
    roster: Roster, far_since: Mapping[int, float], flags: Mapping[int, Flag], policy: Policy
) -> float | None:
    """The next grace or answer deadline; a drift not yet begun is found by the clock's beat
    (positions are not events: the scheduler looks at least every idle second)."""
    times = [t + policy.drift_grace_s for t in far_since.values()]
    for member_id, flag in flags.items():
        answered = member_id in roster and roster.last_check_in[roster.row[member_id]] >= flag.since
        if member_id in roster and not flag.overdue and not answered:
            times.append(flag.since + policy.answer_s)
    return min(times) if times else None
