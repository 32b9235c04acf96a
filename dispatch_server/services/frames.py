"""The frames a handheld receives about incidents, built from an incident's state: what its
reporter sees of the alarm, and what a responder is called to."""

from __future__ import annotations

from collections.abc import Callable

from dispatch_server.clock import iso
from dispatch_server.domain.incidents import Incident, Reply, Source
from dispatch_server.protocol.frames import AlertUpdate, AssignmentFrame, Coming


def alert_update_frame(inc: Incident, name: Callable[[int], str]) -> AlertUpdate:
    """What the reporter's handheld shows after `alert_accepted`: has the centre seen it,
    who is coming, is it over."""
    coming = [
        Coming(member_id=m, name=name(m))
        for m, a in inc.assignments.items()
        if a.reply is Reply.ACCEPTED
    ]
    return AlertUpdate(
        alert_id=inc.alert_id,
        incident_id=inc.incident_id,
        status=inc.status.value,
        acknowledged=inc.acknowledged_at is not None,
        coming=coming,
        disposition=inc.disposition.value if inc.disposition is not None else None,
    )


def assignment_frame(inc: Incident, member_id: int) -> AssignmentFrame:
    """What a called-in responder's handheld shows: where, what, and how far they are."""
    ranked = next((r for r in inc.responders if r["member_id"] == member_id), None)
    return AssignmentFrame(
        incident_id=inc.incident_id,
        grid_id=inc.grid_id,
        lon=inc.lon,
        lat=inc.lat,
        category=inc.category,
        note=inc.note,
        distance_m=ranked["distance_m"] if ranked else None,
        opened_at=iso(inc.opened_at),
        # What opened it, when not the alarm key: a roll call's need_help, an overdue check-in.
        source=None if inc.source is Source.ALARM else inc.source.value,
        roll_call_id=inc.roll_call_id,
    )
