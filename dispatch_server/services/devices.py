"""Handhelds signed in with no typing (decision 35): the administrator makes a one-time
enrolment code for a member; a phone exchanges it for a device token; the administrator
lists a member's devices and revokes one.

Codes and tokens are stored only as hashes. A code is never a token: it is hashed with a
prefix of its own and kept in `enrolment`, which no authentication ever reads, so a code
sent as a bearer token is simply unknown. Revoking a device revokes its token in the same
transaction and logs `device_revoked`; every instance folds that event (services/observer.py)
and closes the device's patrol sockets with 4401 (live/hub.py).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select, update

from dispatch_server.clock import iso
from dispatch_server.domain.enrolment import Code, CodeRefused, Refusal, enrol_url, refusal
from dispatch_server.domain.enrolment import expires_at as expiry
from dispatch_server.domain.errors import Conflict, NotFound
from dispatch_server.domain.events import EventType, NewEvent, actor
from dispatch_server.services.auth import Kind, issue
from dispatch_server.services.context import Context
from dispatch_server.store.log import Tx
from dispatch_server.store.tables import DEVICE, ENROLMENT, MEMBER, TOKEN


@dataclass(frozen=True)
class Enrolment:
    code: str
    url: str
    expires_at: float


@dataclass(frozen=True)
class Enrolled:
    token: str
    member_id: int
    device_id: int
    device_name: str


def new_code() -> str:
    # 128 random bits: short enough for a QR code a phone reads at arm's length.
    return secrets.token_urlsafe(16)


def hash_code(code: str) -> str:
    """Codes are random like tokens, so a plain hash is enough; the prefix keeps a code's
    hash from ever being a token's (services/auth.hash_token)."""
    return hashlib.sha256(b"enrolment-code:" + code.encode()).hexdigest()


def _member_exists(conn: Connection, member_id: int) -> None:
    if conn.execute(select(MEMBER.c.id).where(MEMBER.c.id == member_id)).first() is None:
        raise NotFound(f"no member {member_id}")


def _active(conn: Connection, member_ids: list[int]) -> None:
    """A deactivated member gets no handheld (decision 44): it is never authenticated."""
    gone = sorted(
        conn.execute(
            select(MEMBER.c.id).where(
                MEMBER.c.id.in_(member_ids), MEMBER.c.deactivated_at.is_not(None)
            )
        ).scalars()
    )
    if gone:
        raise Conflict(f"member {', '.join(map(str, gone))} is deactivated")


def _create(tx: Tx, member_id: int, code: str, ttl_s: float, who: str) -> float:
    _member_exists(tx.conn, member_id)
    _active(tx.conn, [member_id])
    return _insert(tx, member_id, code, ttl_s, who)


def _insert(tx: Tx, member_id: int, code: str, ttl_s: float, who: str) -> float:
    """The code's row and its `enrolment_created` event, for a member known to exist."""
    until = expiry(tx.now, ttl_s)
    enrolment_id = tx.conn.execute(
        insert(ENROLMENT).returning(ENROLMENT.c.id),
        {
            "code_hash": hash_code(code),
            "member_id": member_id,
            "created_at": tx.now,
            "expires_at": until,
        },
    ).scalar_one()
    data = {"member_id": member_id, "enrolment_id": enrolment_id, "expires_at": until}
    tx.append(NewEvent(EventType.ENROLMENT_CREATED, who, None, data))
    return until


async def create_enrolment(ctx: Context, member_id: int, public_base: str, who: str) -> Enrolment:
    """A one-time code for this member's next handheld; only its hash is kept."""
    code = new_code()
    ttl_s = ctx.settings.enrolment_ttl_s
    until = await ctx.writer.run(lambda tx: _create(tx, member_id, code, ttl_s, who))
    return Enrolment(code, enrol_url(public_base, code), until)


@dataclass(frozen=True)
class MemberEnrolment:
    member_id: int
    name: str
    grid_id: str
    enrolment: Enrolment


def _create_many(
    tx: Tx, member_ids: list[int], codes: list[str], ttl_s: float, who: str
) -> list[tuple[int, str, str, float]]:
    rows = tx.conn.execute(
        select(MEMBER.c.id, MEMBER.c.name, MEMBER.c.grid_id).where(MEMBER.c.id.in_(member_ids))
    ).all()
    known = {r.id: r for r in rows}
    missing = [m for m in member_ids if m not in known]
    if missing:
        raise NotFound(f"no member {', '.join(map(str, missing))}")
    _active(tx.conn, member_ids)
    made = []
    for member_id, code in zip(member_ids, codes, strict=True):
        until = _insert(tx, member_id, code, ttl_s, who)
        made.append((member_id, known[member_id].name, known[member_id].grid_id, until))
    return made


