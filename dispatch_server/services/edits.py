"""An administrator's changes to a member or a partner (decision 44), each logged with only
the fields that changed, as `[old, new]`; a change that changes nothing logs nothing.

A member's change is folded into the live roster on every instance (services/accounts.py);
a partner's reloads the escalation partners here and on the other instances. A webhook set
where there was none gets a new secret, shown once; removing the webhook forgets the secret.
No event holds a secret.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from dispatch_server.domain.events import EventType, NewEvent
from dispatch_server.services import cluster, escalation
from dispatch_server.services.accounts import MEMBERS, PARTNERS, Book, one, row
from dispatch_server.services.auth import new_token
from dispatch_server.services.context import Context
from dispatch_server.store.log import Tx


def changes(found: Any, wanted: dict[str, Any]) -> dict[str, list[Any]]:
    """`{field: [old, new]}` for each wanted field whose value differs."""
    out = {}
    for field, new in wanted.items():
        old = getattr(found, field)
        old = list(old) if isinstance(old, list | tuple) else old
        if old != new:
            out[field] = [old, new]
    return out


def _apply(
    tx: Tx, book: Book, subject_id: int, wanted: dict[str, Any], event: EventType, who: str
) -> tuple[dict[str, Any], str | None]:
    found = row(tx.conn, book, subject_id)
    changed = changes(found, wanted)
    if not changed:
        return one(tx.conn, book, subject_id), None
    values = {field: pair[1] for field, pair in changed.items()}
    secret = None
    if "webhook_url" in changed:
        if values["webhook_url"] is None:
            values["webhook_secret"] = None
        elif found.webhook_url is None:
            values["webhook_secret"] = secret = new_token()
    table = book.table
    tx.conn.execute(update(table).where(table.c.id == subject_id).values(**values))
    tx.append(NewEvent(event, who, None, {book.id_field: subject_id, "changes": changed}))
    return one(tx.conn, book, subject_id), secret


async def update_member(
    ctx: Context, member_id: int, wanted: dict[str, Any], who: str
) -> dict[str, Any]:
    """The member's record after `wanted` (any of name, grid_id, skills; the grid known)."""
    record, _ = await ctx.writer.run(
        lambda tx: _apply(tx, MEMBERS, member_id, wanted, EventType.MEMBER_UPDATED, who)
    )
    return record


async def update_partner(
    ctx: Context, partner_id: int, wanted: dict[str, Any], who: str
) -> tuple[dict[str, Any], str | None]:
    """The partner's record after `wanted` (any of name, grids, kind, webhook_url,
    accepts_drills), and the
    new webhook secret when a webhook was set where there was none."""
    done = await ctx.writer.run(
        lambda tx: _apply(tx, PARTNERS, partner_id, wanted, EventType.PARTNER_UPDATED, who)
    )
    await escalation.refresh_partners(ctx)
    cluster.reload(ctx, "partners")
    return done
