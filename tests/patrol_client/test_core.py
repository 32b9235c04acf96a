"""The handheld's core without a server: frames in, outbox changes and view changes out."""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from dispatch_server.protocol.frames import (
    AlertAccepted,
    AlertCategoryRecorded,
    AlertUpdate,
    AssignmentFrame,
    AssignmentRecorded,
    AssignmentStatusRecorded,
    CheckInDue,
    CheckInRecorded,
    Coming,
    ErrorFrame,
    RollCallAnswer,
    RollCallFrame,
    RollCallRecorded,
    ServerFrame,
    ShiftState,
    Welcome,
)
from patrol_client.core import (
    RESEND_AFTER_S,
    HandheldCore,
    Unknown,
    Wake,
    alarms_due,
    parse,
)
from patrol_client.outbox import (
    NOT_YET_ACCEPTED,
    TAKEN,
    Accept,
    Alarm,
    AlarmState,
    Change,
    MarkSent,
    Outbox,
    Progress,
    Reject,
    next_state,
)

AT = "2026-11-22T08:30:00.123Z"


def text(frame: ServerFrame) -> str:
    return json.dumps(frame.wire(), ensure_ascii=False)


def feed(core: HandheldCore, frame: ServerFrame) -> list[Any]:
    """As the client does: the frame goes over the wire and through `parse`."""
    return core.receive(parse(text(frame)))


def assignment(incident_id: int = 7, distance_m: float | None = 184.2) -> AssignmentFrame:
    return AssignmentFrame(
        incident_id=incident_id,
        grid_id="G01",
        lon=113.04,
        lat=28.13,
        category="medical",
        distance_m=distance_m,
        opened_at=AT,
    )


# --- parse ---------------------------------------------------------------------------


def test_parse_gives_the_model_of_a_known_frame() -> None:
    assert parse('{"type": "shift", "on_shift": true}') == ShiftState(on_shift=True)
    got = parse(text(assignment(distance_m=None)))
    assert isinstance(got, AssignmentFrame) and got.distance_m is None and got.note is None


def test_parse_tolerates_a_type_from_a_newer_server() -> None:
    assert parse('{"type": "weather_warning", "level": 3}') == Unknown("weather_warning")


def test_parse_refuses_what_no_server_would_send() -> None:
    with pytest.raises(ValidationError):
        parse('{"type": "alert_accepted"}')  # a known type without its fields
    with pytest.raises(ValidationError):
        parse('{"status": "resolved"}')  # no type at all
    with pytest.raises(ValidationError):
        parse("[]")
    with pytest.raises(json.JSONDecodeError):
        parse("\x00\x01")


# --- alarms --------------------------------------------------------------------------


def test_alert_accepted_accepts_and_says_when_nobody_was_at_a_console() -> None:
    core = HandheldCore()
    frame = AlertAccepted(alert_id="a", incident_id=3, duplicate=False, unattended=True)
    assert feed(core, frame) == [Accept("a", 3, "unattended")]
    frame = AlertAccepted(alert_id="a", incident_id=3, duplicate=True)
    assert feed(core, frame) == [Accept("a", 3, None)]


@pytest.mark.parametrize(
    ("status", "state"),
    [
        ("open", AlarmState.ACCEPTED),
        ("acknowledged", AlarmState.ACKNOWLEDGED),
        ("responding", AlarmState.RESPONDING),
        ("resolved", AlarmState.RESOLVED),
        ("escalated_to_the_moon", AlarmState.ACCEPTED),  # a newer server's status
        ("queued", AlarmState.ACCEPTED),  # never drags an alarm back before "taken"
        ("rejected", AlarmState.ACCEPTED),
    ],
)
def test_alert_update_reports_progress(status: str, state: AlarmState) -> None:
    frame = AlertUpdate(
        alert_id="a",
        incident_id=3,
        status=status,
        acknowledged=True,
        coming=[Coming(member_id=12, name="张医生"), Coming(member_id=13, name="")],
        disposition="true_alarm",
    )
    assert feed(HandheldCore(), frame) == [Progress("a", 3, state, ("张医生", "13"), "true_alarm")]


@pytest.mark.parametrize("code", ["invalid_frame", "conflict"])
def test_an_alarm_the_centre_will_never_take_is_rejected(code: str) -> None:
    core = HandheldCore()
    frame = ErrorFrame(code=code, message="no", ref_type="alert", alert_id="a")
    assert feed(core, frame) == [Reject("a", "no")]
    assert core.view.last_error == f"{code}: no"


