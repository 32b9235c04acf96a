"""The incident's life as pure functions: no server, no database, no sleep."""

from __future__ import annotations

from typing import Any

import pytest

from dispatch_server.domain import incidents as inc
from dispatch_server.domain.errors import Conflict
from dispatch_server.domain.events import Event, EventType, NewEvent
from dispatch_server.domain.incidents import Disposition, Reply, Source, Status
from dispatch_server.domain.roll_calls import need_help_alert_id

OPEN_DATA: dict[str, Any] = {
    "alert_id": "a",
    "grid_id": "G01",
    "inside_grid": True,
    "point_source": "alert_fix",
    "lon": 113.04,
    "lat": 28.13,
    "category": "medical",
    "reporter_id": 1,
    "responders": [],
}


class Log:
    """Commits decided events with increasing seq, as the writer would."""

    def __init__(self) -> None:
        self.seq = 0
        self.state: inc.Incident | None = None

    def commit(self, new: NewEvent | None) -> inc.Incident:
        assert new is not None
        self.seq += 1
        event = Event(self.seq, new.type, float(self.seq), new.actor, new.incident_id, new.data)
        self.state = inc.fold(self.state, event)
        return self.state


def opened() -> tuple[Log, inc.Incident]:
    log = Log()
    state = log.commit(NewEvent(EventType.INCIDENT_OPENED, "member:1", 7, OPEN_DATA))
    return log, state


def test_open_acknowledge_dispatch_accept_resolve() -> None:
    log, s = opened()
    assert s.status is Status.OPEN and s.incident_id == 7
    s = log.commit(inc.acknowledge(s, "dispatcher:1"))
    assert s.status is Status.ACKNOWLEDGED and s.acknowledged_by == "dispatcher:1"
    s = log.commit(inc.dispatch(s, [2, 3, 2], "dispatcher:1"))
    assert s.status is Status.DISPATCHED and list(s.assignments) == [2, 3]
    s = log.commit(inc.reply(s, 3, False, "member:3"))
    assert s.status is Status.DISPATCHED and inc.busy_members(s) == set()
    s = log.commit(inc.reply(s, 2, True, "member:2"))
    assert s.status is Status.RESPONDING and inc.busy_members(s) == {2}
    s = log.commit(inc.add_note(s, "on scene", "dispatcher:1"))
    s = log.commit(inc.resolve(s, Disposition.TRUE_ALARM, "done", "dispatcher:1"))
    assert s.status is Status.RESOLVED and s.disposition is Disposition.TRUE_ALARM
    assert s.closing_note == "done"
    assert inc.busy_members(s) == set()
    assert s.last_seq == log.seq == 7


def test_dispatch_from_open_counts_as_acknowledged() -> None:
    log, s = opened()
    s = log.commit(inc.dispatch(s, [2], "dispatcher:4"))
    assert s.acknowledged_by == "dispatcher:4" and s.status is Status.DISPATCHED


def test_a_declined_member_can_be_called_again() -> None:
    log, s = opened()
    s = log.commit(inc.dispatch(s, [2], "d"))
    s = log.commit(inc.reply(s, 2, False, "member:2"))
    s = log.commit(inc.dispatch(s, [2], "d"))
    assert s.assignments[2].reply is Reply.PENDING


def test_repeating_the_same_reply_makes_no_event() -> None:
    log, s = opened()
    s = log.commit(inc.dispatch(s, [2], "d"))
    s = log.commit(inc.reply(s, 2, True, "member:2"))
    assert inc.reply(s, 2, True, "member:2") is None
    # Changing one's mind is an event.
    s = log.commit(inc.reply(s, 2, False, "member:2"))
    assert s.status is Status.DISPATCHED


@pytest.mark.parametrize(
    ("prepare", "command", "words"),
    [
        ([], lambda s: inc.dispatch(s, [1], "d"), "raised this alarm"),
        ([], lambda s: inc.dispatch(s, [], "d"), "at least one"),
        ([], lambda s: inc.reply(s, 5, True, "member:5"), "was not dispatched"),
        (["ack"], lambda s: inc.acknowledge(s, "d"), "already acknowledged"),
        (["dispatch2"], lambda s: inc.dispatch(s, [2], "d"), "already dispatched"),
        (["resolve"], lambda s: inc.resolve(s, Disposition.TEST, None, "d"), "already resolved"),
        (["resolve"], lambda s: inc.acknowledge(s, "d"), "it is resolved"),
        (["resolve"], lambda s: inc.dispatch(s, [3], "d"), "it is resolved"),
        (["dispatch2", "resolve"], lambda s: inc.reply(s, 2, True, "member:2"), "it is resolved"),
    ],
)
def test_illegal_moves_are_conflicts(prepare: list[str], command: Any, words: str) -> None:
    log, s = opened()
    for step in prepare:
        if step == "ack":
            s = log.commit(inc.acknowledge(s, "d"))
        elif step == "dispatch2":
            s = log.commit(inc.dispatch(s, [2], "d"))
        elif step == "resolve":
            s = log.commit(inc.resolve(s, Disposition.FALSE_ALARM, None, "d"))
    with pytest.raises(Conflict, match=words):
        command(s)


def test_notes_are_allowed_after_resolution() -> None:
    log, s = opened()
    s = log.commit(inc.resolve(s, Disposition.TEST, None, "d"))
    s = log.commit(inc.add_note(s, "follow-up call made", "d"))
    assert s.notes[-1]["text"] == "follow-up call made"


def test_every_command_is_in_the_transition_table() -> None:
    assert set(inc.ALLOWED) == set(inc.Command)
    assert Status.RESOLVED not in inc.ALLOWED[inc.Command.RESOLVE]


def test_fold_refuses_an_event_before_its_opening() -> None:
    event = Event(1, EventType.NOTE_ADDED, 1.0, "d", 7, {"text": "x"})
    with pytest.raises(ValueError, match="before its incident was opened"):
        inc.fold(None, event)


def _origin(**data: Any) -> tuple[Source, int | None, str | None]:
    state = inc.fold(None, Event(1, EventType.INCIDENT_OPENED, 1.0, "member:1", 7, data))
    return state.source, state.roll_call_id, state.note


def test_an_incident_says_what_opened_it() -> None:
    assert _origin(**OPEN_DATA) == (Source.ALARM, None, None)
    assert _origin(**OPEN_DATA, note="smoke") == (Source.ALARM, None, "smoke")
    help_ = {**OPEN_DATA, "source": "roll_call", "roll_call_id": 3, "note": "ankle"}
    assert _origin(**help_) == (Source.ROLL_CALL, 3, "ankle")
    assert _origin(**OPEN_DATA, source="check_in", note=None) == (Source.CHECK_IN, None, None)


def test_events_from_before_source_read_as_what_they_were() -> None:
    """Issue 12: a need_help or an overdue check-in once said so only in an English note."""
    legacy = {**OPEN_DATA, "alert_id": str(need_help_alert_id(3, 1))}
    assert _origin(**legacy, note="need help (roll call 3)") == (Source.ROLL_CALL, 3, None)
    said = "need help (roll call 3): ankle,\nbadly"
    assert _origin(**legacy, note=said) == (Source.ROLL_CALL, 3, "ankle,\nbadly")
    # The same words typed by a member on an alarm of their own are only a note.
    typed = "need help (roll call 3)"
    assert _origin(**OPEN_DATA, note=typed) == (Source.ALARM, None, typed)
    overdue = "lone-worker check-in overdue"
    assert _origin(**OPEN_DATA, note=overdue) == (Source.CHECK_IN, None, None)
