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
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from dispatch_server.domain.roster import F64, Roster
from dispatch_server.domain.skills import FITS, mask, skill_names
from dispatch_server.protocol.frames import Category


@dataclass(frozen=True)
class RankPolicy:
    listed: int = 5
    fresh_fix_s: float = 120.0
    offline_after_s: float = 45.0
    skill_bonus_m: float = 150.0


class Ranked(NamedTuple):
    """One listed member. A named tuple, not a dataclass: five are made per alarm, on the
    loop, and a frozen dataclass costs several times as much to build."""

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
    they need help, they do not give it.

    The order is (offline, score, distance, roster row): online before offline, then the
    score (distance less the skill bonus), then the distance. Only the first `listed` are
    wanted, so each group is partitioned rather than sorted whole (a full sort of 1,000
    members was most of an alarm's time on the loop)."""
    n = len(roster)
    if n == 0 or policy.listed <= 0:
        return []
    fix_age = now - roster.fix_at[:n]
    fresh = fix_age <= policy.fresh_fix_s
    dx = np.where(fresh, roster.fix_x[:n], roster.home_x[:n]) - point.x
    dy = np.where(fresh, roster.fix_y[:n], roster.home_y[:n]) - point.y
    distance = np.sqrt(dx * dx + dy * dy)
    wanted = mask(FITS[category])
    score = distance - policy.skill_bonus_m * ((roster.skills[:n] & wanted) != 0)
    offline = roster.offline(now, policy.offline_after_s)
    eligible = roster.on_shift[:n] & ~roster.busy[:n] & ~roster.in_need[:n]
    if reporter_id in roster.row:
        eligible[roster.row[reporter_id]] = False

    online_rows = np.flatnonzero(eligible & ~offline)
    chosen = _first(online_rows, score, distance, policy.listed)
    offline_rows = None
    if len(chosen) < policy.listed:
        offline_rows = np.flatnonzero(eligible & offline)
        chosen += _first(offline_rows, score, distance, policy.listed - len(chosen))
    if not chosen:
        return []
    rows = np.array(chosen)
    fit_bits = (roster.skills[rows] & wanted).tolist()
    is_offline = offline[rows].tolist()
    below = [math.inf] * len(chosen)
    nearest: dict[bool, list[tuple[int, float]]] = {}
    for k, (bits, off) in enumerate(zip(fit_bits, is_offline, strict=True)):
        if bits:
            # Below it for its skills, not for being offline: those equally online or not.
            if off not in nearest:
                group = offline_rows if off else online_rows
                assert group is not None  # an offline member was chosen: the rows were found
                nearest[off] = _nearest(group, distance, policy.listed + 1)
            above = set(chosen[: k + 1])
            below[k] = next((d for j, d in nearest[off] if j not in above), math.inf)
    return [
        _entry(roster, i, dist, fr, age, bits, off, nb, category)
        for i, dist, fr, age, bits, off, nb in zip(
            chosen,
            distance[rows].tolist(),
            fresh[rows].tolist(),
            fix_age[rows].tolist(),
            fit_bits,
            is_offline,
            below,
            strict=True,
        )
    ]


def _first(group: npt.NDArray[np.intp], score: F64, distance: F64, k: int) -> list[int]:
    """The group's first k rows by (score, distance, row). `group` is in row order and the
    sort is stable, so equal keys keep it. Rows tied with the k-th score all go into the
    sort, so a partition never decides a tie."""
    if len(group) > k:
        s = score[group]
        cutoff = np.partition(s, k - 1)[k - 1]
        if cutoff == cutoff:  # NaN (no place at all) sorts last; never seen, never lost
            group = group[s <= cutoff]
    order = np.lexsort((distance[group], score[group]))
    return [int(i) for i in group[order][:k]]


def _nearest(group: npt.NDArray[np.intp], distance: F64, m: int) -> list[tuple[int, float]]:
    """The group's m nearest rows with their distances, nearest first: enough to find the
    nearest one ranked below any of the `listed` entries."""
    if len(group) > m:
        group = group[np.argpartition(distance[group], m - 1)[:m]]
    d = distance[group]
    order = np.argsort(d, kind="stable")
    return list(zip(group[order].tolist(), d[order].tolist(), strict=True))


def _entry(
    roster: Roster,
    i: int,
    distance: float,
    fresh: bool,
    fix_age: float,
    fit_bits: int,
    offline: bool,
    nearest_below: float,
    category: Category,
) -> Ranked:
    """One listed member, with the reason in words. `nearest_below`: the nearest of those
    listed after it, equally online or not; where a fitting skill put this member above
    someone nearer, the entry says by how much (issue 12: a list headed "nearest first"
    once put a member at 189 m above two at 69 m and 78 m without a word)."""
    grid_id = roster.grids[i]
    fit = skill_names(fit_bits)
    parts = [
        f"{distance:.0f} m by a fix {fix_age:.0f} s old"
        if fresh
        else f"{distance:.0f} m from the centre of grid {grid_id} (no fresh fix)"
    ]
    if fit:
        parts.append(f"{'/'.join(fit)} fits a {category.value} alarm")
    if offline:
        parts.append("offline, so listed after those online")
    distance_m = round(distance, 1)
    skill_first_by_m = None
    if nearest_below < distance_m:
        skill_first_by_m = round(distance_m - nearest_below, 1)
        parts.append(
            f"listed first for its skills, {skill_first_by_m:.0f} m farther than the nearest"
        )
    return Ranked(
        member_id=roster.ids[i],
        name=roster.names[i],
        grid_id=grid_id,
        distance_m=distance_m,
        located_by="fix" if fresh else "grid",
        fix_age_s=round(fix_age, 1) if fresh else None,
        skills_fit=fit,
        online=not offline,
        reason="; ".join(parts),
        skill_first_by_m=skill_first_by_m,
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