def test_an_alarm_the_centre_could_not_record_is_kept_to_send_again() -> None:
    core = HandheldCore()
    frame = ErrorFrame(code="unavailable", message="retry", ref_type="alert", alert_id="a")
    assert feed(core, frame) == []
    assert core.view.last_error == "unavailable: retry"


def _alarm(alert_id: str, state: AlarmState) -> Alarm:
    return Alarm(alert_id, 0.0, "unknown", state)


def test_alarms_due_are_the_unsent_and_the_unanswered() -> None:
    pending = [_alarm("new", AlarmState.QUEUED), _alarm("old", AlarmState.SENT)]
    pending.append(_alarm("recent", AlarmState.SENT))
    sent_at = {"old": 100.0, "recent": 100.0 + RESEND_AFTER_S / 2}
    due = alarms_due(pending, sent_at, 100.0 + RESEND_AFTER_S)
    assert [a.alert_id for a in due] == ["new", "old"]
    done = [_alarm("r", AlarmState.REJECTED), _alarm("t", AlarmState.ACCEPTED)]
    assert alarms_due(done, {}, 0.0) == []


# --- assignments, roll calls, check-ins, shifts -----------------------------------------


def test_an_assignment_sent_again_keeps_the_answer_given() -> None:
    core = HandheldCore()
    assert feed(core, assignment()) == [Wake()]
    assert core.answer_assignment(7, True)
    assert feed(core, assignment(distance_m=90.0)) == [Wake()]
    a = core.view.assignments[7]
    assert a.answer is True and a.frame.distance_m == 90.0 and not a.recorded
    assert core.answers_to_send() == [
        {"type": "assignment_reply", "incident_id": 7, "accept": True}
    ]


def test_an_answer_is_recorded_only_as_given() -> None:
    core = HandheldCore()
    feed(core, assignment())
    core.answer_assignment(7, True)
    feed(core, AssignmentRecorded(incident_id=7, accept=False))  # an older answer's echo
    assert not core.view.assignments[7].recorded
    feed(core, AssignmentRecorded(incident_id=7, accept=True))
    assert core.view.assignments[7].recorded
    assert core.answers_to_send() == []


def test_an_assignment_the_centre_refuses_to_hear_about_is_dropped() -> None:
    core = HandheldCore()
    feed(core, assignment())
    assert not core.answer_assignment(8, True)  # no such assignment: nothing to send
    frame = ErrorFrame(
        code="not_assigned", message="resolved", ref_type="assignment_reply", incident_id=7
    )
    assert feed(core, frame) == []
    assert core.view.assignments == {}


def test_arrived_and_done_are_said_after_accepting_until_heard() -> None:
    core = HandheldCore()
    feed(core, assignment())
    assert not core.tell_status(7, "arrived"), "not accepted yet"
    core.answer_assignment(7, True)
    assert core.tell_status(7, "arrived")
    assert core.answers_to_send() == [
        {"type": "assignment_reply", "incident_id": 7, "accept": True},
        {"type": "assignment_status", "incident_id": 7, "status": "arrived"},
    ], "the reply first: the server takes them in the order sent"
    feed(core, AssignmentRecorded(incident_id=7, accept=True))
    feed(core, AssignmentStatusRecorded(incident_id=7, status="arrived"))
    assert core.answers_to_send() == []
    assert not core.tell_status(7, "arrived"), "said and heard"
    assert core.tell_status(7, "done")
    feed(core, AssignmentStatusRecorded(incident_id=7, status="arrived"))  # an older echo
    assert core.answers_to_send() == [
        {"type": "assignment_status", "incident_id": 7, "status": "done"}
    ]
    assert not core.tell_status(7, "arrived"), "never back from done"
    feed(core, AssignmentStatusRecorded(incident_id=7, status="done"))
    assert core.answers_to_send() == []


def test_a_status_the_centre_refuses_is_not_said_again() -> None:
    core = HandheldCore()
    feed(core, assignment())
    core.answer_assignment(7, True)
    feed(core, AssignmentRecorded(incident_id=7, accept=True))
    core.tell_status(7, "done")
    frame = ErrorFrame(
        code="not_assigned", message="resolved", ref_type="assignment_status", incident_id=7
    )
    feed(core, frame)
    assert core.answers_to_send() == [] and 7 in core.view.assignments


def test_the_richer_frames_and_an_older_servers_plainer_ones_both_read() -> None:
    old = parse(
        '{"type": "alert_update", "alert_id": "a", "incident_id": 7, "status": "responding",'
        ' "acknowledged": true, "coming": [{"member_id": 8, "name": "Wang"}]}'
    )
    assert isinstance(old, AlertUpdate) and old.security == "none" and old.category is None
    assert old.coming[0].distance_m is None and not old.coming[0].arrived
    new = parse(text(assignment()).replace('"grid_id": "G01"', '"grid_id": "G01", "x": 1'))
    assert isinstance(new, AssignmentFrame) and new.grid_name_zh is None
    assert feed(core := HandheldCore(), AlertCategoryRecorded(
        alert_id="a", incident_id=7, category="fire")) == []  # fmt: skip
    assert core.view.last_error is None


