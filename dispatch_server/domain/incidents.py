"""An incident's life, as pure functions: fold events into state, decide commands into events.

The log is the truth; `Incident` is only ever what `fold` makes of it. Every
command is checked against one transition table, and an illegal move raises
`Conflict`, which the edges turn into a 409 or an `error` frame.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from dispatch_server.domain.errors import Conflict
from dispatch_server.domain.events import Event, EventType, NewEvent
from dispatch_server.domain.events import fold_all as events_fold_all
from dispatch_server.domain.roll_calls import need_help_alert_id


class Status(StrEnum):
    OPEN = "open"  # alarm in, nobody at the console has said they saw it
    ACKNOWLEDGED = "acknowledged"
    DISPATCHED = "dispatched"  # responders called, none has accepted yet
    RESPONDING = "responding"  # at least one responder is on the way
    RESOLVED = "resolved"


class Disposition(StrEnum):
    TRUE_ALARM = "true_alarm"
    FALSE_ALARM = "false_alarm"
    TEST = "test"
    HANDLED_BY_PARTNER = "handled_by_partner"


class Source(StrEnum):
    """What opened the incident: a member's alarm key, a `need_help` answer to a roll call,
    or a lone-worker check-in that ran out. The console words each as what it is."""

    ALARM = "alarm"
    ROLL_CALL = "roll_call"
    CHECK_IN = "check_in"
    TEAM_WATCH = "team_watch"  # a team check (drift or silence) unanswered (decision 48)


class Reply(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"


class ResponderStatus(StrEnum):
    """What a responder who accepted says from the scene (`assignment_status`)."""

    ARRIVED = "arrived"
    DONE = "done"


class Security(StrEnum):
    """What the reporter's handheld may say of security partners, truthfully: `called` only
    once the log shows a partner got the incident (a webhook delivery succeeded, or the
    partner acknowledged or wrote), `acknowledged` once one acknowledged."""

    NONE = "none"
    CALLED = "called"
    ACKNOWLEDGED = "acknowledged"


class Command(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    DISPATCH = "dispatch"
    REPLY = "reply"
    NOTE = "note"
    RESOLVE = "resolve"
    STATUS = "status"
    CATEGORY = "category"


ACTIVE = frozenset({Status.OPEN, Status.ACKNOWLEDGED, Status.DISPATCHED, Status.RESPONDING})

# The one transition table: which command is allowed in which state.
ALLOWED: dict[Command, frozenset[Status]] = {
    Command.ACKNOWLEDGE: frozenset({Status.OPEN}),
    # Dispatching straight from OPEN counts as acknowledging: the volunteer has seen it.
    Command.DISPATCH: ACTIVE,
    Command.REPLY: ACTIVE,
    # A note is not a state change; follow-ups after resolution belong in the log too.
    Command.NOTE: ACTIVE | {Status.RESOLVED},
    Command.RESOLVE: ACTIVE,
    Command.STATUS: ACTIVE,
    Command.CATEGORY: ACTIVE,
}


@dataclass(frozen=True)
class Assignment:
    member_id: int
    reply: Reply
    dispatched_at: float
    replied_at: float | None = None
    # The responder's own word (`responder_status`): at the scene, and finished there.
    arrived_at: float | None = None
    done_at: float | None = None


@dataclass(frozen=True)
class Incident:
    incident_id: int
    alert_id: str
    status: Status
    grid_id: str
    lon: float
    lat: float
    inside_grid: bool
    point_source: str
    category: str
    reporter_id: int
    opened_at: float
    note: str | None = None
    # When the key was pressed, as the server kept it (domain/press.py); None: not said.
    pressed_at: float | None = None
    source: Source = Source.ALARM
    # The roll call a `need_help` answer came from (source roll_call).
    roll_call_id: int | None = None
    responders: tuple[dict[str, Any], ...] = ()
    acknowledged_at: float | None = None
    acknowledged_by: str | None = None
    assignments: dict[int, Assignment] = field(default_factory=dict)
    notes: tuple[dict[str, Any], ...] = ()
    resolved_at: float | None = None
    resolved_by: str | None = None
    disposition: Disposition | None = None
    # What the duty volunteer wrote when resolving it (incident_resolved `note`).
    closing_note: str | None = None
    # Escalation: no duty console was connected when it opened; rules that fired; partners.
    unattended: bool = False
    # The escalation steps taken: (trigger, to, category, grid_id) of each rule that fired.
    escalated_steps: frozenset[tuple[str, str, str | None, str | None]] = frozenset()
    escalated_to: frozenset[int] = frozenset()
    partner_acks: frozenset[int] = frozenset()
    # Partners the log shows got it: a webhook delivery succeeded, or they acknowledged or
    # wrote (what the reporter's handheld may call "security called").
    reached: frozenset[int] = frozenset()
    # Steps that reached nobody (no partner of that kind covers the grid): the console must
    # say so loudly, since someone has to phone the guards.
    escalation_problems: tuple[dict[str, Any], ...] = ()
    # Photos and clips whose upload completed (media_attached), in order: `{media_id, kind,
    # content_type, size, sha256, at, member_id, duration_s, expired}` (decision 37).
    media: tuple[dict[str, Any], ...] = ()
    # A drill (decision 50): which, and whether the console was told from the start.
    drill: bool = False
    drill_id: int | None = None
    drill_announced: bool = True
    # A silent alarm under duress (taken as violence; the handheld shows nothing).
    duress: bool = False
    last_seq: int = 0


# Before `source` (issue 12) a roll call's `need_help` and an overdue check-in said what they
# were only in an English note; events written then are read as what they were.
LEGACY_NEED_HELP = re.compile(r"need help \(roll call (\d+)\)(?:: (.*))?", re.DOTALL)
LEGACY_OVERDUE = "lone-worker check-in overdue"


def origin(d: dict[str, Any]) -> tuple[Source, int | None, str | None]:
    """(source, roll_call_id, the member's own note) of an `incident_opened` event's data."""
    note = d.get("note")
    if "source" in d:
        return Source(d["source"]), d.get("roll_call_id"), note
    legacy = LEGACY_NEED_HELP.fullmatch(note or "")
    # The alert_id a need_help answer makes: a member who typed that note is not taken for one.
    if legacy and d["alert_id"] == str(need_help_alert_id(int(legacy[1]), d["reporter_id"])):
        return Source.ROLL_CALL, int(legacy[1]), legacy[2]
    if note == LEGACY_OVERDUE:
        return Source.CHECK_IN, None, None
    return Source.ALARM, None, note


def opened(event: Event) -> Incident:
    d = event.data
    assert event.incident_id is not None
    source, roll_call_id, note = origin(d)
    return Incident(
        incident_id=event.incident_id,
        alert_id=d["alert_id"],
        status=Status.OPEN,
        grid_id=d["grid_id"],
        lon=d["lon"],
        lat=d["lat"],
        inside_grid=d["inside_grid"],
        point_source=d["point_source"],
        category=d["category"],
        reporter_id=d["reporter_id"],
        opened_at=event.at,
        note=note,
        pressed_at=_when(d.get("pressed_at")),
        source=source,
        roll_call_id=roll_call_id,
        responders=tuple(d["responders"]),
        unattended=d.get("unattended", False),
        drill=d.get("drill") is True,
        drill_id=d.get("drill_id"),
        drill_announced=d.get("drill_announced", True),
        duress=d.get("duress") is True,
        last_seq=event.seq,
    )


def _when(text: str | None) -> float | None:
    """A time the event data holds as the wire writes it (UTC ISO 8601, `Z`)."""
    return None if text is None else datetime.fromisoformat(text).timestamp()


def fold(incident: Incident | None, event: Event) -> Incident:
    """The state after `event`. Folding an incident's events in seq order rebuilds it exactly."""
    if event.type is EventType.INCIDENT_OPENED:
        return opened(event)
    if incident is None:
        raise ValueError(f"event {event.seq} ({event.type}) before its incident was opened")
    d = event.data
    inc = replace(incident, last_seq=event.seq)
    match event.type:
        case EventType.INCIDENT_ACKNOWLEDGED:
            return replace(
                inc,
                status=Status.ACKNOWLEDGED,
                acknowledged_at=event.at,
                acknowledged_by=event.actor,
            )
        case EventType.RESPONDERS_DISPATCHED:
            assignments = dict(inc.assignments)
            for member_id in d["member_ids"]:
                assignments[member_id] = Assignment(member_id, Reply.PENDING, event.at)
            return _settle(
                replace(
                    inc,
                    assignments=assignments,
                    acknowledged_at=inc.acknowledged_at or event.at,
                    acknowledged_by=inc.acknowledged_by or event.actor,
                )
            )
        case EventType.ASSIGNMENT_REPLIED:
            member_id = d["member_id"]
            reply = Reply.ACCEPTED if d["accept"] else Reply.DECLINED
            assignments = dict(inc.assignments)
            assignments[member_id] = replace(
                assignments[member_id], reply=reply, replied_at=event.at
            )
            return _settle(replace(inc, assignments=assignments))
        case EventType.RESPONDER_STATUS:
            return replace(inc, assignments=_status(inc.assignments, d, event.at))
        case EventType.CATEGORY_CHANGED:
            return replace(inc, category=d["category"])
        case EventType.NOTE_ADDED:
            note = {"seq": event.seq, "at": event.at, "by": event.actor, "text": d["text"]}
            return replace(inc, notes=(*inc.notes, note))
        case EventType.PARTNER_UPDATE:
            # A partner's update is a note on the incident too, signed by the partner.
            note = {"seq": event.seq, "at": event.at, "by": event.actor, "text": d["text"]}
            return replace(inc, notes=(*inc.notes, note), reached=inc.reached | {d["partner_id"]})
        case EventType.DELIVERY_SUCCEEDED:
            return replace(inc, reached=inc.reached | {d["partner_id"]})
        case EventType.INCIDENT_ESCALATED:
            problems = inc.escalation_problems
            if d.get("problem"):
                problem = {k: d[k] for k in ("rule_id", "trigger", "to", "problem")}
                problems = (*problems, {**problem, "seq": event.seq, "at": event.at})
            return replace(
                inc,
                escalated_steps=inc.escalated_steps
                | {(d["trigger"], d["to"], d.get("rule_category"), d.get("rule_grid_id"))},
                escalated_to=inc.escalated_to | set(d["partner_ids"]),
                escalation_problems=problems,
            )
        case EventType.PARTNER_ACKNOWLEDGED:
            partner = {d["partner_id"]}
            return replace(
                inc, partner_acks=inc.partner_acks | partner, reached=inc.reached | partner
            )
        case EventType.MEDIA_ATTACHED:
            keys = ("media_id", "kind", "content_type", "size", "sha256", "member_id", "duration_s")
            item = {k: d.get(k) for k in keys}
            return replace(inc, media=(*inc.media, {**item, "at": event.at, "expired": False}))
        case EventType.MEDIA_EXPIRED:
            gone = set(d["media_ids"])
            media = tuple(
                {**m, "expired": m["expired"] or m["media_id"] in gone} for m in inc.media
            )
            return replace(inc, media=media)
        case EventType.INCIDENT_RESOLVED:
            return replace(
                inc,
                status=Status.RESOLVED,
                resolved_at=event.at,
                resolved_by=event.actor,
                disposition=Disposition(d["disposition"]),
                closing_note=d.get("note"),
            )
    return inc


def _status(
    assignments: dict[int, Assignment], d: dict[str, Any], at: float
) -> dict[int, Assignment]:
    """A responder's word from the scene, on their assignment: the first time each is said."""
    member_id = d["member_id"]
    a = assignments[member_id]
    if d["status"] == ResponderStatus.ARRIVED.value:
        a = replace(a, arrived_at=a.arrived_at or at)
    else:
        a = replace(a, done_at=a.done_at or at)
    return {**assignments, member_id: a}


def _settle(inc: Incident) -> Incident:
    """The status that the assignments imply, once someone has been called."""
    if inc.status is Status.RESOLVED or not inc.assignments:
        return inc
    accepted = any(a.reply is Reply.ACCEPTED for a in inc.assignments.values())
    return replace(inc, status=Status.RESPONDING if accepted else Status.DISPATCHED)


def fold_all(events: list[Event]) -> Incident:
    return events_fold_all(fold, events)


# --- commands: state + input -> events, or Conflict -----------------------------------


def _check(inc: Incident, command: Command) -> None:
    if inc.status not in ALLOWED[command]:
        raise Conflict(
            f"cannot {command.value} incident {inc.incident_id}: it is {inc.status.value}"
        )


def acknowledge(inc: Incident, by: str) -> NewEvent:
    if inc.status is Status.ACKNOWLEDGED:
        raise Conflict(
            f"incident {inc.incident_id} was already acknowledged by {inc.acknowledged_by}"
        )
    _check(inc, Command.ACKNOWLEDGE)
    return NewEvent(EventType.INCIDENT_ACKNOWLEDGED, by, inc.incident_id, _reveal(inc))


def _reveal(inc: Incident) -> dict[str, Any]:
    """The first acknowledgement of a drill says it is one (decision 50): an unannounced
    drill's console learns it here, from the event, and not before."""
    if inc.drill and inc.acknowledged_at is None:
        return {"drill": True, "drill_id": inc.drill_id}
    return {}


def dispatch(inc: Incident, member_ids: list[int], by: str) -> NewEvent:
    _check(inc, Command.DISPATCH)
    if not member_ids:
        raise Conflict("dispatch needs at least one member")
    if inc.reporter_id in member_ids:
        raise Conflict(f"member {inc.reporter_id} raised this alarm and cannot be its responder")
    again = sorted(
        m
        for m in member_ids
        if m in inc.assignments and inc.assignments[m].reply is not Reply.DECLINED
    )
    if again:
        raise Conflict(f"already dispatched to incident {inc.incident_id}: members {again}")
    unique = list(dict.fromkeys(member_ids))
    data = {"member_ids": unique, **_reveal(inc)}  # dispatching from open acknowledges it
    return NewEvent(EventType.RESPONDERS_DISPATCHED, by, inc.incident_id, data)


def reply(inc: Incident, member_id: int, accept: bool, by: str) -> NewEvent | None:
    """A responder's answer. The same answer twice is no new event (a handheld's retry)."""
    assignment = inc.assignments.get(member_id)
    if assignment is None:
        raise Conflict(f"member {member_id} was not dispatched to incident {inc.incident_id}")
    _check(inc, Command.REPLY)
    wanted = Reply.ACCEPTED if accept else Reply.DECLINED
    if assignment.reply is wanted:
        return None
    data = {"member_id": member_id, "accept": accept}
    return NewEvent(EventType.ASSIGNMENT_REPLIED, by, inc.incident_id, data)


def responder_status(inc: Incident, member_id: int, status: ResponderStatus) -> NewEvent | None:
    """A responder who accepted (and did not decline since) says they arrived or are done.
    Said again, or `arrived` after `done`: no new event. `done` without `arrived` is taken as
    it is: the responder counts as arrived, but no arrival time is made up (decision 40)."""
    a = inc.assignments.get(member_id)
    if a is None or a.reply is not Reply.ACCEPTED:
        raise Conflict(f"member {member_id} has not accepted incident {inc.incident_id}")
    _check(inc, Command.STATUS)
    if a.done_at is not None or (status is ResponderStatus.ARRIVED and a.arrived_at is not None):
        return None
    data = {"member_id": member_id, "status": status.value}
    return NewEvent(EventType.RESPONDER_STATUS, f"member:{member_id}", inc.incident_id, data)


def change_category(inc: Incident, category: str, by: str) -> NewEvent | None:
    """The reporter says what the alarm is about, after the press. The same again: nothing."""
    _check(inc, Command.CATEGORY)
    if category == inc.category:
        return None
    data = {"category": category, "previous": inc.category}
    return NewEvent(EventType.CATEGORY_CHANGED, by, inc.incident_id, data)


def security(inc: Incident) -> Security:
    """What the reporter may be told of security partners (see `Security`)."""
    if inc.partner_acks:
        return Security.ACKNOWLEDGED
    return Security.CALLED if inc.reached else Security.NONE


def add_note(inc: Incident, text: str, by: str) -> NewEvent:
    _check(inc, Command.NOTE)
    return NewEvent(EventType.NOTE_ADDED, by, inc.incident_id, {"text": text})


def resolve(inc: Incident, disposition: Disposition, note: str | None, by: str) -> NewEvent:
    if inc.status is Status.RESOLVED:
        raise Conflict(f"incident {inc.incident_id} is already resolved ({inc.disposition})")
    _check(inc, Command.RESOLVE)
    data: dict[str, Any] = {"disposition": disposition.value}
    if note:
        data["note"] = note
    return NewEvent(EventType.INCIDENT_RESOLVED, by, inc.incident_id, data)


def partner_acknowledge(inc: Incident, partner_id: int, by: str) -> NewEvent | None:
    """A partner says it has the incident. Again: no new event."""
    if partner_id not in inc.escalated_to:
        raise Conflict(f"incident {inc.incident_id} was not escalated to partner {partner_id}")
    if partner_id in inc.partner_acks:
        return None
    return NewEvent(EventType.PARTNER_ACKNOWLEDGED, by, inc.incident_id, {"partner_id": partner_id})


def partner_update(inc: Incident, partner_id: int, text: str, by: str) -> NewEvent:
    if partner_id not in inc.escalated_to:
        raise Conflict(f"incident {inc.incident_id} was not escalated to partner {partner_id}")
    data = {"partner_id": partner_id, "text": text}
    return NewEvent(EventType.PARTNER_UPDATE, by, inc.incident_id, data)


def busy_members(inc: Incident) -> set[int]:
    """Responders this incident keeps busy: those who accepted and are not done yet, while it
    is not resolved (a responder done at the scene is free for the next call)."""
    if inc.status is Status.RESOLVED:
        return set()
    return {
        m for m, a in inc.assignments.items() if a.reply is Reply.ACCEPTED and a.done_at is None
    }
