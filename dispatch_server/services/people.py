"""Members, dispatchers and partners: registered by the administrator, each with a token."""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import Connection, insert, select, update

from dispatch_server.clock import iso
from dispatch_server.domain.errors import Conflict
from dispatch_server.domain.escalation import Partner, PartnerKind
from dispatch_server.domain.events import EventType, NewEvent, actor
from dispatch_server.services import cluster
from dispatch_server.services.auth import Kind, issue, new_token
from dispatch_server.services.context import Context
from dispatch_server.store.log import Tx
from dispatch_server.store.tables import DISPATCHER, MEMBER, PARTNER

# Who registers when nobody says: the bootstrap administrator (tests, the CLI).
ADMIN = "admin:0"


def _create_member(tx: Tx, name: str, grid_id: str, skills: list[str], who: str) -> tuple[int, str]:
    member_id = tx.conn.execute(
        insert(MEMBER).returning(MEMBER.c.id),
        {
            "name": name,
            "grid_id": grid_id,
            "skills": skills,
            "on_shift": False,
            "created_at": tx.now,
        },
    ).scalar_one()
    data = {"member_id": member_id, "name": name, "grid_id": grid_id, "skills": skills}
    tx.append(NewEvent(EventType.MEMBER_REGISTERED, who, None, data))
    return member_id, issue(tx.conn, Kind.MEMBER, member_id, tx.now)


async def create_member(
    ctx: Context, name: str, grid_id: str, skills: list[str], who: str = ADMIN
) -> tuple[int, str]:
    """Register a member (logged as `member_registered` by `who`) and give it a token."""
    member_id, token = await ctx.writer.run(
        lambda tx: _create_member(tx, name, grid_id, skills, who)
    )
    ctx.add_member(member_id, name, grid_id, skills)
    cluster.reload(ctx, "members")
    return member_id, token


def _create_dispatcher(tx: Tx, name: str, who: str) -> tuple[int, str]:
    dispatcher_id = tx.conn.execute(
        insert(DISPATCHER).returning(DISPATCHER.c.id), {"name": name, "created_at": tx.now}
    ).scalar_one()
    data = {"dispatcher_id": dispatcher_id, "name": name}
    tx.append(NewEvent(EventType.DISPATCHER_REGISTERED, who, None, data))
    return dispatcher_id, issue(tx.conn, Kind.DISPATCHER, dispatcher_id, tx.now)


async def create_dispatcher(ctx: Context, name: str, who: str = ADMIN) -> tuple[int, str]:
    return await ctx.writer.run(lambda tx: _create_dispatcher(tx, name, who))


def _create_partner(
    tx: Tx,
    name: str,
    grids: list[str],
    kind: str,
    webhook_url: str | None,
    who: str,
    accepts_drills: bool,
) -> tuple[int, str, str | None]:
    secret = new_token() if webhook_url else None
    partner_id = tx.conn.execute(
        insert(PARTNER).returning(PARTNER.c.id),
        {
            "name": name,
            "grids": grids,
            "webhook_url": webhook_url,
            "webhook_secret": secret,
            "kind": kind,
            "created_at": tx.now,
            "accepts_drills": accepts_drills,
        },
    ).scalar_one()
    # Whether it has a webhook, never the secret.
    data = {
        "partner_id": partner_id,
        "name": name,
        "kind": kind,
        "grids": grids,
        "webhook": webhook_url is not None,
    }
    tx.append(NewEvent(EventType.PARTNER_REGISTERED, who, None, data))
    return partner_id, issue(tx.conn, Kind.PARTNER, partner_id, tx.now), secret


async def create_partner(
    ctx: Context,
    name: str,
    grids: list[str],
    kind: PartnerKind,
    webhook_url: str | None,
    who: str = ADMIN,
    accepts_drills: bool = False,
) -> tuple[int, str, str | None]:
    result = await ctx.writer.run(
        lambda tx: _create_partner(tx, name, grids, kind.value, webhook_url, who, accepts_drills)
    )
    partner_id, _, secret = result
    ctx.partners[partner_id] = Partner(
        partner_id, name, kind, frozenset(grids), webhook_url, secret, accepts_drills
    )
    cluster.reload(ctx, "partners")
    return result


def _set_shift(tx: Tx, member_id: int, on: bool) -> bool:
    """Start or end a shift; the same request twice writes nothing the second time."""
    was = tx.conn.execute(
        select(MEMBER.c.on_shift, MEMBER.c.grid_id, MEMBER.c.deactivated_at).where(
            MEMBER.c.id == member_id
        )
    ).one()
    if on and was.deactivated_at is not None:
        # A frame that was on its way when the administrator deactivated the member.
        raise Conflict("this member was deactivated")
    if bool(was.on_shift) != on:
        kind = EventType.SHIFT_STARTED if on else EventType.SHIFT_ENDED
        data = {"member_id": member_id, "grid_id": was.grid_id}
        tx.append(NewEvent(kind, actor("member", member_id), None, data))
        changes: dict[str, Any] = {"on_shift": on}
        if on:  # a shift starts checked in (lone-worker mode)
            changes.update(last_check_in=tx.now, check_in_state=0)
        tx.conn.execute(update(MEMBER).where(MEMBER.c.id == member_id).values(**changes))
    return on


async def set_shift(ctx: Context, member_id: int, on: bool) -> bool:
    # The roster follows from the shift event (services/observer.py), before this returns.
    return await ctx.writer.run(lambda tx: _set_shift(tx, member_id, on))


def live_members(ctx: Context) -> list[dict[str, Any]]:
    """Who is on shift, connected, busy and where, as this instance sees it now."""
    now = ctx.clock()
    roster = ctx.roster
    out = []
    for i, member_id in enumerate(roster.ids):
        fix = roster.fix(member_id)
        lonlat = ctx.grids.projection.to_lonlat(fix.x, fix.y) if fix else None
        out.append(
            {
                "member_id": member_id,
                "name": roster.names[i],
                "grid_id": roster.grids[i],
                "on_shift": bool(roster.on_shift[i]),
                "connected": bool(roster.connected[i]),
                "offline": bool(roster.marked_offline[i]),
                # Seconds since anything was heard from the handheld; None: never, this run.
                "silent_s": round(now - seen, 1)
                if math.isfinite(seen := float(roster.last_seen[i]))
                else None,
                "busy": bool(roster.busy[i]),
                "fix": None
                if fix is None or lonlat is None
                else {
                    "lon": round(lonlat[0], 7),
                    "lat": round(lonlat[1], 7),
                    "accuracy_m": fix.accuracy_m,
                    "at": iso(fix.at),
                    "fresh": now - fix.at <= ctx.policy.fresh_fix_s,
                },
            }
        )
    return out


def _members(conn: Connection) -> list[Any]:
    return list(conn.execute(select(MEMBER.c.id, MEMBER.c.name, MEMBER.c.grid_id, MEMBER.c.skills)))


async def reload_members(ctx: Context) -> None:
    """Members another instance registered: into this instance's roster."""
    for row in await ctx.read(_members):
        if row.id not in ctx.roster:
            ctx.add_member(row.id, row.name, row.grid_id, list(row.skills))