def test_roll_call_asked_again_keeps_the_answer() -> None:
    core = HandheldCore()
    feed(core, RollCallFrame(roll_call_id=2, deadline=AT))
    core.answer_roll_call(2, "need_help")
    feed(core, RollCallFrame(roll_call_id=2, deadline=AT))
    assert core.view.roll_calls[2].answer == "need_help"
    assert core.answers_to_send() == [
        {"type": "roll_call_reply", "roll_call_id": 2, "status": "need_help"}
    ]
    feed(core, RollCallRecorded(roll_call_id=2, status=RollCallAnswer.NEED_HELP))
    assert core.view.roll_calls[2].recorded and core.answers_to_send() == []


def test_check_in_prompt_and_answer() -> None:
    core = HandheldCore()
    feed(core, CheckInDue(state="warning", since=AT))
    assert core.view.check_in_due == "warning"
    core.check_in()
    assert core.answers_to_send() == [{"type": "check_in"}]
    feed(core, CheckInRecorded(at=AT))
    assert core.view.check_in_due is None and core.answers_to_send() == []


def test_a_shift_change_is_asked_until_the_centre_confirms_it() -> None:
    core = HandheldCore()
    core.welcome(Welcome(server_time=AT, member_id=1, grid_id="G01", on_shift=False))
    assert core.shift_to_send() is None
    core.set_shift(True)
    assert core.shift_to_send() == {"type": "shift_start"}
    feed(core, ShiftState(on_shift=True))
    assert core.view.on_shift and core.want_shift is None and core.shift_to_send() is None
    feed(core, ShiftState(on_shift=False))  # ended elsewhere (an admin): no fight over it
    assert core.shift_to_send() is None


def test_a_frame_of_an_unknown_type_changes_nothing_and_is_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    core = HandheldCore()
    feed(core, assignment())
    before = copy.deepcopy(core.view)
    with caplog.at_level(logging.WARNING, logger="patrol_client.core"):
        for _ in range(3):
            assert core.receive(parse('{"type": "weather_warning"}')) == []
    assert core.view == before
    assert [r.getMessage() for r in caplog.records] == [
        "ignoring frames of type 'weather_warning': this handheld does not know it"
    ]


# --- the outbox's one rule ----------------------------------------------------------------


def test_the_rule_for_each_change() -> None:
    def moves(change: Change) -> dict[AlarmState, AlarmState]:
        return {s: to for s in AlarmState if (to := next_state(s, change)) is not None}

    pending = set(NOT_YET_ACCEPTED)
    assert moves(MarkSent("a")) == dict.fromkeys(pending, AlarmState.SENT)
    assert moves(Accept("a", 1)) == dict.fromkeys(pending, AlarmState.ACCEPTED)
    assert moves(Reject("a", "no")) == dict.fromkeys(pending, AlarmState.REJECTED)
    ack = moves(Progress("a", 1, AlarmState.ACKNOWLEDGED))
    assert set(ack) == set(AlarmState) - {AlarmState.REJECTED, AlarmState.RESOLVED}
    done = moves(Progress("a", 1, AlarmState.RESOLVED))
    assert set(done) == set(AlarmState) - {AlarmState.REJECTED}
    assert moves(Progress("a", 1, AlarmState.QUEUED)) == {}


# --- properties: random sequences of frames and key presses ---------------------------------

ALERT_IDS = ["a1", "a2"]
alert_ids = st.sampled_from(ALERT_IDS)
incidents = st.integers(1, 3)
roll_call_ids = st.integers(1, 2)
names = st.sampled_from(["", "张医生"])
STATUSES = ["open", "acknowledged", "dispatched", "responding", "resolved", "queued", "sent"]
CODES = ["invalid_frame", "conflict", "unavailable", "not_found", "not_assigned", "not_called"]

