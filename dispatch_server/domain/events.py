"""The append-only log's vocabulary: every change anywhere is one of these events."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

S = TypeVar("S")


class EventType(StrEnum):
    INCIDENT_OPENED = "incident_opened"
    INCIDENT_ACKNOWLEDGED = "incident_acknowledged"
    RESPONDERS_DISPATCHED = "responders_dispatched"
    ASSIGNMENT_REPLIED = "assignment_replied"
    NOTE_ADDED = "note_added"
    INCIDENT_RESOLVED = "incident_resolved"
    SHIFT_STARTED = "shift_started"
    SHIFT_ENDED = "shift_ended"
    ROLL_CALL_STARTED = "roll_call_started"
    ROLL_CALL_ANSWERED = "roll_call_answered"
    ROLL_CALL_CLOSED = "roll_call_closed"
    MEMBER_OFFLINE = "member_offline"
    MEMBER_ONLINE = "member_online"
    MEMBER_CHECKED_IN = "member_checked_in"
    CHECK_IN_WARNING = "check_in_warning"
    CHECK_IN_OVERDUE = "check_in_overdue"
    INCIDENT_ESCALATED = "incident_escalated"
    DELIVERY_SUCCEEDED = "delivery_succeeded"
    DELIVERY_FAILED = "delivery_failed"
    DELIVERY_DEAD_LETTERED = "delivery_dead_lettered"
    PARTNER_ACKNOWLEDGED = "partner_acknowledged"
    PARTNER_UPDATE = "partner_update"
    # A responder's own word from the scene (arrived, done), and the reporter's category
    # after the press (decision 40).
    RESPONDER_STATUS = "responder_status"
    CATEGORY_CHANGED = "category_changed"
    # A background duty failed or stopped making progress, and when it recovered.
    DUTY_FAILED = "duty_failed"
    DUTY_RECOVERED = "duty_recovered"
    # Handhelds enrolled with a one-time code, and revoked (decision 35).
    ENROLMENT_CREATED = "enrolment_created"
    DEVICE_ENROLLED = "device_enrolled"
    DEVICE_REVOKED = "device_revoked"
    # Photos and clips on an incident (decision 37): one when an upload completes, one when
    # the retention duty deleted the bytes of some.
    MEDIA_ATTACHED = "media_attached"
    MEDIA_EXPIRED = "media_expired"
    # No duty console open anywhere for the grace time, and one open again (decision 51).
    DUTY_ROOM_EMPTY = "duty_room_empty"
    DUTY_ROOM_STAFFED = "duty_room_staffed"
    # The administration (decision 44): who was registered, changed, deactivated or given a
    # new token, and which settings an administrator replaced. The actor is always the
    # administrator (`admin:0` for the bootstrap token); no data ever holds a token or secret.
    ADMINISTRATOR_REGISTERED = "administrator_registered"
    ADMINISTRATOR_DEACTIVATED = "administrator_deactivated"
    MEMBER_REGISTERED = "member_registered"
    MEMBER_UPDATED = "member_updated"
    MEMBER_DEACTIVATED = "member_deactivated"
    MEMBER_REACTIVATED = "member_reactivated"
    DISPATCHER_REGISTERED = "dispatcher_registered"
    DISPATCHER_DEACTIVATED = "dispatcher_deactivated"
    DISPATCHER_REACTIVATED = "dispatcher_reactivated"
    PARTNER_REGISTERED = "partner_registered"
    PARTNER_UPDATED = "partner_updated"
    PARTNER_DEACTIVATED = "partner_deactivated"
    PARTNER_REACTIVATED = "partner_reactivated"
    TOKEN_ROTATED = "token_rotated"
    WEBHOOK_TESTED = "webhook_tested"
    ESCALATION_RULES_REPLACED = "escalation_rules_replaced"
    ROSTER_SLOT_SET = "roster_slot_set"
    CHECK_IN_RULE_SET = "check_in_rule_set"
    # An administrator applied a grid file to the live server (decision 45).
    GRIDS_APPLIED = "grids_applied"
    # Drills (decision 50): one scheduled, and one started (its member's handheld was asked to
    # press the red key; `member_id` null when nobody could be picked).
    DRILL_SCHEDULED = "drill_scheduled"
    DRILL_STARTED = "drill_started"
    # Coverage gaps and the team watch (decision 48): a planned grid short of members, and
    # when it is not; a member far from their team, overdue to answer, back with it.
    COVERAGE_GAP = "coverage_gap"
    COVERAGE_RESTORED = "coverage_restored"
    TEAM_DRIFT = "team_drift"
    TEAM_CHECK_OVERDUE = "team_check_overdue"
    TEAM_REJOINED = "team_rejoined"


@dataclass(frozen=True)
class NewEvent:
    """An event decided but not yet written: it has no seq until the log commits it."""

    type: EventType
    actor: str
    incident_id: int | None = None
    data: dict[str, Any] = field(default_factory=dict)
    roll_call_id: int | None = None


@dataclass(frozen=True)
class Event:
    """A committed event. `seq` is global, strictly increasing, and the consoles' resume point."""

    seq: int
    type: EventType
    at: float
    actor: str
    incident_id: int | None
    data: dict[str, Any]
    roll_call_id: int | None = None


def actor(kind: str, ident: int | str) -> str:
    """Who caused an event, as one readable string: 'member:7', 'dispatcher:2', 'admin:-'."""
    return f"{kind}:{ident}"


def fold_all(fold: Callable[[S | None, Event], S], events: Iterable[Event]) -> S:
    """The state a subject's events, folded in seq order, add up to."""
    state: S | None = None
    for event in events:
        state = fold(state, event)
    if state is None:
        raise ValueError("no events")
    return state
