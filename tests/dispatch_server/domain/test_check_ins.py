"""Lone-worker check-ins as pure functions: warning, then overdue, each once."""

from __future__ import annotations

from dispatch_server.domain import check_ins
from dispatch_server.domain.check_ins import CheckIn, Rule
from dispatch_server.domain.roster import Roster


def roster() -> Roster:
    r = Roster(capacity=2)
    for m, grid in ((1, "G01"), (2, "G01"), (3, "G02")):
        r.add(m, f"m{m}", grid, 0, (0.0, 0.0))
        r.set_shift(m, True)
        r.last_check_in[r.row[m]] = 100.0
    for m in (1, 2):  # G01 is in lone-worker mode: every 600 s, overdue 120 s later
        r.check_in_period[r.row[m]] = 600.0
        r.check_in_overdue_after[r.row[m]] = 120.0
    return r


def test_warning_then_overdue_and_only_where_a_rule_applies() -> None:
    r = roster()
    assert check_ins.next_due(r) == 700.0
    assert check_ins.due(r, 700.0) == []
    assert check_ins.due(r, 700.1) == [(1, CheckIn.WARNING), (2, CheckIn.WARNING)]
    r.check_in_state[r.row[1]] = CheckIn.WARNING
    r.last_check_in[r.row[2]] = 650.0  # member 2 checked in
    assert check_ins.next_due(r) == 820.0
    assert check_ins.due(r, 820.5) == [(1, CheckIn.OVERDUE)]
    r.check_in_state[r.row[1]] = CheckIn.OVERDUE
    assert check_ins.due(r, 5000.0) == [(2, CheckIn.OVERDUE)]  # straight past warning, once
    r.set_shift(2, False)
    assert check_ins.due(r, 5000.0) == [] and check_ins.next_due(r) is None


def test_a_members_rule_wins_over_the_grids() -> None:
    grid, mine = Rule(600, 120), Rule(60, 30)
    assert check_ins.rule_for(1, "G01", {1: mine}, {"G01": grid}) == mine
    assert check_ins.rule_for(2, "G01", {1: mine}, {"G01": grid}) == grid
    assert check_ins.rule_for(3, "G02", {1: mine}, {"G01": grid}) is None