alarm_frames: st.SearchStrategy[ServerFrame] = st.one_of(
    st.builds(
        AlertAccepted,
        alert_id=alert_ids,
        incident_id=incidents,
        duplicate=st.booleans(),
        unattended=st.booleans(),
    ),
    st.builds(
        AlertUpdate,
        alert_id=alert_ids,
        incident_id=incidents,
        status=st.sampled_from([*STATUSES, "rejected", "escalated"]),
        acknowledged=st.booleans(),
        coming=st.lists(st.builds(Coming, member_id=st.integers(1, 5), name=names), max_size=2),
        disposition=st.none() | st.just("true_alarm"),
    ),
    st.builds(  # about an alarm, as the centre says it
        ErrorFrame,
        code=st.sampled_from(["invalid_frame", "conflict", "unavailable"]),
        message=st.just("m"),
        ref_type=st.just("alert"),
        alert_id=alert_ids,
    ),
)
server_frames: st.SearchStrategy[ServerFrame] = st.one_of(
    alarm_frames,
    st.builds(ShiftState, on_shift=st.booleans()),
    st.builds(
        AssignmentFrame,
        incident_id=incidents,
        grid_id=st.just("G01"),
        lon=st.just(113.0),
        lat=st.just(28.0),
        category=st.just("fire"),
        note=st.none() | st.just("二楼"),
        distance_m=st.none() | st.floats(0, 5000),
        opened_at=st.just(AT),
    ),
    st.builds(AssignmentRecorded, incident_id=incidents, accept=st.booleans()),
    st.builds(RollCallFrame, roll_call_id=roll_call_ids, deadline=st.just(AT)),
    st.builds(RollCallRecorded, roll_call_id=roll_call_ids, status=st.sampled_from(RollCallAnswer)),
    st.builds(CheckInDue, state=st.sampled_from(["warning", "overdue"]), since=st.just(AT)),
    st.builds(CheckInRecorded, at=st.just(AT)),
    st.builds(
        ErrorFrame,
        code=st.sampled_from(CODES),
        message=st.just("m"),
        ref_type=st.sampled_from(["alert", "assignment_reply", "roll_call_reply", "position"]),
        alert_id=st.none() | alert_ids,
        incident_id=st.none() | incidents,
    ),
)


@dataclass(frozen=True)
class Heard:
    """A frame from the centre, as text on the wire."""

    text: str


@dataclass(frozen=True)
class Press:
    alert_id: str


@dataclass(frozen=True)
class Send:
    """The sender's turn, `later` seconds after the last one."""

    later: float


@dataclass(frozen=True)
class Answer:
    what: str
    target: int
    value: Any


unknown_texts = st.builds(
    lambda kind, extra: json.dumps({"type": kind, "alert_id": extra}),
    st.sampled_from(["weather_warning", "ping"]),
    alert_ids,
)
sender_turns = st.floats(0, 2 * RESEND_AFTER_S).map(Send)
# Alarms only: the key, the sender, and what the centre says about them.
alarm_steps = st.one_of(
    alarm_frames.map(lambda f: Heard(text(f))),
    unknown_texts.map(Heard),
    alert_ids.map(Press),
    sender_turns,
)
steps = st.one_of(
    server_frames.map(lambda f: Heard(text(f))),
    unknown_texts.map(Heard),
    alert_ids.map(Press),
    sender_turns,
    st.builds(Answer, st.just("assignment"), incidents, st.booleans()),
    st.builds(Answer, st.just("roll_call"), roll_call_ids, st.sampled_from(RollCallAnswer)),
    st.builds(Answer, st.just("check_in"), st.just(0), st.none()),
    st.builds(Answer, st.just("shift"), st.just(0), st.booleans()),
)


class Handheld:
    """The core, with the outbox as a dict of states that follows the outbox's one rule."""

    def __init__(self) -> None:
        self.core = HandheldCore()
        self.alarms: dict[str, AlarmState] = {}
        self.sent_at: dict[str, float] = {}
        self.now = 0.0
        self.sent: list[tuple[str, AlarmState]] = []  # what went out, and its state then

    def apply(self, change: Change) -> None:
        state = self.alarms.get(change.alert_id)
        if state is not None and (to := next_state(state, change)) is not None:
            self.alarms[change.alert_id] = to

    def step(self, step: Heard | Press | Send | Answer) -> None:
        match step:
            case Heard(text=raw):
                for effect in self.core.receive(parse(raw)):
                    if not isinstance(effect, Wake):
                        self.apply(effect)
            case Press(alert_id=alert_id):
                self.alarms.setdefault(alert_id, AlarmState.QUEUED)
            case Send(later=later):
                self.now += later
                pending = [_alarm(a, s) for a, s in self.alarms.items() if s in NOT_YET_ACCEPTED]
                for alarm in alarms_due(pending, self.sent_at, self.now):
                    self.sent.append((alarm.alert_id, self.alarms[alarm.alert_id]))
                    self.sent_at[alarm.alert_id] = self.now
                    self.apply(MarkSent(alarm.alert_id))
            case Answer(what="assignment", target=iid, value=accept):
                self.core.answer_assignment(iid, accept)
            case Answer(what="roll_call", target=rid, value=status):
                self.core.answer_roll_call(rid, status)
            case Answer(what="check_in"):
                self.core.check_in()
            case Answer(what="shift", value=on):
                self.core.set_shift(on)


