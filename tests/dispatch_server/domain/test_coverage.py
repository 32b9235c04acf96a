"""Coverage gaps as a pure function: the grace edge, one gap per crossing, restored when
staffed or when the shift is over, unplanned grids and off-shift hours not watched."""

from __future__ import annotations

from dispatch_server.domain.coverage import Gap, Short, Why, next_due, staffed, step
from dispatch_server.domain.roster import Roster
from dispatch_server.domain.shifts import Shift

M, E = Shift.MORNING, Shift.EVENING
GRACE = 600.0


def test_staffed_counts_members_on_shift_and_heard_by_grid() -> None:
    r = Roster(capacity=2)
    for m, grid in ((1, "G01"), (2, "G01"), (3, "G01"), (4, "G02"), (5, "G03")):
        r.add(m, f"m{m}", grid, 0, (0.0, 0.0))
        r.set_shift(m, m != 5)
    r.set_marked_offline(3, True)  # on shift but silent: not covering
    assert staffed(r) == {"G01": 2, "G02": 1}


def test_short_past_the_grace_time_is_one_gap() -> None:
    shorts, gaps = step({}, M, {"G01", "G02"}, {"G01": 1, "G02": 2}, 100.0, 2, GRACE)
    assert shorts == {"G01": Short(M, 100.0)} and gaps == []
    assert next_due(shorts, GRACE) == 700.0
    shorts, gaps = step(shorts, M, {"G01", "G02"}, {"G01": 1, "G02": 2}, 699.9, 2, GRACE)
    assert gaps == [], "not yet at the grace edge"
    shorts, gaps = step(shorts, M, {"G01", "G02"}, {"G01": 0, "G02": 2}, 700.0, 2, GRACE)
    assert gaps == [Gap("G01", M, 0, 100.0)]
    assert shorts == {"G01": Short(M, 100.0, said=True)} and next_due(shorts, GRACE) is None
    shorts, gaps = step(shorts, M, {"G01", "G02"}, {"G01": 1}, 5000.0, 2, GRACE)
    assert gaps == [], "said once, however long it lasts"
    shorts, gaps = step(shorts, M, {"G01", "G02"}, {"G01": 2, "G02": 2}, 5001.0, 2, GRACE)
    assert gaps == [Gap("G01", M, 2, 100.0, Why.STAFFED)] and shorts == {}


def test_a_short_dip_says_nothing_and_the_grace_starts_again() -> None:
    shorts, _ = step({}, M, {"G01"}, {"G01": 1}, 100.0, 2, GRACE)
    shorts, gaps = step(shorts, M, {"G01"}, {"G01": 2}, 650.0, 2, GRACE)
    assert shorts == {} and gaps == []
    shorts, gaps = step(shorts, M, {"G01"}, {"G01": 1}, 660.0, 2, GRACE)
    assert shorts == {"G01": Short(M, 660.0)} and gaps == []
    assert step(shorts, M, {"G01"}, {"G01": 1}, 1259.0, 2, GRACE)[1] == []


def test_only_planned_grids_in_a_shift_are_watched() -> None:
    assert step({}, M, {"G01"}, {}, 100.0, 2, GRACE)[0].keys() == {"G01"}
    assert step({}, None, {"G01"}, {}, 100.0, 2, GRACE) == ({}, []), "no shift now"
    assert step({}, M, set(), {}, 100.0, 2, GRACE) == ({}, [])


def test_the_shift_ending_ends_its_gap_and_the_next_shift_starts_afresh() -> None:
    said = {"G01": Short(M, 100.0, said=True), "G02": Short(M, 900.0)}
    shorts, gaps = step(said, E, {"G01"}, {"G01": 0}, 1000.0, 2, GRACE)
    assert gaps == [Gap("G01", M, 0, 100.0, Why.SHIFT_OVER)]
    assert shorts == {"G01": Short(E, 1000.0)}, "the evening gap needs its own grace time"
    shorts, gaps = step(said, None, {"G01"}, {}, 1000.0, 2, GRACE)
    assert gaps == [Gap("G01", M, 0, 100.0, Why.SHIFT_OVER)] and shorts == {}


def test_a_minimum_of_zero_never_gaps() -> None:
    assert step({}, M, {"G01"}, {}, 100.0, 0, GRACE) == ({}, [])


def test_an_emptied_slot_ends_its_gap() -> None:
    said = {"G01": Short(M, 100.0, said=True)}
    assert step(said, M, set(), {"G01": 1}, 1000.0, 2, GRACE) == (
        {},
        [Gap("G01", M, 1, 100.0, Why.UNPLANNED)],
    )
