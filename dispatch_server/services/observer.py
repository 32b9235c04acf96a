"""Keeps this instance's live state in step with the log: busy members, shifts, open
incidents, and assignments pushed to the handhelds connected here.

Called on the event loop for every committed batch, in seq order, before the
batch's callers resume, so nothing reads live state older than its own write.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from sqlalchemy import Connection, select

from dispatch_server.domain.events import Event, EventType
from dispatch_server.domain.incidents import (
    ACTIVE,
    Incident,
    busy_members,
    fold,
    fold_all,
    security,
)
from dispatch_server.domain.roll_calls import RollCall
from dispatch_server.services import (
    accounts,
    check_ins,
    coverage,
    drills,
    escalation,
    roll_calls,
    team_watch,
)
from dispatch_server.services.context import Context
from dispatch_server.services.effects import Deliver, Disconnect, Effect, Wake, carry_out
from dispatch_server.services.frames import alert_update_for, assignment_for
from dispatch_server.store.log import incident_events, last_seq
from dispatch_server.store.tables import EVENT, INCIDENT, MEMBER, ROLL_CALL

LIVE_STATE = "live_state"  # the duty's name, for the supervisor
log = logging.getLogger(__name__)

# The changes a reporter's handheld is told about (the alarm's state on its screen).
REPORTER_SEES = frozenset(
    {
        EventType.INCIDENT_ACKNOWLEDGED,
        EventType.RESPONDERS_DISPATCHED,
        EventType.ASSIGNMENT_REPLIED,
        EventType.INCIDENT_RESOLVED,
        EventType.RESPONDER_STATUS,
        EventType.CATEGORY_CHANGED,
        EventType.PARTNER_ACKNOWLEDGED,
    }
)


CHECK_IN_EVENTS = frozenset(
    {EventType.MEMBER_CHECKED_IN, EventType.CHECK_IN_WARNING, EventType.CHECK_IN_OVERDUE}
)


def _shift_starts(conn: Connection, members: set[int]) -> dict[int, float]:
    """When each of these members' current shift started: their newest `shift_started`
    event (written by the member, people.set_shift). Read from the log's end backwards, so
    it costs a shift's worth of events, not the whole log."""
    starts: dict[int, float] = {}
    for member_id in members:
        at = conn.execute(
            select(EVENT.c.at)
            .where(
                EVENT.c.type == EventType.SHIFT_STARTED.value,
                EVENT.c.actor == f"member:{member_id}",
            )
            .order_by(EVENT.c.seq.desc())
            .limit(1)
        ).scalar()
        if at is not None:
            starts[member_id] = float(at)
    return starts


def _live_state(
    conn: Connection,
) -> tuple[int, list[Incident], dict[int, float], set[int], list[Any], list[RollCall]]:
    """All in one read transaction (one snapshot), with the seq it stands at. Members on
    shift come with the time their shift started (NaN if the log does not say)."""
    head = last_seq(conn)
    ids = list(
        conn.execute(
            select(INCIDENT.c.id).where(INCIDENT.c.status.in_([s.value for s in ACTIVE]))
        ).scalars()
    )
    on_shift = set(conn.execute(select(MEMBER.c.id).where(MEMBER.c.on_shift)).scalars())
    offline = set(conn.execute(select(MEMBER.c.id).where(MEMBER.c.offline)).scalars())
    checks = conn.execute(
        select(MEMBER.c.id, MEMBER.c.last_check_in, MEMBER.c.check_in_state)
    ).all()
    open_calls = list(
        conn.execute(select(ROLL_CALL.c.id).where(ROLL_CALL.c.closed_at.is_(None))).scalars()
    )
    starts = _shift_starts(conn, on_shift)
    return (
        head,
        [fold_all(incident_events(conn, i)) for i in ids],
        {m: starts.get(m, math.nan) for m in on_shift},
        offline,
        list(checks),
        [roll_calls.load(conn, r) for r in open_calls],
    )


async def load_live(ctx: Context) -> int:
    """Open incidents, busy members, shifts and open roll calls as the log has them now;
    returns the seq that picture stands at (the writer hands on what comes after)."""
    head, incidents, on_shift, offline, checks, calls = await ctx.read(_live_state)
    # Read after the snapshot: a crossing written in between is in both, and folds the same.
    ctx.shorts = await ctx.read(coverage.load)
    ctx.team_flags = await ctx.read(team_watch.load)
    now = ctx.clock()
    await check_ins.refresh_rules(ctx)
    for row in checks:
        if row.id in ctx.roster:
            i = ctx.roster.row[row.id]
            ctx.roster.last_check_in[i] = row.last_check_in if row.last_check_in else now
            ctx.roster.check_in_state[i] = row.check_in_state
    ctx.active = {inc.incident_id: inc for inc in incidents}
    escalation.track_all(ctx)
    ctx.roll_calls = {rc.roll_call_id: rc for rc in calls}
    ctx.drills_due = await ctx.read(drills.load_scheduled)
    busy = set().union(*(busy_members(i) for i in incidents))
    in_need = {i.reporter_id for i in incidents}
    for member_id in ctx.roster.ids:
        ctx.roster.set_busy(member_id, member_id in busy)
        ctx.roster.set_in_need(member_id, member_id in in_need)
        ctx.roster.set_shift(member_id, member_id in on_shift, on_shift.get(member_id, math.nan))
        ctx.roster.set_marked_offline(member_id, member_id in offline)
        # After a restart everyone gets the full grace time to reconnect; a member the log
        # has offline stays so until a frame is heard (no online-offline flap on restart).
        ctx.roster.link_down(member_id, -math.inf if member_id in offline else now)
    return head