@settings(max_examples=300, deadline=None)
@given(st.lists(alarm_steps, max_size=60))
def test_whatever_the_centre_says_alarms_only_move_on(sequence: list[Any]) -> None:
    h = Handheld()
    for step in sequence:
        before = dict(h.alarms)
        h.step(step)
        for alert_id, was in before.items():
            now = h.alarms[alert_id]
            if was in TAKEN:  # once accepted, never un-accepted
                assert now in TAKEN, (alert_id, was, now)
            if was is AlarmState.REJECTED:  # rejected is final
                assert now is AlarmState.REJECTED
            if was is AlarmState.RESOLVED:  # the view never goes back from resolved
                assert now is AlarmState.RESOLVED
    # Only what the centre has not taken or refused ever goes out.
    assert all(state in NOT_YET_ACCEPTED for _, state in h.sent)
    # Every alarm pressed and not refused is sent, at the latest on the next turn of the sender.
    h.step(Send(RESEND_AFTER_S))
    unsent = [a for a, s in h.alarms.items() if s is AlarmState.QUEUED]
    assert unsent == []


def _answers(step: Any, what: str, target: int) -> bool:
    return isinstance(step, Answer) and step.what == what and step.target == target


@settings(max_examples=300, deadline=None)
@given(st.lists(steps, max_size=60))
def test_whatever_the_centre_says_the_users_answers_are_kept_until_heard(
    sequence: list[Any],
) -> None:
    h = Handheld()
    view = h.core.view
    for step in sequence:
        before = copy.deepcopy(view)
        wanted_shift = h.core.want_shift
        h.step(step)
        if isinstance(step, Heard) and isinstance(parse(step.text), Unknown):
            assert view == before  # a frame from a newer server changes nothing
        for rid, r in before.roll_calls.items():  # a roll call's answer is never lost
            if not _answers(step, "roll_call", rid):
                assert view.roll_calls[rid].answer == r.answer
        for iid, a in before.assignments.items():
            if (after := view.assignments.get(iid)) is None:
                # Dropped only when the centre says the incident is not this member's any more.
                assert isinstance(step, Heard) and '"assignment_reply"' in step.text
            elif not _answers(step, "assignment", iid):
                assert after.answer == a.answer
        if before.check_in_wanted and not view.check_in_wanted:
            assert isinstance(step, Heard) and isinstance(parse(step.text), CheckInRecorded)
        if wanted_shift is not None and h.core.want_shift is None:
            assert view.on_shift == wanted_shift
        # What is sent again is exactly what the user said and the centre has not confirmed.
        replies = h.core.answers_to_send()
        for a in view.assignments.values():
            assert a.answer is not None or not a.recorded
            wanted = {"type": "assignment_reply", "incident_id": a.incident_id, "accept": a.answer}
            assert (wanted in replies) == (a.answer is not None and not a.recorded)


changes: st.SearchStrategy[Change] = st.one_of(
    st.builds(MarkSent, alert_ids),
    st.builds(Accept, alert_ids, incidents, st.none() | st.just("unattended")),
    st.builds(Reject, alert_ids, st.just("no")),
    st.builds(
        Progress,
        alert_ids,
        incidents,
        st.sampled_from(AlarmState),
        st.lists(names, max_size=2).map(tuple),
        st.none() | st.just("test"),
    ),
)


@settings(max_examples=40, deadline=None)
@given(st.lists(changes, max_size=25))
def test_the_outbox_on_disk_follows_the_same_rule(sequence: list[Change]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        box = Outbox(Path(tmp) / "o.sqlite3")
        try:
            ids = {box.add().alert_id: name for name in ALERT_IDS}
            real = {name: alert_id for alert_id, name in ids.items()}
            model = dict.fromkeys(ALERT_IDS, AlarmState.QUEUED)
            for change in sequence:
                to = next_state(model[change.alert_id], change)
                on_disk = dataclasses.replace(change, alert_id=real[change.alert_id])
                assert box.apply(on_disk) == (to is not None)
                if to is not None:
                    model[change.alert_id] = to
                assert {ids[a.alert_id]: a.state for a in box.recent(10)} == model
            assert sorted(ids[a.alert_id] for a in box.pending()) == sorted(
                n for n, s in model.items() if s in NOT_YET_ACCEPTED
            )
        finally:
            box.close()
