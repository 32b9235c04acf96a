"""The audit trail (decision 44): every step an administrator took, read from the log.

An administrator's events are the log's like any other (actor `admin:N`); this only pages
through them newest first, with the administrator's name beside each.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from dispatch_server.clock import iso
from dispatch_server.services import names
from dispatch_server.services.context import Context
from dispatch_server.store.tables import EVENT


def _page(conn: Connection, before_seq: int | None, limit: int) -> dict[str, Any]:
    q = select(EVENT).where(EVENT.c.actor.like("admin:%"))
    if before_seq is not None:
        q = q.where(EVENT.c.seq < before_seq)
    rows = conn.execute(q.order_by(EVENT.c.seq.desc()).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    who = names.load(conn)
    events = [
        {
            "seq": r.seq,
            "at": iso(r.at),
            "type": r.type,
            "actor": r.actor,
            "actor_name": who.of(r.actor),
            "data": r.data,
        }
        for r in rows
    ]
    return {"events": events, "next_before_seq": rows[-1].seq if more else None}


async def page(ctx: Context, before_seq: int | None, limit: int) -> dict[str, Any]:
    """Up to `limit` administrators' events before `before_seq` (None: from the newest),
    newest first; `next_before_seq` is where the next page starts (None: no more)."""
    return await ctx.read(_page, before_seq, limit)
