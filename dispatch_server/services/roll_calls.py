"""Roll calls: start (REST), answers (handhelds), close at the deadline (the deadline task).

A `need_help` answer also opens an incident at the member's position, in the
same transaction, with an alert_id made from the roll call and the member, so a
repeated answer can never open a second one. The incident says where it came
from (`source: roll_call`, `roll_call_id`); its note is the member's own.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from sqlalchemy import Connection, insert, select, update

from dispatch_server.clock import iso
from dispatch_server.domain import roll_calls as domain
from dispatch_server.domain.errors import NotFound
from dispatch_server.domain.events import Event, EventType
from dispatch_server.domain.incidents import Source
from dispatch_server.domain.roll_calls import RollCall, need_help_alert_id
from dispatch_server.protocol.frames import Alert, Category, RollCallFrame
from dispatch_server.protocol.frames import RollCallAnswer as RollCallStatus
from dispatch_server.services.context import Context
from dispatch_server.services.effects import Deliver, Effect, Wake
from dispatch_server.services.intake import open_incident, opening_data
from dispatch_server.services.views import event_view
from dispatch_server.store.log import Tx, roll_call_events
from dispatch_server.store.tables import ROLL_CALL


def load(conn: Connection, roll_call_id: int) -> RollCall:
    events = roll_call_events(conn, roll_call_id)
    if not events:
        raise NotFound(f"no roll call {roll_call_id}")
    return domain.fold_all(events)


def _project(tx: Tx, rc: RollCall) -> None:
    tx.conn.execute(
        update(ROLL_CALL)
        .where(ROLL_CALL.c.id == rc.roll_call_id)
        .values(closed_at=rc.closed_at, tally=domain.tally(rc), last_seq=rc.last_seq)
    )


def _start(
    tx: Tx, grid_ids: list[str], on_shift: dict[int, str], timeout_s: float, by: str
) -> RollCall:
    roll_call_id = tx.conn.execute(
        insert(ROLL_CALL).returning(ROLL_CALL.c.id),
        {"grid_ids": grid_ids, "started_at": tx.now, "deadline": tx.now + timeout_s, "tally": {}},
    ).scalar_one()
    event = tx.append(domain.started(roll_call_id, grid_ids, on_shift, tx.now, timeout_s, by))
    rc = domain.fold(None, event)
    _project(tx, rc)
    return rc


async def start(ctx: Context, grid_ids: list[str] | None, timeout_s: float, by: str) -> RollCall:
    """Call the grids (all of them when none are named); every member on shift there is asked."""
    grids = grid_ids or list(ctx.grids.grids)
    roster = ctx.roster
    on_shift = {m: roster.grids[i] for i, m in enumerate(roster.ids) if roster.on_shift[i]}
    return await ctx.writer.run(lambda tx: _start(tx, grids, on_shift, timeout_s, by))


def _answer(
    tx: Tx,
    roll_call_id: int,
    member_id: int,
    status: RollCallStatus,
    note: str | None,
    incident: dict[str, Any] | None,
) -> RollCall:
    rc = load(tx.conn, roll_call_id)
    new = domain.answer(rc, member_id, status, note, tx.now)
    if new is None:
        return rc
    if incident is not None:
        open_incident(tx, member_id, incident)
    after = domain.fold(rc, tx.append(new))
    _project(tx, after)
    return after


async def answer(
    ctx: Context, roll_call_id: int, member_id: int, status: RollCallStatus, note: str | None
) -> RollCall:
    incident = None
    if status is RollCallStatus.NEED_HELP:
        alert = Alert(
            type="alert",
            alert_id=need_help_alert_id(roll_call_id, member_id),
            category=Category.OTHER,
            note=note,
        )
        incident = opening_data(ctx, member_id, alert, ctx.clock(), Source.ROLL_CALL, roll_call_id)
    return await ctx.writer.run(
        lambda tx: _answer(tx, roll_call_id, member_id, status, note, incident)
    )


def _close(tx: Tx, roll_call_id: int) -> RollCall:
    rc = load(tx.conn, roll_call_id)
    after = domain.fold(rc, tx.append(domain.close(rc)))
    _project(tx, after)
    return after


async def close_due(ctx: Context, now: float) -> None:
    """Close every roll call whose deadline has passed (a clock source: runtime.py)."""
    for roll_call_id in domain.due(ctx.roll_calls.values(), now):
        await ctx.writer.run(partial(_close, roll_call_id=roll_call_id))


def next_check(ctx: Context) -> float | None:
    return domain.next_deadline(ctx.roll_calls.values())


# --- views ----------------------------------------------------------------------------


def view(rc: RollCall) -> dict[str, Any]:
    return {
        "roll_call_id": rc.roll_call_id,
        "grid_ids": list(rc.grid_ids),
        "started_at": iso(rc.started_at),
        "started_by": rc.started_by,
        "deadline": iso(rc.deadline),
        "open": rc.open,
        "closed_at": iso(rc.closed_at) if rc.closed_at else None,
        "silent_grids": list(rc.silent_grids),
        "tally": domain.tally(rc),
        "last_seq": rc.last_seq,
    }


def detail(conn: Connection, roll_call_id: int) -> dict[str, Any]:
    events = roll_call_events(conn, roll_call_id)
    if not events:
        raise NotFound(f"no roll call {roll_call_id}")
    return {**view(domain.fold_all(events)), "timeline": [event_view(e) for e in events]}


def listing(conn: Connection, limit: int) -> list[dict[str, Any]]:
    q = select(ROLL_CALL.c.id).order_by(ROLL_CALL.c.id.desc()).limit(limit)
    return [view(load(conn, i)) for i in list(conn.execute(q).scalars())]


def frame(rc: RollCall) -> RollCallFrame:
    """What a handheld is asked."""
    return RollCallFrame(roll_call_id=rc.roll_call_id, deadline=iso(rc.deadline))


def apply(ctx: Context, event: Event) -> list[Effect]:
    """Live state for open roll calls; called by the observer for roll call events."""
    assert event.roll_call_id is not None
    before = ctx.roll_calls.get(event.roll_call_id)
    if before is None and event.type is not EventType.ROLL_CALL_STARTED:
        return []  # closed already: a late answer is on record, and changes nothing live
    after = domain.fold(before, event)
    if after.open:
        ctx.roll_calls[after.roll_call_id] = after
    else:
        ctx.roll_calls.pop(after.roll_call_id, None)
    if before is not None:
        return []
    # Just started (here or on another instance): ask every member it expects, and let the
    # clocks know when it closes.
    return [*(Deliver(m, frame(after)) for m in after.expected), Wake(after.deadline)]
