"""Ranking as a pure function, and a property test against a brute-force geodesic ranking."""

from __future__ import annotations

import math
from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch_server.domain.responders import Point, RankPolicy, incident_point, rank
from dispatch_server.domain.roster import Fix, Roster
from dispatch_server.domain.skills import FITS, Skill, mask
from dispatch_server.geo.projection import LocalProjection
from dispatch_server.protocol.frames import Category
from tests.support.geodesy import geodesic_m

NOW = 1_000_000.0
POLICY = RankPolicy(listed=5, fresh_fix_s=120, offline_after_s=45, skill_bonus_m=150)
CENTRE = (113.04, 28.13)
PROJ = LocalProjection(*CENTRE)


def roster_of(
    *members: tuple[int, tuple[float, float] | None], home: tuple[float, float] = (0, 0)
) -> Roster:
    r = Roster(capacity=2)  # small, so adding members also exercises growth
    for member_id, xy in members:
        r.add(member_id, f"m{member_id}", "G01", 0, home)
        r.set_shift(member_id, True)
        r.link_up(member_id, NOW - 1)
        if xy is not None:
            r.set_fix(member_id, Fix(xy[0], xy[1], 5.0, NOW - 10))
    return r


def ids(ranked: list) -> list[int]:  # type: ignore[type-arg]
    return [r.member_id for r in ranked]


def test_nearest_first_reporter_never_listed() -> None:
    r = roster_of((1, (0, 0)), (2, (300, 0)), (3, (100, 0)), (4, (200, 0)))
    got = rank(r, Point(0, 0, "alert_fix"), 1, Category.THEFT, NOW, POLICY)
    assert ids(got) == [3, 4, 2]
    assert got[0].distance_m == 100.0 and got[0].located_by == "fix"
    assert "100 m by a fix 10 s old" in got[0].reason


def test_off_shift_and_busy_are_not_candidates() -> None:
    r = roster_of((1, (10, 0)), (2, (20, 0)), (3, (30, 0)))
    r.set_shift(1, False)
    r.set_busy(2, True)
    assert ids(rank(r, Point(0, 0, "alert_fix"), 99, Category.OTHER, NOW, POLICY)) == [3]


def test_stale_fix_falls_back_to_the_grid() -> None:
    r = roster_of((1, (10, 0)), (2, (500, 0)), home=(400, 0))
    r.set_fix(1, Fix(10, 0, 5.0, NOW - POLICY.fresh_fix_s - 1))
    got = rank(r, Point(0, 0, "alert_fix"), 99, Category.OTHER, NOW, POLICY)
    assert ids(got) == [1, 2]
    assert got[0].distance_m == 400.0 and got[0].located_by == "grid" and got[0].fix_age_s is None
    assert "from the centre of grid G01 (no fresh fix)" in got[0].reason


def test_skill_wins_among_near_equals_only() -> None:
    r = roster_of((1, (100, 0)), (2, (240, 0)), (3, (10, 0)))
    r.skills[r.row[2]] = mask({Skill.MEDICAL})
    got = rank(r, Point(0, 0, "alert_fix"), 99, Category.MEDICAL, NOW, POLICY)
    # 240 - 150 = 90 beats 100, but not 10.
    assert ids(got) == [3, 2, 1]
    assert got[1].skills_fit == ("medical",) and "medical fits a medical alarm" in got[1].reason
    # The same doctor is nobody special for a theft.
    assert ids(rank(r, Point(0, 0, "alert_fix"), 99, Category.THEFT, NOW, POLICY)) == [3, 1, 2]


def test_offline_members_come_last_but_a_brief_drop_does_not_count() -> None:
    r = roster_of((1, (10, 0)), (2, (20, 0)), (3, (900, 0)))
    r.link_down(1, NOW - POLICY.offline_after_s - 1)  # down too long: offline
    r.link_down(2, NOW - 1)  # a one-second drop: still online
    got = rank(r, Point(0, 0, "alert_fix"), 99, Category.OTHER, NOW, POLICY)
    assert ids(got) == [2, 3, 1]
    assert got[2].online is False and "offline" in got[2].reason


