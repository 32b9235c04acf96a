"""The frames a handheld receives about incidents, built from an incident's state: what its
reporter sees of the alarm, and what a responder is called to."""

from __future__ import annotations

import math
from collections.abc import Callable

from dispatch_server.clock import iso
from dispatch_server.domain.incidents import Incident, Reply, Source, security
from dispatch_server.protocol.frames import AlertUpdate, AssignmentFrame, Coming
from dispatch_server.services.context import Context

Distance = Callable[[int], float | None]


def _no_distance(_: int) -> float | None:
    return None


def alert_update_frame(
    inc: Incident, name: Callable[[int], str], distance: Distance = _no_distance
) -> AlertUpdate:
    """What the reporter's handheld shows after `alert_accepted`: has the centre seen it,
    who is coming (how far, there yet, done), have security partners got it, is it over."""
    coming = [
        Coming(
            member_id=m,
            name=name(m),
            distance_m=distance(m),
            # `done` without `arrived` first: they were there (decision 40).
            arrived=a.arrived_at is not None or a.done_at is not None,
            done=a.done_at is not None,
        )
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
        category=inc.category,
        security=security(inc).value,
        drill=True if inc.drill else None,
    )


def assignment_frame(
    inc: Incident,
    member_id: int,
    grid_names: tuple[str | None, str | None] = (None, None),
    reporter_name: str | None = None,
) -> AssignmentFrame:
    """What a called-in responder's handheld shows: where, what, who called, how far."""
    ranked = next((r for r in inc.responders if r["member_id"] == member_id), None)
    return AssignmentFrame(
        incident_id=inc.incident_id,
        grid_id=inc.grid_id,
        grid_name_zh=grid_names[0],
        grid_name_en=grid_names[1],
        reporter_name=reporter_name,
        lon=inc.lon,
        lat=inc.lat,
        category=inc.category,
        note=inc.note,
        distance_m=ranked["distance_m"] if ranked else None,
        opened_at=iso(inc.opened_at),
        # What opened it, when not the alarm key: a roll call's need_help, an overdue check-in.
        source=None if inc.source is Source.ALARM else inc.source.value,
        roll_call_id=inc.roll_call_id,
        # Responders are called after someone saw the alarm, so even an unannounced drill
        # is known as one by then (decision 50).
        drill=True if inc.drill else None,
    )


# --- from live state ---------------------------------------------------------------------


def distances(ctx: Context, inc: Incident) -> Distance:
    """Metres from each member's latest fresh fix (as ranking counts fresh) to the incident's
    point; None for a member without one."""
    x, y = ctx.grids.projection.to_xy(inc.lon, inc.lat)
    now = ctx.clock()

    def distance(member_id: int) -> float | None:
        if member_id not in ctx.roster:
            return None
        fix = ctx.roster.fix(member_id)
        if fix is None or now - fix.at > ctx.policy.fresh_fix_s:
            return None
        return round(math.hypot(fix.x - x, fix.y - y), 1)

    return distance


def alert_update_for(ctx: Context, inc: Incident) -> AlertUpdate:
    return alert_update_frame(inc, ctx.roster.name, distances(ctx, inc))


def assignment_for(ctx: Context, inc: Incident, member_id: int) -> AssignmentFrame:
    grid = ctx.grids.grids.get(inc.grid_id) if inc.inside_grid else None
    names = (grid.name_zh, grid.name_en) if grid is not None else (None, None)
    reporter = ctx.roster.name(inc.reporter_id) or None
    return assignment_frame(inc, member_id, names, reporter)
