"""Roll calls ("Grid 3, Grid 3." "Received." "All normal."), as pure functions.

A roll call asks every member on shift in its grids to answer `all_normal` or
`need_help` by a deadline. Folding its events gives its state; `tally` says,
per grid, who answered what and who has not; `close` marks grids from which
nobody answered. Deadlines are data: `due` says which are over at `now`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from dispatch_server.domain.errors import Conflict
from dispatch_server.domain.events import Event, EventType, NewEvent
from dispatch_server.domain.events import fold_all as events_fold_all
from dispatch_server.protocol.frames import RollCallAnswer as RollCallStatus

NEED_HELP_IDS = uuid.UUID("6f1d3c52-2d43-4b8e-9b1e-7a0d5b2c9e11")


def need_help_alert_id(roll_call_id: int, member_id: int) -> uuid.UUID:
    """The alert_id of the incident a `need_help` answer opens: made from the roll call and
    the member, so a repeated answer can never open a second one."""
    return uuid.uuid5(NEED_HELP_IDS, f"{roll_call_id}:{member_id}")


@dataclass(frozen=True)
class Answer:
    status: RollCallStatus
    at: float
    note: str | None = None
    late: bool = False


@dataclass(frozen=True)
class RollCall:
    roll_call_id: int
    grid_ids: tuple[str, ...]
    expected: dict[int, str]  # member id -> grid id, fixed when the roll call starts
    started_at: float
    deadline: float
    started_by: str
    answers: dict[int, Answer] = field(default_factory=dict)
    closed_at: float | None = None
    silent_grids: tuple[str, ...] = ()
    last_seq: int = 0

    @property
    def open(self) -> bool:
        return self.closed_at is None


def started(
    roll_call_id: int,
    grid_ids: list[str],
    on_shift: dict[int, str],
    now: float,
    timeout_s: float,
    by: str,
) -> NewEvent:
    """Who is expected is decided now: members on shift in the roll call's grids."""
    expected = {str(m): g for m, g in sorted(on_shift.items()) if g in grid_ids}
    data = {
        "roll_call_id": roll_call_id,
        "grid_ids": grid_ids,
        "expected": expected,
        "deadline": now + timeout_s,
    }
    return NewEvent(EventType.ROLL_CALL_STARTED, by, None, data, roll_call_id=roll_call_id)


def fold(rc: RollCall | None, event: Event) -> RollCall:
    d = event.data
    if event.type is EventType.ROLL_CALL_STARTED:
        return RollCall(
            roll_call_id=d["roll_call_id"],
            grid_ids=tuple(d["grid_ids"]),
            expected={int(m): g for m, g in d["expected"].items()},
            started_at=event.at,
            deadline=d["deadline"],
            started_by=event.actor,
            last_seq=event.seq,
        )
    if rc is None:
        raise ValueError(f"event {event.seq} ({event.type}) before its roll call started")
    rc = replace(rc, last_seq=event.seq)
    if event.type is EventType.ROLL_CALL_ANSWERED:
        answer = Answer(RollCallStatus(d["status"]), event.at, d.get("note"), d.get("late", False))
        return replace(rc, answers={**rc.answers, d["member_id"]: answer})
    if event.type is EventType.ROLL_CALL_CLOSED:
        return replace(rc, closed_at=event.at, silent_grids=tuple(d["silent_grids"]))
    return rc


def fold_all(events: Iterable[Event]) -> RollCall:
    return events_fold_all(fold, events)


def tally(rc: RollCall) -> dict[str, dict[str, Any]]:
    """Per grid: how many are expected, who said what, who has not answered yet."""
    out: dict[str, dict[str, Any]] = {
        g: {"expected": 0, "all_normal": [], "need_help": [], "missing": []} for g in rc.grid_ids
    }
    for member_id, grid_id in sorted(rc.expected.items()):
        row = out[grid_id]
        row["expected"] += 1
        answer = rc.answers.get(member_id)
        row[answer.status.value if answer else "missing"].append(member_id)
    return out


def answer(
    rc: RollCall, member_id: int, status: RollCallStatus, note: str | None, now: float
) -> NewEvent | None:
    """A member's answer. The same answer again is no new event; after the deadline an answer
    is still recorded (a late "need help" must not be lost), marked late."""
    if member_id not in rc.expected:
        raise Conflict(f"member {member_id} was not called in roll call {rc.roll_call_id}")
    known = rc.answers.get(member_id)
    if known is not None and known.status is status and known.note == note:
        return None
    data: dict[str, Any] = {
        "roll_call_id": rc.roll_call_id,
        "member_id": member_id,
        "grid_id": rc.expected[member_id],
        "status": status.value,
        "late": not rc.open or now > rc.deadline,
    }
    if note:
        data["note"] = note
    actor = f"member:{member_id}"
    return NewEvent(EventType.ROLL_CALL_ANSWERED, actor, None, data, roll_call_id=rc.roll_call_id)


def close(rc: RollCall) -> NewEvent:
    """At the deadline: grids from which nobody answered are marked silent."""
    if not rc.open:
        raise Conflict(f"roll call {rc.roll_call_id} is already closed")
    counts = tally(rc)
    silent = [g for g, row in counts.items() if not row["all_normal"] and not row["need_help"]]
    data = {"roll_call_id": rc.roll_call_id, "silent_grids": silent, "tally": counts}
    return NewEvent(
        EventType.ROLL_CALL_CLOSED, "system:deadline", None, data, roll_call_id=rc.roll_call_id
    )


def due(roll_calls: Iterable[RollCall], now: float) -> list[int]:
    return sorted(rc.roll_call_id for rc in roll_calls if rc.open and rc.deadline <= now)


def next_deadline(roll_calls: Iterable[RollCall]) -> float | None:
    return min((rc.deadline for rc in roll_calls if rc.open), default=None)