def apply(ctx: Context, event: Event) -> list[Effect]:
    """Fold one committed event into live state; return what that asks of the world."""
    if event.roll_call_id is not None:
        return roll_calls.apply(ctx, event)
    if event.type in (EventType.SHIFT_STARTED, EventType.SHIFT_ENDED):
        return _shift(ctx, event)
    if event.type in CHECK_IN_EVENTS:
        return check_ins.apply(ctx, event)
    if event.type in coverage.EVENTS:
        coverage.fold(ctx.shorts, event)
        return []
    if event.type in team_watch.EVENTS:
        return team_watch.apply(ctx, event)
    if event.type in (EventType.MEMBER_OFFLINE, EventType.MEMBER_ONLINE):
        member_id = event.data["member_id"]
        if member_id in ctx.roster:
            ctx.roster.set_marked_offline(member_id, event.type is EventType.MEMBER_OFFLINE)
        return []
    if event.type in (EventType.DRILL_SCHEDULED, EventType.DRILL_STARTED):
        at, member_id = drills.fold(ctx, event)
        if member_id is not None:
            return [Deliver(member_id, drills.frame(event.data["drill_id"]))]
        return [Wake(at)] if at is not None else []
    if event.type is EventType.DEVICE_REVOKED:
        # "A revoked device is closed with 4401 at once": on every instance, as each folds
        # the event (one that another instance wrote arrives by the log's notice, or the
        # once-a-second look at the log).
        return [Disconnect(event.data["device_id"])]
    if event.type in accounts.FOLDED:
        # An administrator's change: the roster follows, revoked tokens' sockets close.
        return accounts.apply(ctx, event)
    if event.incident_id is None:
        return []
    return _incident(ctx, event)


def _shift(ctx: Context, event: Event) -> list[Effect]:
    member_id = event.data["member_id"]
    effects: list[Effect] = []
    if member_id in ctx.roster:
        ctx.roster.set_shift(member_id, event.type is EventType.SHIFT_STARTED, event.at)
        effects.append(Wake())  # supervision watches a new member, or one fewer
    if event.type is EventType.SHIFT_STARTED:
        effects += check_ins.apply(ctx, event)  # a shift starts checked in
    return effects


def _incident(ctx: Context, event: Event) -> list[Effect]:
    assert event.incident_id is not None
    before = ctx.active.get(event.incident_id)
    if before is None and event.type is not EventType.INCIDENT_OPENED:
        return []  # resolved long ago: a late note changes nothing live
    after = fold(before, event)
    if after.status in ACTIVE:
        ctx.active[after.incident_id] = after
    else:
        ctx.active.pop(after.incident_id, None)
    effects: list[Effect] = []
    if (at := escalation.track(ctx, after)) is not None:
        effects.append(Wake(at))  # its escalation clock may have moved
    if before is None and after.reporter_id in ctx.roster:  # a new alarm: its reporter needs help
        ctx.roster.set_in_need(after.reporter_id, True)
    elif after.status not in ACTIVE:  # over: unless another of theirs is still open
        _in_need(ctx, after.reporter_id)
    changed = (busy_members(before) if before else set()) ^ busy_members(after)
    for member_id in changed:
        if member_id in ctx.roster:
            still = any(member_id in busy_members(i) for i in ctx.active.values())
            ctx.roster.set_busy(member_id, still)
    if event.type is EventType.RESPONDERS_DISPATCHED:
        for member_id in event.data["member_ids"]:
            effects.append(Deliver(member_id, assignment_for(ctx, after, member_id)))
    # Also when a partner is first reached (a delivery succeeded, a partner wrote): the
    # reporter's "security called" must come when it becomes true, not before.
    reached = before is not None and security(before) is not security(after)
    # A duress alarm's handheld is told nothing (decision 50): its screen must not change.
    if (event.type in REPORTER_SEES or reached) and not after.duress:
        effects.append(Deliver(after.reporter_id, alert_update_for(ctx, after)))
    return effects


def _in_need(ctx: Context, member_id: int) -> None:
    if member_id in ctx.roster:
        ctx.roster.set_in_need(
            member_id, any(i.reporter_id == member_id for i in ctx.active.values())
        )


def committed(ctx: Context, events: list[Event]) -> None:
    """The writer's on_commit: live state first, then the consoles, before any caller hears
    "done" (a responder who was just told their accept is recorded is already busy).

    Each event is folded in a guard of its own: one that cannot be applied (a bug) is
    logged and shown as a failing duty, and the rest of the batch is still applied and
    published (issue 10: one late roll-call answer once cost a whole batch)."""
    failed = False
    for event in events:
        try:
            effects = apply(ctx, event)
        except Exception as exc:
            log.exception(
                "seq %d (%s) could not be applied to live state",
                event.seq,
                event.type,
                extra={"incident_id": event.incident_id},
            )
            ctx.supervisor.failed(LIVE_STATE, exc)
            failed = True
            continue
        carry_out(ctx, effects)
    ctx.bus.publish(events)
    if not failed:
        ctx.supervisor.beat(LIVE_STATE)
