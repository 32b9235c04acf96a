"""The handheld's core: what the centre says goes in, what to do comes out. No I/O.

Like websockets' `protocol.py`, nothing here touches a socket, a file or a clock:
`PatrolClient` reads a frame off the link, `parse`s it, hands it to
`HandheldCore.receive`, and carries out what comes back (changes to the outbox, a
wake-up for the sender); it asks the core what answers to send. The core keeps
the `View` a screen shows. Tests drive it frame by frame, with no server.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, assert_never

from pydantic import ValidationError

from dispatch_server.protocol.frames import (
    SERVER_TO_HANDHELD,
    AlertAccepted,
    AlertCategoryRecorded,
    AlertUpdate,
    AssignmentFrame,
    AssignmentRecorded,
    AssignmentStatusRecorded,
    CheckInDue,
    CheckInRecorded,
    DrillFrame,
    ErrorFrame,
    RollCallFrame,
    RollCallRecorded,
    ShiftState,
    TeamCheck,
    ToHandheld,
    Welcome,
)
from patrol_client.outbox import TAKEN, Accept, Alarm, AlarmState, Change, Progress, Reject

log = logging.getLogger(__name__)

RESEND_AFTER_S = 10.0  # an alarm sent on this link and not answered by then is sent again
# `alert_update`'s status as the alarm's state; any other status (`open`, or one a newer
# server adds) means just "taken".
PROGRESS = {s.value: s for s in TAKEN}
# The centre's errors that mean "this alarm will never be taken": stop retrying it.
FINAL_ALERT_ERRORS = {"invalid_frame", "conflict"}


class Link(StrEnum):
    CONNECTING = "connecting"
    ONLINE = "online"
    OFFLINE = "offline"
    STOPPED = "stopped"


@dataclass
class Assignment:
    incident_id: int
    frame: AssignmentFrame
    answer: bool | None = None  # what the user chose
    recorded: bool = False  # the centre has it
    # Once accepted: "arrived" or "done", as the user said it from the scene.
    status: str | None = None
    status_recorded: bool = False


@dataclass
class RollCall:
    roll_call_id: int
    frame: RollCallFrame
    answer: str | None = None
    recorded: bool = False


@dataclass
class View:
    """Everything a screen shows, in one place."""

    link: Link = Link.CONNECTING
    welcome: Welcome | None = None
    on_shift: bool = False
    assignments: dict[int, Assignment] = field(default_factory=dict)
    roll_calls: dict[int, RollCall] = field(default_factory=dict)
    # Lone-worker mode: "warning" or "overdue" while the centre waits for a check-in.
    check_in_due: str | None = None
    check_in_wanted: bool = False
    stopped_because: str | None = None
    last_error: str | None = None
    # A drill the centre asked for (decision 50): the screen says "DRILL: press the red key",
    # and the next alarm carries it.
    drill_id: int | None = None


@dataclass(frozen=True)
class Unknown:
    """A frame of a type this handheld does not know: a newer server's. Ignored."""

    type: str


@dataclass(frozen=True)
class Wake:
    """Run the sender now: there may be an answer to send again."""


Effect = Change | Wake


def parse(text: str | bytes) -> ToHandheld | Unknown:
    """One frame from the centre, through the one adapter of every frame it sends.

    Not JSON, or a known type with missing or wrongly typed fields, raises: the link is
    dropped and made again, and the centre sends its backlog anew. Only an unknown type is
    tolerated, so a newer server can add frames without cutting off older handhelds."""
    data = json.loads(text)
    try:
        return SERVER_TO_HANDHELD.validate_python(data)
    except ValidationError as exc:
        kind = data.get("type") if isinstance(data, dict) else None
        if isinstance(kind, str) and {e["type"] for e in exc.errors()} == {"union_tag_invalid"}:
            return Unknown(kind)
        raise


def alarms_due(pending: Iterable[Alarm], sent_at: Mapping[str, float], now: float) -> list[Alarm]:
    """The alarms to send now, in the outbox's order: those not yet sent on this link, and
    those sent `RESEND_AFTER_S` ago without an answer. Only queued or sent ones: a rejected
    or accepted alarm is never sent again."""
    return [
        a
        for a in pending
        if a.state in (AlarmState.QUEUED, AlarmState.SENT)
        and now - sent_at.get(a.alert_id, float("-inf")) >= RESEND_AFTER_S
    ]


