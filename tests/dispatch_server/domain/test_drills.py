"""Drills as pure functions (decision 50): whom a grid drill asks, which alarm may answer a
drill, what the console is shown of an unannounced one, and which partners a drill reaches."""

from __future__ import annotations

from dataclasses import replace

import pytest

from dispatch_server.domain import drills
from dispatch_server.domain.drills import Drill, DrillState
from dispatch_server.domain.errors import Conflict
from dispatch_server.domain.events import Event, EventType
from dispatch_server.domain.incidents import acknowledge, dispatch, fold, opened

STARTED = Drill(7, 3, None, 100.0, False, DrillState.STARTED)


def _opened(**data: object) -> Event:
    base = {
        "alert_id": "a",
        "grid_id": "G03",
        "lon": 113.0,
        "lat": 28.0,
        "inside_grid": True,
        "point_source": "alert_fix",
        "category": "unknown",
        "reporter_id": 3,
        "responders": [],
    }
    return Event(1, EventType.INCIDENT_OPENED, 50.0, "member:3", 9, {**base, **data})


def test_a_grid_drill_asks_someone_else_from_drill_to_drill() -> None:
    assert drills.pick(1, []) is None
    picked = {drills.pick(i, [12, 4, 8]) for i in range(3)}
    assert picked == {4, 8, 12}
    assert drills.pick(5, [12, 4, 8]) == drills.pick(5, [4, 8, 12])


def test_only_the_members_waiting_drill_may_be_answered() -> None:
    assert drills.check_alarm(STARTED, 7, 3) is STARTED
    with pytest.raises(Conflict, match="no drill 7"):
        drills.check_alarm(None, 7, 3)
    with pytest.raises(Conflict, match="not for member 4"):
        drills.check_alarm(STARTED, 7, 4)
    for state in (DrillState.SCHEDULED, DrillState.RAISED, DrillState.NO_MEMBER):
        with pytest.raises(Conflict, match=state.value):
            drills.check_alarm(replace(STARTED, state=state), 7, 3)


def test_an_unannounced_drill_is_hidden_until_acknowledged_or_dispatched() -> None:
    inc = opened(_opened(**drills.opening(STARTED)))
    assert (inc.drill, inc.drill_id, inc.drill_announced) == (True, 7, False)
    assert drills.hidden(inc)
    ack = acknowledge(inc, "dispatcher:1")
    assert ack.data == {"drill": True, "drill_id": 7}, "the acknowledgement says it"
    after = fold(inc, Event(2, ack.type, 60.0, ack.actor, 9, ack.data))
    assert not drills.hidden(after)
    assert dispatch(inc, [5], "dispatcher:1").data == {
        "member_ids": [5],
        "drill": True,
        "drill_id": 7,
    }
    assert dispatch(after, [5], "dispatcher:1").data == {"member_ids": [5]}
    announced = opened(_opened(**drills.opening(replace(STARTED, announced=True))))
    assert announced.drill and not drills.hidden(announced)
    real = opened(_opened())
    assert not real.drill and not drills.hidden(real)
    assert acknowledge(real, "dispatcher:1").data == {}


def test_the_console_is_not_told_what_a_hidden_drill_is() -> None:
    started = {"type": "drill_started", "seq": 4, "at": "t", "drill_id": 7, "announced": False}
    assert drills.for_console(started) == {"type": "withheld", "seq": 4, "at": "t"}
    assert drills.for_console({**started, "announced": True})["drill_id"] == 7
    frame = {"type": "incident_opened", "seq": 5, "at": "t", "grid_id": "G03"}
    marked = {**frame, "drill": True, "drill_id": 7, "drill_announced": False}
    assert drills.for_console(marked) == frame
    assert drills.for_console(marked, revealed=True) == marked
    step = {"type": "incident_escalated", "seq": 6, "at": "t", "partner_ids": [1]}
    hidden_step = {**step, "drill_skipped": [2], "drill_hidden": True}
    assert drills.for_console(hidden_step) == step
    shown = {**step, "drill_skipped": [2]}
    assert drills.for_console(shown) == shown
    announced = {**frame, "drill": True, "drill_id": 7, "drill_announced": True}
    assert drills.for_console(announced) == announced


def test_a_drill_reaches_only_partners_that_opted_in() -> None:
    accepts = {1: True, 2: False}
    assert drills.split_partners(False, [1, 2, 3], accepts) == ([1, 2, 3], [])
    assert drills.split_partners(True, [1, 2, 3], accepts) == ([1], [2, 3])
