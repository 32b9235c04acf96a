"""Roll calls as pure functions: who is asked, the tally, silence, deadlines."""

from __future__ import annotations

import pytest

from dispatch_server.domain import roll_calls as rcs
from dispatch_server.domain.errors import Conflict
from dispatch_server.domain.events import Event, NewEvent
from dispatch_server.protocol.frames import RollCallAnswer as S

ON_SHIFT = {1: "G01", 2: "G01", 3: "G02", 4: "G03", 5: "G09"}


class Log:
    def __init__(self) -> None:
        self.seq = 0
        self.rc: rcs.RollCall | None = None

    def commit(self, new: NewEvent | None, at: float) -> rcs.RollCall:
        assert new is not None
        self.seq += 1
        event = Event(self.seq, new.type, at, new.actor, None, new.data, new.roll_call_id)
        self.rc = rcs.fold(self.rc, event)
        return self.rc


def started(timeout: float = 60.0) -> tuple[Log, rcs.RollCall]:
    log = Log()
    return log, log.commit(
        rcs.started(7, ["G01", "G02", "G03"], ON_SHIFT, 100.0, timeout, "d"), 100.0
    )


def test_only_members_on_shift_in_the_grids_are_asked() -> None:
    _, rc = started()
    assert rc.expected == {1: "G01", 2: "G01", 3: "G02", 4: "G03"}
    assert rc.deadline == 160.0 and rc.open


def test_tally_and_silent_grids() -> None:
    log, rc = started()
    rc = log.commit(rcs.answer(rc, 1, S.ALL_NORMAL, None, 110.0), 110.0)
    rc = log.commit(rcs.answer(rc, 3, S.NEED_HELP, "drunk man", 111.0), 111.0)
    t = rcs.tally(rc)
    assert t["G01"] == {"expected": 2, "all_normal": [1], "need_help": [], "missing": [2]}
    assert t["G02"] == {"expected": 1, "all_normal": [], "need_help": [3], "missing": []}
    assert t["G03"]["missing"] == [4]
    closed = log.commit(rcs.close(rc), 160.0)
    assert not closed.open and closed.silent_grids == ("G03",)


def test_answers_repeat_and_late() -> None:
    log, rc = started()
    rc = log.commit(rcs.answer(rc, 1, S.ALL_NORMAL, None, 110.0), 110.0)
    assert rcs.answer(rc, 1, S.ALL_NORMAL, None, 111.0) is None
    rc = log.commit(rcs.close(rc), 160.0)
    late = rcs.answer(rc, 2, S.NEED_HELP, None, 170.0)
    assert late is not None and late.data["late"] is True  # a late cry for help is still kept
    with pytest.raises(Conflict, match="was not called"):
        rcs.answer(rc, 5, S.ALL_NORMAL, None, 120.0)
    with pytest.raises(Conflict, match="already closed"):
        rcs.close(rc)


def test_deadlines_are_data() -> None:
    _, a = started(timeout=60)
    _, b = started(timeout=10)
    b = rcs.RollCall(**{**b.__dict__, "roll_call_id": 8})
    assert rcs.next_deadline([a, b]) == 110.0
    assert rcs.due([a, b], 109.9) == []
    assert rcs.due([a, b], 110.0) == [8]
    assert rcs.due([a, b], 200.0) == [7, 8]
    assert rcs.next_deadline([]) is None