class HandheldCore:
    """The view, what the user wants sent, and how each frame from the centre changes them."""

    def __init__(self) -> None:
        self.view = View()
        self.want_shift: bool | None = None  # None: keep what the server has
        self.ignored: set[str] = set()  # frame types heard and not known

    # --- what the user does (True: there is something new to send) ----------------------

    def set_shift(self, on: bool) -> bool:
        self.want_shift = on
        return True

    def answer_assignment(self, incident_id: int, accept: bool) -> bool:
        if (a := self.view.assignments.get(incident_id)) is None:
            return False
        a.answer, a.recorded = accept, False
        return True

    def tell_status(self, incident_id: int, status: str) -> bool:
        """At the scene (`arrived`) or finished (`done`): only on an assignment accepted, and
        never back from `done` to `arrived`."""
        a = self.view.assignments.get(incident_id)
        if a is None or a.answer is not True or a.status == "done" or a.status == status:
            return False
        a.status, a.status_recorded = status, False
        return True

    def answer_roll_call(self, roll_call_id: int, status: str) -> bool:
        if (r := self.view.roll_calls.get(roll_call_id)) is None:
            return False
        r.answer, r.recorded = status, False
        return True

    def check_in(self) -> bool:
        """Lone-worker mode: "I am fine". Sent now, or on the next link."""
        self.view.check_in_wanted = True
        return True

    # --- what to send ---------------------------------------------------------------

    def shift_to_send(self) -> dict[str, Any] | None:
        if self.want_shift is None or self.want_shift == self.view.on_shift:
            return None
        return {"type": "shift_start" if self.want_shift else "shift_end"}

    def answers_to_send(self) -> list[dict[str, Any]]:
        """Every answer the centre has not confirmed yet: sent again until it does."""
        out: list[dict[str, Any]] = []
        if self.view.check_in_wanted:
            out.append({"type": "check_in"})
        for a in self.view.assignments.values():
            if a.answer is not None and not a.recorded:
                out.append(
                    {"type": "assignment_reply", "incident_id": a.incident_id, "accept": a.answer}
                )
            if a.status is not None and not a.status_recorded:
                out.append(
                    {"type": "assignment_status", "incident_id": a.incident_id, "status": a.status}
                )
        for r in self.view.roll_calls.values():
            if r.answer is not None and not r.recorded:
                out.append(
                    {"type": "roll_call_reply", "roll_call_id": r.roll_call_id, "status": r.answer}
                )
        return out

    # --- what the centre says ---------------------------------------------------------

    def welcome(self, frame: Welcome) -> None:
        self.view.welcome = frame
        self.view.on_shift = bool(frame.on_shift)

    def receive(self, frame: ToHandheld | Unknown) -> list[Effect]:
        match frame:
            case AlertAccepted():
                # "unattended": no duty volunteer at a console (escalation may or may not reach
                # anyone: the handheld must not promise that it did).
                detail = "unattended" if frame.unattended else None
                return [Accept(frame.alert_id, frame.incident_id, detail)]
            case AlertUpdate():
                state = PROGRESS.get(frame.status, AlarmState.ACCEPTED)
                coming = tuple(c.name or str(c.member_id) for c in frame.coming)
                return [
                    Progress(frame.alert_id, frame.incident_id, state, coming, frame.disposition)
                ]
            case ShiftState():
                self.view.on_shift = frame.on_shift
                if self.want_shift == frame.on_shift:
                    self.want_shift = None
            case AssignmentFrame():
                return self._assignment(frame)
            case AssignmentRecorded():
                if (a := self.view.assignments.get(frame.incident_id)) is not None:
                    a.recorded = a.answer == frame.accept
            case AssignmentStatusRecorded():
                if (a := self.view.assignments.get(frame.incident_id)) is not None:
                    a.status_recorded = a.status == frame.status
            case AlertCategoryRecorded():
                pass  # this handheld does not change categories
            case RollCallFrame():
                rid = frame.roll_call_id
                self.view.roll_calls.setdefault(rid, RollCall(rid, frame))
            case RollCallRecorded():
                if (r := self.view.roll_calls.get(frame.roll_call_id)) is not None:
                    r.recorded = r.answer == frame.status
            case CheckInDue():
                self.view.check_in_due = frame.state
            case TeamCheck():
                # The team watch asks the same "I am OK" (a check_in answers it; decision 48).
                self.view.check_in_due = None if frame.state == "clear" else frame.state
            case CheckInRecorded():
                self.view.check_in_wanted = False
                self.view.check_in_due = None
            case ErrorFrame():
                return self._error(frame)
            case DrillFrame():
                self.view.drill_id = frame.drill_id
            case Welcome():
                self.welcome(frame)
            case Unknown():
                self._ignore(frame)
            case _:
                assert_never(frame)
        return []

    def _assignment(self, frame: AssignmentFrame) -> list[Effect]:
        # Sent again after every hello while unanswered: keep the answer the user gave.
        known = self.view.assignments.get(frame.incident_id)
        if known is None:
            self.view.assignments[frame.incident_id] = Assignment(frame.incident_id, frame)
        else:
            known.frame = frame
        return [Wake()]

    def _error(self, frame: ErrorFrame) -> list[Effect]:
        self.view.last_error = f"{frame.code}: {frame.message}"
        if frame.alert_id and frame.ref_type == "alert" and frame.code in FINAL_ALERT_ERRORS:
            return [Reject(frame.alert_id, frame.message)]
        if frame.ref_type == "assignment_reply" and frame.incident_id is not None:
            # The incident is gone or was never ours: stop offering the answer.
            self.view.assignments.pop(frame.incident_id, None)
        if frame.ref_type == "assignment_status" and frame.incident_id is not None:
            a = self.view.assignments.get(frame.incident_id)
            if a is not None:
                a.status = None  # not accepted (any more), or over: stop saying it
        return []

    def _ignore(self, frame: Unknown) -> None:
        # Once per type: a newer server may send it often.
        if frame.type not in self.ignored:
            self.ignored.add(frame.type)
            log.warning("ignoring frames of type %r: this handheld does not know it", frame.type)
