"""Patrol supervision on the server: write the offline/online crossings the domain finds."""

from __future__ import annotations

import math
from functools import partial

from sqlalchemy import select, update

from dispatch_server.domain import supervision as domain
from dispatch_server.domain.events import EventType, NewEvent
from dispatch_server.services.context import Context
from dispatch_server.store.log import Tx
from dispatch_server.store.tables import MEMBER


def _mark(tx: Tx, member_id: int, offline: bool, silent_s: float | None) -> None:
    """One event per crossing: a second request for the same state writes nothing."""
    row = tx.conn.execute(
        select(MEMBER.c.offline, MEMBER.c.grid_id).where(MEMBER.c.id == member_id)
    ).one()
    if bool(row.offline) == offline:
        return
    kind = EventType.MEMBER_OFFLINE if offline else EventType.MEMBER_ONLINE
    silent = None if silent_s is None else round(silent_s, 1)  # None: never heard here
    data = {"member_id": member_id, "grid_id": row.grid_id, "silent_s": silent}
    tx.append(NewEvent(kind, "system:supervision", None, data))
    tx.conn.execute(update(MEMBER).where(MEMBER.c.id == member_id).values(offline=offline))


async def apply_due(ctx: Context, now: float) -> None:
    after = ctx.policy.offline_after_s
    roster = ctx.roster
    for member_id, offline in [
        *((m, True) for m in domain.gone_silent(roster, now, after)),
        *((m, False) for m in domain.back(roster, now, after)),
    ]:
        seen = float(roster.last_seen[roster.row[member_id]])
        silent = now - seen if math.isfinite(seen) else None
        await ctx.writer.run(partial(_mark, member_id=member_id, offline=offline, silent_s=silent))
        # Normally the event already did this; if the log had it before, this stops a re-check.
        roster.set_marked_offline(member_id, offline)


def next_check(ctx: Context) -> float | None:
    return domain.next_check(ctx.roster, ctx.policy.offline_after_s)