async def create_enrolments(
    ctx: Context, member_ids: list[int], public_base: str, who: str
) -> list[MemberEnrolment]:
    """A code for each member, in one job: all are made, each logged as `enrolment_created`,
    or (an unknown member: NotFound) none is. With each, the member's name and grid, for
    the card it is printed on."""
    codes = [new_code() for _ in member_ids]
    ttl_s = ctx.settings.enrolment_ttl_s
    made = await ctx.writer.run(lambda tx: _create_many(tx, member_ids, codes, ttl_s, who))
    return [
        MemberEnrolment(m, name, grid, Enrolment(code, enrol_url(public_base, code), until))
        for (m, name, grid, until), code in zip(made, codes, strict=True)
    ]


def _enrol(tx: Tx, code: str, device_name: str) -> Enrolled:
    row = tx.conn.execute(
        select(
            ENROLMENT.c.id, ENROLMENT.c.member_id, ENROLMENT.c.expires_at, ENROLMENT.c.used_at
        ).where(ENROLMENT.c.code_hash == hash_code(code))
    ).first()
    found = None if row is None else Code(row.member_id, row.expires_at, row.used_at)
    if (why := refusal(found, tx.now)) is not None:
        raise CodeRefused(why)
    assert row is not None
    # "Each code works once": the writer runs one job at a time (and, in a cluster, under
    # the cluster-wide write lock), and the guard holds even without that.
    claimed = tx.conn.execute(
        update(ENROLMENT)
        .where(ENROLMENT.c.id == row.id, ENROLMENT.c.used_at.is_(None))
        .values(used_at=tx.now)
    ).rowcount
    if claimed != 1:
        raise CodeRefused(Refusal.USED)
    device_id = tx.conn.execute(
        insert(DEVICE).returning(DEVICE.c.id),
        {"member_id": row.member_id, "name": device_name, "created_at": tx.now},
    ).scalar_one()
    tx.conn.execute(update(ENROLMENT).where(ENROLMENT.c.id == row.id).values(device_id=device_id))
    token = issue(tx.conn, Kind.MEMBER, row.member_id, tx.now, device_id)
    data = {
        "member_id": row.member_id,
        "device_id": device_id,
        "device_name": device_name,
        "enrolment_id": row.id,
    }
    tx.append(NewEvent(EventType.DEVICE_ENROLLED, actor("device", device_id), None, data))
    return Enrolled(token, row.member_id, device_id, device_name)


async def enrol(ctx: Context, code: str, device_name: str) -> Enrolled:
    """The code for a device token, once; CodeRefused (nothing written) otherwise."""
    return await ctx.writer.run(lambda tx: _enrol(tx, code, device_name))


def _view(row: Any) -> dict[str, Any]:
    return {
        "device_id": row.id,
        "member_id": row.member_id,
        "name": row.name,
        "enrolled_at": iso(row.created_at),
        "revoked_at": None if row.revoked_at is None else iso(row.revoked_at),
    }


def _devices(conn: Connection, member_id: int) -> list[dict[str, Any]]:
    _member_exists(conn, member_id)
    rows = conn.execute(
        select(DEVICE).where(DEVICE.c.member_id == member_id).order_by(DEVICE.c.id)
    ).all()
    return [_view(r) for r in rows]


async def devices(ctx: Context, member_id: int) -> list[dict[str, Any]]:
    """A member's handhelds, oldest first, the revoked ones too."""
    return await ctx.read(_devices, member_id)


def _revoke(tx: Tx, member_id: int, device_id: int, who: str) -> dict[str, Any]:
    row = tx.conn.execute(
        select(DEVICE).where(DEVICE.c.id == device_id, DEVICE.c.member_id == member_id)
    ).first()
    if row is None:
        raise NotFound(f"member {member_id} has no device {device_id}")
    if row.revoked_at is not None:
        return _view(row)  # already revoked: nothing new
    tx.conn.execute(update(DEVICE).where(DEVICE.c.id == device_id).values(revoked_at=tx.now))
    tx.conn.execute(
        update(TOKEN)
        .where(TOKEN.c.device_id == device_id, TOKEN.c.revoked_at.is_(None))
        .values(revoked_at=tx.now)
    )
    data = {"member_id": member_id, "device_id": device_id}
    tx.append(NewEvent(EventType.DEVICE_REVOKED, who, None, data))
    return {**_view(row), "revoked_at": iso(tx.now)}


async def revoke(ctx: Context, member_id: int, device_id: int, who: str) -> dict[str, Any]:
    """Revoke the device and its token; its sockets, on every instance, are closed with 4401
    as the event is folded (services/observer.py). Again: nothing new."""
    return await ctx.writer.run(lambda tx: _revoke(tx, member_id, device_id, who))
