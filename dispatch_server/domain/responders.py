"""Who should go: the nearest suitable responders, each with the reason it is listed.

DESIGN.md: candidates are members on shift and not busy, never the reporter.
Distance is in metres from the incident's point to the member's fresh fix, or,
where the member has no fresh fix, to the member's grid. Members whose skills
fit the category come first among near equals. Offline members are not ranked
first. "Near equals" is made exact here: a fitting skill counts as being
`skill_bonus_m` closer, so a doctor 250 m away is listed before a layman 150 m
away, but not before one 50 m away.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from dispatch_server.domain.roster import Roster
from dispatch_server.domain.skills import FITS, mask, unmask
from dispatch_server.protocol.frames import Category


@dataclass(frozen=True)
class RankPolicy:
    listed: int = 5
    fresh_fix_s: float = 120.0
    offline_after_s: float = 45.0
    skill_bonus_m: float = 150.0


@dataclass(frozen=True)
class Ranked:
    member_id: int
    name: str
    grid_id: str
    distance_m: float
    located_by: str  # "fix": a fresh fix; "grid": the centre of the member's grid
    fix_age_s: float | None
    skills_fit: tuple[str, ...]
    online: bool
    reason: str
    # Listed before nearer members for a fitting skill: how much farther than the nearest of
    # them (None: nobody nearer is listed after this member). The list says so in words.
    skill_first_by_m: float | None = None

    def to_wire(self) -> dict[str, Any]:
        return {
            "member_id": self.member_id,
            "name": self.name,
            "grid_id": self.grid_id,
            "distance_m": self.distance_m,
            "located_by": self.located_by,
            "fix_age_s": self.fix_age_s,
            "skills_fit": list(self.skills_fit),
            "online": self.online,
            "reason": self.reason,
            "skill_first_by_m": self.skill_first_by_m,
        }


@dataclass(frozen=True)
class Point:
    """Where the incident is, in local metres, and how that was known."""

    x: float
    y: float
    source: str  # alert_fix | reporter_fix | reporter_grid


def rank(
    roster: Roster,
    point: Point,
    reporter_id: int,
    category: Category,
    now: float,
    policy: RankPolicy,
) -> list[Ranked]:
    """Members who raised an open alarm of their own (`roster.in_need`) are never ranked:
    they need help, they do not give it."""
    n = len(roster)
    if n == 0:
        return []
    fix_age = now - roster.fix_at[:n]
    fresh = fix_age <= policy.fresh_fix_s
    at_x = np.where(fresh, roster.fix_x[:n], roster.home_x[:n])
    at_y = np.where(fresh, roster.fix_y[:n], roster.home_y[:n])
    distance = np.hypot(at_x - point.x, at_y - point.y)
    wanted = mask(FITS[category])
    fits = (roster.skills[:n] & wanted) != 0
    offline = roster.offline(now, policy.offline_after_s)

    eligible = roster.on_shift[:n] & ~roster.busy[:n] & ~roster.in_need[:n]
    if reporter_id in roster.row:
        eligible[roster.row[reporter_id]] = False
    rows = np.flatnonzero(eligible)
    score = distance[rows] - policy.skill_bonus_m * fits[rows]
    # lexsort: the last key is the primary one. Stable, so equal keys keep roster (id) order.
    order = np.lexsort((distance[rows], score, offline[rows]))
    ordered = rows[order]
    chosen = ordered[: policy.listed]
    entries = []
    for k, i in enumerate(chosen):
        entry = _entry(
            roster,
            int(i),
            float(distance[i]),
            bool(fresh[i]),
            float(fix_age[i]),
            int(roster.skills[i]) & wanted,
            bool(offline[i]),
            category,
        )
        if entry.skills_fit:
            # Below it for its skills, not for being offline: those equally online or not.
            rest = ordered[k + 1 :]
            below = distance[rest][offline[rest] == offline[i]]
            nearest_below = float(below.min()) if below.size else math.inf
            entry = _honest(entry, nearest_below)
        entries.append(entry)
    return entries


def _honest(entry: Ranked, nearest_below: float) -> Ranked:
    """Nearest first, except where a fitting skill moved someone up: then say by how much
    (issue 12: a list headed "nearest first" once put a member at 189 m above two at 69 m
    and 78 m without a word). `nearest_below`: the nearest of those listed after it."""
    if not nearest_below < entry.distance_m:
        return entry
    by = round(entry.distance_m - nearest_below, 1)
    reason = f"{entry.reason}; listed first for its skills, {by:.0f} m farther than the nearest"
    return replace(entry, skill_first_by_m=by, reason=reason)


def _entry(
    roster: Roster,
    i: int,
    distance: float,
    fresh: bool,
    fix_age: float,
    fit_bits: int,
    offline: bool,
    category: Category,
) -> Ranked:
    grid_id = roster.grids[i]
    fit = tuple(s.value for s in unmask(fit_bits))
    parts = [
        f"{distance:.0f} m by a fix {fix_age:.0f} s old"
        if fresh
        else f"{distance:.0f} m from the centre of grid {grid_id} (no fresh fix)"
    ]
    if fit:
        parts.append(f"{'/'.join(fit)} fits a {category.value} alarm")
    if offline:
        parts.append("offline, so listed after those online")
    return Ranked(
        member_id=roster.ids[i],
        name=roster.names[i],
        grid_id=grid_id,
        distance_m=round(distance, 1),
        located_by="fix" if fresh else "grid",
        fix_age_s=round(fix_age, 1) if fresh else None,
        skills_fit=fit,
        online=not offline,
        reason="; ".join(parts),
    )


def incident_point(
    alert_xy: tuple[float, float] | None,
    reporter_fix_xy: tuple[float, float] | None,
    reporter_grid_xy: tuple[float, float],
) -> Point:
    """DESIGN.md: the alert's own fix, else the reporter's last fix, else the reporter's grid."""
    if alert_xy is not None:
        return Point(*alert_xy, "alert_fix")
    if reporter_fix_xy is not None:
        return Point(*reporter_fix_xy, "reporter_fix")
    return Point(*reporter_grid_xy, "reporter_grid")
