"""The shift roster: the morning and evening patrol planned for each grid, beside what
each planned member is doing now (on shift, online, busy on an incident, offline)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, insert, select

from dispatch_server.domain.errors import Conflict
from dispatch_server.domain.events import EventType, NewEvent
from dispatch_server.domain.shifts import Shift
from dispatch_server.services import cluster
from dispatch_server.services.context import Context
from dispatch_server.store.log import Tx
from dispatch_server.store.tables import MEMBER, ROSTER_SLOT

__all__ = ["Shift", "load_plan", "plan", "refresh_plan", "status", "view"]


def _replace(tx: Tx, grid_id: str, shift: Shift, member_ids: list[int], who: str) -> None:
    ids = list(dict.fromkeys(member_ids))
    gone = sorted(
        tx.conn.execute(
            select(MEMBER.c.id).where(MEMBER.c.id.in_(ids), MEMBER.c.deactivated_at.is_not(None))
        ).scalars()
    )
    if gone:  # "deactivated members are never planned" (decision 44)
        raise Conflict(f"member {', '.join(map(str, gone))} is deactivated")
    slot = (ROSTER_SLOT.c.grid_id == grid_id) & (ROSTER_SLOT.c.shift == shift.value)
    tx.conn.execute(delete(ROSTER_SLOT).where(slot))
    for member_id in ids:
        tx.conn.execute(
            insert(ROSTER_SLOT), {"grid_id": grid_id, "shift": shift.value, "member_id": member_id}
        )
    data = {"grid_id": grid_id, "shift": shift.value, "member_ids": ids}
    tx.append(NewEvent(EventType.ROSTER_SLOT_SET, who, None, data))


async def plan(
    ctx: Context, grid_id: str, shift: Shift, member_ids: list[int], who: str = "admin:0"
) -> None:
    """Replace one slot of the plan, logged as `roster_slot_set` by `who`; Conflict (nothing
    written) when a member in it is deactivated."""
    await ctx.writer.run(lambda tx: _replace(tx, grid_id, shift, member_ids, who))
    await refresh_plan(ctx)
    cluster.reload(ctx, "roster_plan")


def load_plan(conn: Connection) -> dict[Shift, set[str]]:
    """The grids with a slot for each shift: what the coverage watch watches."""
    planned: dict[Shift, set[str]] = {s: set() for s in Shift}
    for row in conn.execute(select(ROSTER_SLOT.c.grid_id, ROSTER_SLOT.c.shift).distinct()):
        planned[Shift(row.shift)].add(row.grid_id)
    return planned


async def refresh_plan(ctx: Context) -> None:
    ctx.planned = await ctx.read(load_plan)
    ctx.scheduler.wake()


def _slots(conn: Connection) -> list[Any]:
    return list(conn.execute(select(ROSTER_SLOT).order_by(ROSTER_SLOT.c.member_id)).all())


def status(ctx: Context, member_id: int) -> dict[str, Any]:
    roster = ctx.roster
    i = roster.row[member_id]
    return {
        "member_id": member_id,
        "name": roster.names[i],
        "on_shift": bool(roster.on_shift[i]),
        "connected": bool(roster.connected[i]),
        "offline": bool(roster.marked_offline[i]),
        "busy": bool(roster.busy[i]),
    }


async def view(ctx: Context) -> list[dict[str, Any]]:
    """Every grid and shift, planned members first with their live status."""
    planned: dict[tuple[str, str], list[int]] = {}
    for row in await ctx.read(_slots):
        planned.setdefault((row.grid_id, row.shift), []).append(row.member_id)
    return [
        {
            "grid_id": grid_id,
            "shift": shift.value,
            "members": [
                status(ctx, m) for m in planned.get((grid_id, shift.value), []) if m in ctx.roster
            ],
        }
        for grid_id in ctx.grids.grid_ids
        for shift in Shift
    ]
