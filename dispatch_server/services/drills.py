"""Drills on the server (decision 50): scheduling one, starting it at its time, and the
alarm that answers it.

`drill_scheduled` and `drill_started` are logged with the `drill` row they change, in one
transaction. Starting is a clock source (the scheduler calls `apply_due` when
`next_check` says so); every instance folds the started event and sends the `drill` frame
to the member if their handheld is connected there (services/observer.py), and a handheld
that connects later gets it again on hello until it raises the alarm.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Any

import numpy as np
from sqlalchemy import Connection, insert, select, update

from dispatch_server.clock import iso
from dispatch_server.domain import drills as domain
from dispatch_server.domain.drills import Drill, DrillState
from dispatch_server.domain.errors import NotFound
from dispatch_server.domain.events import Event, EventType, NewEvent
from dispatch_server.protocol.frames import DrillFrame
from dispatch_server.services.context import Context
from dispatch_server.store.log import Tx
from dispatch_server.store.tables import DRILL, MEMBER

SYSTEM = "system:drills"


def _drill(row: Any) -> Drill:
    return Drill(
        drill_id=row.id,
        member_id=row.member_id,
        grid_id=row.grid_id,
        at=row.at,
        announced=bool(row.announced),
        state=DrillState(row.state),
        incident_id=row.incident_id,
    )


def view(d: Drill) -> dict[str, Any]:
    return {
        "drill_id": d.drill_id,
        "member_id": d.member_id,
        "grid_id": d.grid_id,
        "at": iso(d.at),
        "announced": d.announced,
        "state": d.state.value,
        "incident_id": d.incident_id,
    }


def find(conn: Connection, drill_id: int) -> Drill | None:
    row = conn.execute(select(DRILL).where(DRILL.c.id == drill_id)).first()
    return None if row is None else _drill(row)


def listing(conn: Connection, limit: int) -> list[dict[str, Any]]:
    rows = conn.execute(select(DRILL).order_by(DRILL.c.id.desc()).limit(limit)).all()
    return [view(_drill(r)) for r in rows]


def _schedule(
    tx: Tx, member_id: int | None, grid_id: str | None, at: float | None, announced: bool, by: str
) -> Drill:
    if member_id is not None:
        found = tx.conn.execute(select(MEMBER.c.id).where(MEMBER.c.id == member_id)).first()
        if found is None:
            raise NotFound(f"no member {member_id}")
    when = tx.now if at is None else max(at, tx.now)
    row = {
        "member_id": member_id,
        "grid_id": grid_id,
        "at": when,
        "announced": announced,
        "state": DrillState.SCHEDULED.value,
        "created_by": by,
        "created_at": tx.now,
    }
    drill_id = tx.conn.execute(insert(DRILL).returning(DRILL.c.id), row).scalar_one()
    drill = Drill(drill_id, member_id, grid_id, when, announced, DrillState.SCHEDULED)
    data = {k: v for k, v in view(drill).items() if k not in ("at", "incident_id")}
    data["due_at"] = iso(when)  # not `at`: every event's own time is `at` on the wire
    tx.append(NewEvent(EventType.DRILL_SCHEDULED, by, None, data))
    return drill


async def schedule(
    ctx: Context,
    member_id: int | None,
    grid_id: str | None,
    at: float | None,
    announced: bool,
    by: str,
) -> Drill:
    """The observer puts it on the clock (every instance's, from the event)."""
    job = partial(
        _schedule, member_id=member_id, grid_id=grid_id, at=at, announced=announced, by=by
    )
    drill: Drill = await ctx.writer.run(job)
    return drill


def load_scheduled(conn: Connection) -> dict[int, float]:
    """Drills waiting for their time (at start: the observer keeps this after)."""
    q = select(DRILL.c.id, DRILL.c.at).where(DRILL.c.state == DrillState.SCHEDULED.value)
    return {r.id: r.at for r in conn.execute(q).all()}


def candidates(ctx: Context, grid_id: str) -> list[int]:
    """A grid's members on shift, free and not raising an alarm of their own."""
    r = ctx.roster
    n = len(r)
    free = r.on_shift[:n] & ~r.busy[:n] & ~r.in_need[:n]
    return [r.ids[i] for i in np.flatnonzero(free) if r.grids[i] == grid_id]


def _start(tx: Tx, drill_id: int, member_id: int | None) -> None:
    drill = find(tx.conn, drill_id)
    if drill is None or drill.state is not DrillState.SCHEDULED:
        return  # started already (another instance, or a retry after a failure)
    state = DrillState.STARTED if member_id is not None else DrillState.NO_MEMBER
    tx.conn.execute(
        update(DRILL).where(DRILL.c.id == drill_id).values(state=state.value, member_id=member_id)
    )
    data: dict[str, Any] = {
        "drill_id": drill_id,
        "member_id": member_id,
        "grid_id": drill.grid_id,
        "announced": drill.announced,
        "state": state.value,
    }
    if member_id is None:
        data["problem"] = f"no member on shift and free in grid {drill.grid_id}"
    tx.append(NewEvent(EventType.DRILL_STARTED, SYSTEM, None, data))


async def apply_due(ctx: Context, now: float) -> None:
    for drill_id in [d for d, at in ctx.drills_due.items() if at <= now]:
        drill = await ctx.read(find, drill_id)
        if drill is None or drill.state is not DrillState.SCHEDULED:
            ctx.drills_due.pop(drill_id, None)
            continue
        member_id = drill.member_id
        if member_id is None and drill.grid_id is not None:
            member_id = domain.pick(drill_id, candidates(ctx, drill.grid_id))
        await ctx.writer.run(partial(_start, drill_id=drill_id, member_id=member_id))


def next_check(ctx: Context) -> float | None:
    return min(ctx.drills_due.values(), default=None)


def frame(drill_id: int) -> DrillFrame:
    return DrillFrame(drill_id=drill_id)


def fold(ctx: Context, event: Event) -> tuple[float | None, int | None]:
    """A drill event into live state: (a clock to wake by, a member to send the `drill`
    frame to)."""
    d = event.data
    if event.type is EventType.DRILL_SCHEDULED:
        at = datetime.fromisoformat(d["due_at"]).timestamp()
        ctx.drills_due[d["drill_id"]] = at
        return at, None
    ctx.drills_due.pop(d["drill_id"], None)
    return None, d.get("member_id")


def pending_for(conn: Connection, member_id: int) -> list[int]:
    """This member's drills still waiting for their alarm: re-sent on every hello."""
    q = select(DRILL.c.id).where(
        DRILL.c.member_id == member_id, DRILL.c.state == DrillState.STARTED.value
    )
    return list(conn.execute(q.order_by(DRILL.c.id)).scalars())


def answer(tx: Tx, drill_id: int, member_id: int) -> dict[str, Any]:
    """In the alarm's transaction: the drill it says it answers must be this member's and
    waiting (else Conflict, and nothing is written); what the incident is opened with."""
    drill = domain.check_alarm(find(tx.conn, drill_id), drill_id, member_id)
    return domain.opening(drill)


def answered(tx: Tx, drill_id: int, incident_id: int) -> None:
    tx.conn.execute(
        update(DRILL)
        .where(DRILL.c.id == drill_id)
        .values(state=DrillState.RAISED.value, incident_id=incident_id)
    )
