"""Named administrators (decision 44): each with a token of kind `admin`, so the log says
which administrator did what (`admin:2`), where the one admin token of the settings says
only `admin:0`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert

from dispatch_server.domain.events import EventType, NewEvent
from dispatch_server.services import names
from dispatch_server.services.auth import Kind, Principal, issue
from dispatch_server.services.context import Context
from dispatch_server.store.log import Tx
from dispatch_server.store.tables import ADMINISTRATOR


def _create(tx: Tx, name: str, who: str) -> tuple[int, str]:
    administrator_id = tx.conn.execute(
        insert(ADMINISTRATOR).returning(ADMINISTRATOR.c.id), {"name": name, "created_at": tx.now}
    ).scalar_one()
    data = {"administrator_id": administrator_id, "name": name}
    tx.append(NewEvent(EventType.ADMINISTRATOR_REGISTERED, who, None, data))
    return administrator_id, issue(tx.conn, Kind.ADMIN, administrator_id, tx.now)


async def create(ctx: Context, name: str, who: str) -> tuple[int, str]:
    """A named administrator and its token (shown once)."""
    return await ctx.writer.run(lambda tx: _create(tx, name, who))


def _name(conn: Connection, key: str) -> str | None:
    return names.load(conn).of(key)


async def whoami(ctx: Context, principal: Principal) -> dict[str, Any]:
    """Who a token is: its kind, id, actor key and name (None for `admin:0`)."""
    return {
        "kind": principal.kind.value,
        "id": principal.id,
        "actor": principal.actor,
        "name": await ctx.read(_name, principal.actor),
    }
