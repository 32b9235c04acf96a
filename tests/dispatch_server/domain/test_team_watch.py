"""The team watch as a pure function of the roster: drift past its grace time (said once),
the rejoin margin (no flapping), an answer, the overdue step, and silence while the team is
heard (flagged, never said twice)."""

from __future__ import annotations

from dispatch_server.domain.roster import Fix, Roster
from dispatch_server.domain.team_watch import (
    Flag,
    Kind,
    Policy,
    Reason,
    Step,
    distances,
    next_due,
    step,
)

P = Policy(drift_m=300.0, drift_grace_s=120.0, answer_s=60.0, fresh_fix_s=300.0)
T0 = 1000.0


def team() -> Roster:
    """Three members on shift in G01, 10 m apart, fixes fresh at T0; one in G02 far away."""
    r = Roster(capacity=2)
    for m, grid, x in ((1, "G01", 0.0), (2, "G01", 10.0), (3, "G01", 20.0), (4, "G02", 5000.0)):
        r.add(m, f"m{m}", grid, 0, (0.0, 0.0))
        r.set_shift(m, True, T0)
        r.link_up(m, T0)
        r.last_check_in[r.row[m]] = T0
        r.set_fix(m, Fix(x, 0.0, 5.0, T0))
    return r


def move(r: Roster, m: int, x: float, at: float) -> None:
    r.set_fix(m, Fix(x, 0.0, 5.0, at))
    r.link_up(m, at)


def test_distance_is_to_the_nearest_teammate_with_a_fresh_fix() -> None:
    r = team()
    assert distances(r, T0, P.fresh_fix_s) == {1: 10.0, 2: 10.0, 3: 10.0}, "4 has no teammate"
    move(r, 3, 420.0, T0 + 50)
    assert distances(r, T0 + 50, P.fresh_fix_s)[3] == 410.0
    assert 3 not in distances(r, T0 + 301, P.fresh_fix_s), "nobody else's fix is fresh then"


def test_drift_is_said_once_after_the_grace_time() -> None:
    r = team()
    move(r, 3, 420.0, T0)
    far, steps = step(r, T0, {}, {}, P)
    assert far == {3: T0} and steps == []
    assert next_due(r, far, {}, P) == T0 + 120
    far, steps = step(r, T0 + 119.9, far, {}, P)
    assert steps == [], "just short of the grace edge"
    far, steps = step(r, T0 + 120, far, {}, P)
    assert steps == [Step(Kind.DRIFT, 3, "G01", Reason.DRIFT, 410.0)] and far == {}
    flags = {3: Flag(Reason.DRIFT, T0 + 120)}
    assert step(r, T0 + 150, far, flags, P) == ({}, []), "flagged: not said again"


def test_a_drift_shorter_than_the_grace_time_says_nothing() -> None:
    r = team()
    move(r, 3, 420.0, T0)
    far, _ = step(r, T0, {}, {}, P)
    move(r, 3, 30.0, T0 + 100)
    far, steps = step(r, T0 + 100, far, {}, P)
    assert far == {} and steps == []
    move(r, 3, 420.0, T0 + 110)
    far, steps = step(r, T0 + 200, step(r, T0 + 110, far, {}, P)[0], {}, P)
    assert steps == [] and far == {3: T0 + 110}, "a new drift starts a new grace time"


def test_rejoining_needs_the_margin() -> None:
    r = team()
    flags = {3: Flag(Reason.DRIFT, T0)}
    move(r, 3, 280.0, T0 + 10)  # 270 m: inside 300 m, not inside 240 m
    assert step(r, T0 + 10, {}, flags, P)[1] == []
    move(r, 3, 249.0, T0 + 20)  # 239 m
    assert step(r, T0 + 20, {}, flags, P)[1] == [Step(Kind.REJOINED, 3, "G01", Reason.DRIFT, 239.0)]


def test_unanswered_is_overdue_once_and_an_answer_stops_it() -> None:
    r = team()
    move(r, 3, 420.0, T0)
    flags = {3: Flag(Reason.DRIFT, T0 + 120)}
    assert next_due(r, {}, flags, P) == T0 + 180
    assert step(r, T0 + 179, {}, flags, P)[1] == []
    assert step(r, T0 + 180, {}, flags, P)[1] == [Step(Kind.OVERDUE, 3, "G01", Reason.DRIFT)]
    overdue = {3: Flag(Reason.DRIFT, T0 + 120, overdue=True)}
    assert step(r, T0 + 500, {}, overdue, P)[1] == [] and next_due(r, {}, overdue, P) is None
    r.last_check_in[r.row[3]] = T0 + 150  # "I am OK"
    assert step(r, T0 + 500, {}, flags, P)[1] == [] and next_due(r, {}, flags, P) is None


def test_off_shift_clears_a_flag() -> None:
    r = team()
    r.set_shift(3, False)
    flags = {3: Flag(Reason.DRIFT, T0)}
    assert step(r, T0 + 1, {}, flags, P)[1] == [Step(Kind.REJOINED, 3, "G01", Reason.DRIFT)]


def test_silent_while_the_team_is_heard_is_flagged_without_a_word() -> None:
    r = team()
    r.set_marked_offline(3, True)  # supervision said member_offline
    _, steps = step(r, T0 + 50, {}, {}, P)
    assert steps == [Step(Kind.SILENT, 3, "G01", Reason.SILENT)]
    flags = {3: Flag(Reason.SILENT, T0 + 50)}
    assert step(r, T0 + 109, {}, flags, P)[1] == []
    assert step(r, T0 + 110, {}, flags, P)[1] == [Step(Kind.OVERDUE, 3, "G01", Reason.SILENT)]
    r.set_marked_offline(3, False)  # heard again
    assert step(r, T0 + 60, {}, flags, P)[1] == [Step(Kind.FORGET, 3, "G01", Reason.SILENT)]
    said = {3: Flag(Reason.SILENT, T0 + 50, overdue=True)}
    assert step(r, T0 + 200, {}, said, P)[1] == [Step(Kind.REJOINED, 3, "G01", Reason.SILENT)]


def test_a_whole_team_silent_is_not_flagged() -> None:
    r = team()
    for m in (1, 2, 3):
        r.set_marked_offline(m, True)
    assert step(r, T0 + 50, {}, {}, P)[1] == []
    r.set_marked_offline(4, True)  # alone in G02: no team
    assert step(r, T0 + 50, {}, {}, P)[1] == []
