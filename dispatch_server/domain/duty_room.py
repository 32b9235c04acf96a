"""Whether anyone is on watch in the duty room, as the log records it.

The number of open duty consoles is live state (services/cluster.py); a KPI over a month needs
it in the log. Only the crossings are written: `duty_room_empty` once no console has been open
anywhere for `grace_s` (a console reloading or a laptop changing networks is not an empty
room), and `duty_room_staffed` as soon as one is open again. From those and the shift events,
`unwatched_s` gives the time nobody watched while patrols were out (decision 51).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from dispatch_server.domain.events import Event, EventType

EMPTY = EventType.DUTY_ROOM_EMPTY
STAFFED = EventType.DUTY_ROOM_STAFFED


@dataclass
class Watch:
    """What this instance knows: the room's state as last logged (None: the log has never
    said) and since when no console has been open (None: one is open)."""

    logged_empty: bool | None = None
    zero_since: float | None = None


def observe(watch: Watch, consoles_open: int, now: float) -> None:
    """Note when the room went empty; forget it when a console opens."""
    if consoles_open > 0:
        watch.zero_since = None
    elif watch.zero_since is None:
        watch.zero_since = now


def due(watch: Watch, grace_s: float) -> float | None:
    """When a crossing is to be written: at once for a console back in an empty room, after
    the grace for a room that emptied; None when the log already agrees."""
    if watch.zero_since is None:
        return 0.0 if watch.logged_empty else None
    return None if watch.logged_empty else watch.zero_since + grace_s


def crossing(watch: Watch, now: float, grace_s: float) -> EventType | None:
    """The event to write now, if any."""
    at = due(watch, grace_s)
    if at is None or at > now:
        return None
    return STAFFED if watch.zero_since is None else EMPTY


def unwatched_s(events: Iterable[Event], since: float, until: float) -> float:
    """Seconds in [since, until) with the room empty while at least one member was on shift.

    `events`: the duty-room and shift events, in log order, from before `since` too (the state
    at `since` is folded from them). A room never said to be empty counts as watched: the
    figure is what the log proves, not a guess.
    """
    on_shift: set[int] = set()
    empty = False
    total = 0.0
    last = since
    for event in events:
        at = min(max(event.at, since), until)
        if empty and on_shift:
            total += at - last
        last = at
        if event.type is EMPTY:
            empty = True
        elif event.type is STAFFED:
            empty = False
        elif event.type is EventType.SHIFT_STARTED:
            on_shift.add(int(event.data["member_id"]))
        elif event.type is EventType.SHIFT_ENDED:
            on_shift.discard(int(event.data["member_id"]))
    if empty and on_shift:
        total += until - last
    return total


ROOM_EVENTS = frozenset({EMPTY, STAFFED, EventType.SHIFT_STARTED, EventType.SHIFT_ENDED})