def test_listed_is_capped_and_empty_roster_is_fine() -> None:
    r = roster_of(*((i, (float(i), 0.0)) for i in range(1, 20)))
    assert len(rank(r, Point(0, 0, "alert_fix"), 99, Category.OTHER, NOW, POLICY)) == 5
    assert rank(Roster(), Point(0, 0, "alert_fix"), 1, Category.OTHER, NOW, POLICY) == []


def test_incident_point_prefers_the_alerts_own_fix() -> None:
    assert incident_point((1, 2), (3, 4), (5, 6)) == Point(1, 2, "alert_fix")
    assert incident_point(None, (3, 4), (5, 6)) == Point(3, 4, "reporter_fix")
    assert incident_point(None, None, (5, 6)) == Point(5, 6, "reporter_grid")


@dataclass(frozen=True)
class M:
    lon: float
    lat: float
    medical: bool
    on_shift: bool
    busy: bool


lonlat = st.tuples(
    st.floats(CENTRE[0] - 0.02, CENTRE[0] + 0.02), st.floats(CENTRE[1] - 0.02, CENTRE[1] + 0.02)
)
member = st.builds(
    M,
    st.floats(CENTRE[0] - 0.02, CENTRE[0] + 0.02),
    st.floats(CENTRE[1] - 0.02, CENTRE[1] + 0.02),
    st.booleans(),
    st.booleans(),
    st.booleans(),
)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(member, min_size=0, max_size=40),
    lonlat,
    st.sampled_from([Category.MEDICAL, Category.THEFT]),
)
def test_matches_brute_force_geodesic_ranking(
    members: list[M], at: tuple[float, float], category: Category
) -> None:
    roster = Roster(capacity=4)
    for i, m in enumerate(members, start=1):
        roster.add(i, f"m{i}", "G01", mask({Skill.MEDICAL}) if m.medical else 0, (0.0, 0.0))
        roster.set_shift(i, m.on_shift)
        roster.set_busy(i, m.busy)
        roster.link_up(i, NOW)
        roster.set_fix(i, Fix(*PROJ.to_xy(m.lon, m.lat), None, NOW))
    reporter = 1
    got = rank(roster, Point(*PROJ.to_xy(*at), "alert_fix"), reporter, category, NOW, POLICY)

    truth: dict[int, tuple[float, float]] = {}
    for i, m in enumerate(members, start=1):
        if i == reporter or not m.on_shift or m.busy:
            continue
        dist = geodesic_m(at[0], at[1], m.lon, m.lat)
        bonus = POLICY.skill_bonus_m if (m.medical and category is Category.MEDICAL) else 0.0
        truth[i] = (dist - bonus, dist)
    expected = sorted(truth, key=lambda i: (truth[i], i))[: POLICY.listed]

    assert len(got) == len(expected)
    for r in got:
        true = truth[r.member_id][1]
        assert abs(r.distance_m - true) <= 0.005 * true + 0.1
    # Same order, up to what the projection's 0.5% error could swap.
    scores = [truth[r.member_id][0] for r in got]
    slack = [0.005 * truth[r.member_id][1] + 0.2 for r in got]
    for k in range(len(got) - 1):
        assert scores[k] <= scores[k + 1] + slack[k] + slack[k + 1]
    if expected:
        cutoff = truth[expected[-1]][0]
        for i in expected:
            if truth[i][0] < cutoff - 0.01 * truth[i][1] - 1:
                assert i in ids(got)


def test_a_skill_that_moves_someone_up_is_said_in_words() -> None:
    """Issue 12: a security member at 189 m above members at 69 m and 78 m, with no word of
    why. Still first (the contract: fitting skills first among near equals), but it says so."""
    r = roster_of((1, (69, 0)), (2, (78, 0)), (3, (189, 0)))
    r.skills[r.row[3]] = mask([Skill.MEDICAL])
    got = rank(r, Point(0, 0, "alert_fix"), 99, Category.MEDICAL, NOW, POLICY)
    assert ids(got) == [3, 1, 2]
    assert got[0].skill_first_by_m == 120.0
    assert "listed first for its skills, 120 m farther than the nearest" in got[0].reason
    assert got[1].skill_first_by_m is None and got[2].skill_first_by_m is None
    nearest = rank(r, Point(200, 0, "alert_fix"), 99, Category.MEDICAL, NOW, POLICY)
    assert ids(nearest)[0] == 3 and nearest[0].skill_first_by_m is None, "nearest anyway"


