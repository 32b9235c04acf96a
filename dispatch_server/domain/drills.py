"""Drills and what the console may know of them (decision 50), as pure functions.

A drill is an alarm the server asked for: at its time one member's handheld is told to
press the red key, and the alarm that answers it (the `alert` frame's `drill_id`) opens an
incident flagged `drill: true` everywhere, which runs through the real chain. An
*unannounced* drill is shown to the console as a real alarm until someone acknowledges it
(issue 15: "the duty room learns it was a drill only after acknowledging"); the log keeps
the truth all along, and the acknowledging event says it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from dispatch_server.domain.errors import Conflict
from dispatch_server.domain.events import EventType
from dispatch_server.domain.incidents import Incident


class DrillState(StrEnum):
    SCHEDULED = "scheduled"  # waiting for its time
    STARTED = "started"  # the member's handheld was asked; waiting for the alarm
    RAISED = "raised"  # the member's alarm came, with this drill's id
    NO_MEMBER = "no_member"  # at its time nobody in its grid could be asked


@dataclass(frozen=True)
class Drill:
    drill_id: int
    member_id: int | None
    grid_id: str | None
    at: float
    announced: bool
    state: DrillState
    incident_id: int | None = None


def pick(drill_id: int, candidates: Sequence[int]) -> int | None:
    """Which of a grid's members (on shift, free, not raising an alarm of their own; sorted
    by id) a grid drill asks: a different one from drill to drill, reproducibly."""
    if not candidates:
        return None
    return sorted(candidates)[drill_id % len(candidates)]


def check_alarm(drill: Drill | None, drill_id: int, member_id: int) -> Drill:
    """The drill an alarm says it answers must be this member's, started and not yet
    answered: anything else is refused, and nothing is written."""
    if drill is None:
        raise Conflict(f"there is no drill {drill_id}")
    if drill.member_id != member_id:
        raise Conflict(f"drill {drill_id} is not for member {member_id}")
    if drill.state is not DrillState.STARTED:
        raise Conflict(f"drill {drill_id} is {drill.state.value}, not waiting for an alarm")
    return drill


def opening(drill: Drill) -> dict[str, Any]:
    """What a drill adds to its incident's `incident_opened` data."""
    return {"drill": True, "drill_id": drill.drill_id, "drill_announced": drill.announced}


def hidden(inc: Incident) -> bool:
    """An unannounced drill nobody has acknowledged yet: the console sees a real alarm."""
    return inc.drill and not inc.drill_announced and inc.acknowledged_at is None


# What a console is not told of a hidden drill, in any event's data.
DRILL_KEYS = frozenset({"drill", "drill_id", "drill_announced", "drill_skipped", "drill_hidden"})
DRILL_EVENTS = frozenset({EventType.DRILL_SCHEDULED.value, EventType.DRILL_STARTED.value})


def for_console(frame: dict[str, Any], revealed: bool = False) -> dict[str, Any]:
    """An event as a console may see it (`frame` is its wire view). Of an unannounced drill:
    its own events become `withheld` (type, seq and time only, so the feed has no gap), and
    the drill's marks are left out of the incident's events written while it was hidden;
    `revealed`: the incident is known to be a drill now, so its whole timeline says so."""
    if revealed:
        return frame
    if frame["type"] in DRILL_EVENTS and frame.get("announced") is False:
        return {"type": "withheld", "seq": frame["seq"], "at": frame["at"]}
    if frame.get("drill_announced") is False or frame.get("drill_hidden"):
        return {k: v for k, v in frame.items() if k not in DRILL_KEYS}
    return frame


def split_partners(
    drill: bool, covering: Sequence[int], accepts: dict[int, bool]
) -> tuple[list[int], list[int]]:
    """(who gets the step, who is skipped): a drill reaches only partners that opted in."""
    if not drill:
        return list(covering), []
    return [p for p in covering if accepts.get(p)], [p for p in covering if not accepts.get(p)]