def test_members_with_an_open_alarm_of_their_own_are_never_asked() -> None:
    r = roster_of((1, (10, 0)), (2, (20, 0)), (3, (30, 0)))
    r.set_in_need(1, True)
    r.set_in_need(3, True)
    assert ids(rank(r, Point(0, 0, "alert_fix"), 99, Category.OTHER, NOW, POLICY)) == [2]


def reference_rank(
    roster: Roster, point: Point, reporter_id: int, category: Category, now: float
) -> list[tuple[int, float | None]]:
    """The ranking written the obvious way (a full sort of every candidate by online,
    score, distance, row), with each entry's `skill_first_by_m`: what the partial selection
    in `rank` must equal."""
    wanted = mask(FITS[category])
    keyed = []
    for i, member_id in enumerate(roster.ids):
        if member_id == reporter_id or not roster.on_shift[i] or roster.busy[i]:
            continue
        if roster.in_need[i]:
            continue
        fresh = now - roster.fix_at[i] <= POLICY.fresh_fix_s
        x, y = (roster.fix_x[i], roster.fix_y[i]) if fresh else (roster.home_x[i], roster.home_y[i])
        distance = math.sqrt((x - point.x) ** 2 + (y - point.y) ** 2)
        fits = bool(int(roster.skills[i]) & wanted)
        offline = bool(roster.on_shift[i] and now - roster.last_seen[i] > POLICY.offline_after_s)
        keyed.append((offline, distance - POLICY.skill_bonus_m * fits, distance, i, fits))
    keyed.sort()
    out: list[tuple[int, float | None]] = []
    for k, (offline, _, distance, i, fits) in enumerate(keyed[: POLICY.listed]):
        below = [d for off, _, d, _, _ in keyed[k + 1 :] if off == offline]
        by = None
        if fits and below and min(below) < round(distance, 1):
            by = round(round(distance, 1) - min(below), 1)
        out.append((roster.ids[i], by))
    return out


placed = st.tuples(
    st.integers(-3, 3).map(lambda v: v * 50.0),  # a coarse grid: many equal distances
    st.integers(-3, 3).map(lambda v: v * 50.0),
)
ranked_member = st.fixed_dictionaries(
    {
        "xy": placed,
        "home": placed,
        "fix_age": st.sampled_from([1.0, 119.0, 121.0, math.inf]),
        "seen_ago": st.sampled_from([0.0, 44.0, 46.0, 1e6]),
        "skills": st.sets(st.sampled_from(list(Skill)), max_size=2),
        "on_shift": st.booleans(),
        "busy": st.integers(0, 4).map(lambda v: v == 0),
        "in_need": st.integers(0, 6).map(lambda v: v == 0),
    }
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(ranked_member, max_size=30),
    placed,
    st.sampled_from(list(Category)),
    st.integers(0, 31),
)
def test_partial_selection_equals_a_full_sort(
    members: list[dict], at: tuple[float, float], category: Category, reporter: int
) -> None:
    """Ties everywhere (a coarse grid of places), offline members, stale fixes, skills:
    the first five and their notes are exactly those of a full sort."""
    roster = Roster(capacity=4)
    for member_id, m in enumerate(members, start=1):
        roster.add(member_id, f"m{member_id}", "G01", mask(m["skills"]), m["home"])
        roster.set_shift(member_id, m["on_shift"])
        roster.set_busy(member_id, m["busy"])
        roster.set_in_need(member_id, m["in_need"])
        roster.link_up(member_id, NOW - m["seen_ago"])
        if m["fix_age"] != math.inf:
            roster.set_fix(member_id, Fix(*m["xy"], 5.0, NOW - m["fix_age"]))
    point = Point(*at, "alert_fix")
    got = rank(roster, point, reporter, category, NOW, POLICY)
    assert [(r.member_id, r.skill_first_by_m) for r in got] == reference_rank(
        roster, point, reporter, category, NOW
    )
    for r in got:
        assert (r.skill_first_by_m is not None) == ("listed first for its skills" in r.reason)
