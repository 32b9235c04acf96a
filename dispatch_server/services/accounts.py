"""Accounts under the administrator's hand (decision 44): members, duty volunteers, partners
and named administrators, listed, deactivated, reactivated and given a new token.

Each step revokes or issues tokens and logs its event in one transaction, with the
administrator as actor; no event holds a token. Every instance folds the event (`apply`,
called by services/observer.py) and closes the sockets the revoked tokens opened with 4401,
as a revoked device's are (services/devices.py). Again the same step: the same answer, no
new event.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Table, delete, func, select, update

from dispatch_server.clock import iso
from dispatch_server.domain.errors import Conflict, NotFound
from dispatch_server.domain.events import Event, EventType, NewEvent, actor
from dispatch_server.services import cluster, escalation
from dispatch_server.services.auth import Kind, issue
from dispatch_server.services.context import Context
from dispatch_server.services.effects import CloseSessions, Effect, Wake
from dispatch_server.store.log import Tx
from dispatch_server.store.tables import (
    ADMINISTRATOR,
    DEVICE,
    DISPATCHER,
    ENROLMENT,
    MEMBER,
    PARTNER,
    ROSTER_SLOT,
    TOKEN,
)

DEACTIVATED = "this account was deactivated by an administrator"
ROTATED = "this token was replaced by a new one; ask the administrator for it"


@dataclass(frozen=True)
class Book:
    """One kind of account: its table, the name of its id on the wire, its events."""

    kind: Kind
    table: Table
    id_field: str
    word: str  # in messages
    deactivated: EventType
    reactivated: EventType | None


MEMBERS = Book(
    Kind.MEMBER,
    MEMBER,
    "member_id",
    "member",
    EventType.MEMBER_DEACTIVATED,
    EventType.MEMBER_REACTIVATED,
)
DISPATCHERS = Book(
    Kind.DISPATCHER,
    DISPATCHER,
    "dispatcher_id",
    "dispatcher",
    EventType.DISPATCHER_DEACTIVATED,
    EventType.DISPATCHER_REACTIVATED,
)
PARTNERS = Book(
    Kind.PARTNER,
    PARTNER,
    "partner_id",
    "partner",
    EventType.PARTNER_DEACTIVATED,
    EventType.PARTNER_REACTIVATED,
)
ADMINISTRATORS = Book(
    Kind.ADMIN,
    ADMINISTRATOR,
    "administrator_id",
    "administrator",
    EventType.ADMINISTRATOR_DEACTIVATED,
    None,
)
BOOKS = {b.kind: b for b in (MEMBERS, DISPATCHERS, PARTNERS, ADMINISTRATORS)}


# --- what the admin pages show -----------------------------------------------------------


def _time(at: float | None) -> str | None:
    return None if at is None else iso(at)


def _devices(conn: Connection, member_ids: list[int] | None = None) -> dict[int, int]:
    """Enrolled, unrevoked handhelds per member."""
    q = (
        select(DEVICE.c.member_id, func.count())
        .where(DEVICE.c.revoked_at.is_(None))
        .group_by(DEVICE.c.member_id)
    )
    if member_ids is not None:
        q = q.where(DEVICE.c.member_id.in_(member_ids))
    return {member_id: count for member_id, count in conn.execute(q).all()}


def view(conn: Connection, book: Book, found: Any, devices: int | None = None) -> dict[str, Any]:
    """One account as the admin pages list it: never a token or a webhook secret."""
    out: dict[str, Any] = {book.id_field: found.id, "name": found.name}
    if book is MEMBERS:
        out.update(grid_id=found.grid_id, skills=list(found.skills))
    elif book is PARTNERS:
        out.update(
            kind=found.kind,
            grids=list(found.grids),
            webhook_url=found.webhook_url,
            accepts_drills=bool(found.accepts_drills),
        )
    out.update(created_at=iso(found.created_at), deactivated_at=_time(found.deactivated_at))
    if book is MEMBERS:
        out["devices"] = (
            devices if devices is not None else _devices(conn, [found.id]).get(found.id, 0)
        )
    return out


def row(conn: Connection, book: Book, subject_id: int) -> Any:
    found = conn.execute(select(book.table).where(book.table.c.id == subject_id)).first()
    if found is None:
        raise NotFound(f"no {book.word} {subject_id}")
    return found


def one(conn: Connection, book: Book, subject_id: int) -> dict[str, Any]:
    return view(conn, book, row(conn, book, subject_id))


def _listing(conn: Connection, book: Book) -> list[dict[str, Any]]:
    rows = conn.execute(select(book.table).order_by(book.table.c.id)).all()
    devices = _devices(conn) if book is MEMBERS else {}
    return [view(conn, book, r, devices.get(r.id, 0)) for r in rows]


async def listing(ctx: Context, kind: Kind) -> list[dict[str, Any]]:
    """Every account of this kind, active or not, by id."""
    return await ctx.read(_listing, BOOKS[kind])


# --- deactivate, reactivate, a new token --------------------------------------------------


def revoke_tokens(tx: Tx, kind: Kind, subject_id: int, *, registration_only: bool) -> None:
    """Every unrevoked token of the account (only those with no device, when
    `registration_only`: a member's enrolled handhelds keep theirs)."""
    q = update(TOKEN).where(
        TOKEN.c.kind == kind.value, TOKEN.c.subject_id == subject_id, TOKEN.c.revoked_at.is_(None)
    )
    if registration_only:
        q = q.where(TOKEN.c.device_id.is_(None))
    tx.conn.execute(q.values(revoked_at=tx.now))


def _retire_member(tx: Tx, member: Any, who: str) -> dict[str, Any]:
    """What deactivating a member takes besides its tokens: the shift ends (logged as the
    administrator's), the plan forgets it, its handhelds are revoked and its unused
    enrolment codes expire."""
    if member.on_shift:
        data = {"member_id": member.id, "grid_id": member.grid_id}
        tx.append(NewEvent(EventType.SHIFT_ENDED, who, None, data))
        tx.conn.execute(update(MEMBER).where(MEMBER.c.id == member.id).values(on_shift=False))
    tx.conn.execute(delete(ROSTER_SLOT).where(ROSTER_SLOT.c.member_id == member.id))
    mine = (DEVICE.c.member_id == member.id) & DEVICE.c.revoked_at.is_(None)
    device_ids = list(tx.conn.execute(select(DEVICE.c.id).where(mine)).scalars())
    tx.conn.execute(update(DEVICE).where(mine).values(revoked_at=tx.now))
    # An enrolment code not yet used would make a new device token: it expires now.
    unused = (
        (ENROLMENT.c.member_id == member.id)
        & ENROLMENT.c.used_at.is_(None)
        & (ENROLMENT.c.expires_at > tx.now)
    )
    tx.conn.execute(update(ENROLMENT).where(unused).values(expires_at=tx.now))
    return {"device_ids": device_ids}


def _deactivate(tx: Tx, book: Book, subject_id: int, who: str) -> dict[str, Any]:
    if book is ADMINISTRATORS and who == actor("admin", subject_id):
        raise Conflict("you cannot deactivate your own account")
    found = row(tx.conn, book, subject_id)
    if found.deactivated_at is not None:
        return view(tx.conn, book, found)  # already: nothing new
    extra = _retire_member(tx, found, who) if book is MEMBERS else {}
    revoke_tokens(tx, book.kind, subject_id, registration_only=False)
    table = book.table
    tx.conn.execute(update(table).where(table.c.id == subject_id).values(deactivated_at=tx.now))
    tx.append(NewEvent(book.deactivated, who, None, {book.id_field: subject_id, **extra}))
    return one(tx.conn, book, subject_id)


def _reactivate(tx: Tx, book: Book, subject_id: int, who: str) -> str:
    found = row(tx.conn, book, subject_id)
    if found.deactivated_at is None or book.reactivated is None:
        raise Conflict(f"{book.word} {subject_id} is active")
    table = book.table
    tx.conn.execute(update(table).where(table.c.id == subject_id).values(deactivated_at=None))
    tx.append(NewEvent(book.reactivated, who, None, {book.id_field: subject_id}))
    return issue(tx.conn, book.kind, subject_id, tx.now)


def _rotate(tx: Tx, book: Book, subject_id: int, who: str) -> str:
    found = row(tx.conn, book, subject_id)
    if found.deactivated_at is not None:
        raise Conflict(f"{book.word} {subject_id} is deactivated; reactivate it instead")
    revoke_tokens(tx, book.kind, subject_id, registration_only=book is MEMBERS)
    data = {"kind": book.kind.value, "subject_id": subject_id}
    tx.append(NewEvent(EventType.TOKEN_ROTATED, who, None, data))
    return issue(tx.conn, book.kind, subject_id, tx.now)


async def _partners_changed(ctx: Context, kind: Kind) -> None:
    """The escalation partners in memory follow, here and on the other instances."""
    if kind is Kind.PARTNER:
        await escalation.refresh_partners(ctx)
        cluster.reload(ctx, "partners")


async def deactivate(ctx: Context, kind: Kind, subject_id: int, who: str) -> dict[str, Any]:
    """The account's record after: its tokens revoked, its sockets closed on every instance
    (a member's shift ended and its slots in the plan cleared)."""
    done = await ctx.writer.run(lambda tx: _deactivate(tx, BOOKS[kind], subject_id, who))
    await _partners_changed(ctx, kind)
    return done


async def reactivate(ctx: Context, kind: Kind, subject_id: int, who: str) -> str:
    """A fresh token for a deactivated account (Conflict when it is active)."""
    token = await ctx.writer.run(lambda tx: _reactivate(tx, BOOKS[kind], subject_id, who))
    await _partners_changed(ctx, kind)
    return token


async def rotate(ctx: Context, kind: Kind, subject_id: int, who: str) -> str:
    """A new token; the old one (a member's registration token, not its handhelds') stops
    working and what it opened is closed."""
    return await ctx.writer.run(lambda tx: _rotate(tx, BOOKS[kind], subject_id, who))


# --- every instance: live state follows ----------------------------------------------------

FOLDED = frozenset(
    {
        EventType.MEMBER_UPDATED,
        EventType.MEMBER_DEACTIVATED,
        EventType.DISPATCHER_DEACTIVATED,
        EventType.PARTNER_DEACTIVATED,
        EventType.ADMINISTRATOR_DEACTIVATED,
        EventType.TOKEN_ROTATED,
    }
)
_CLOSED_BY = {b.deactivated: b for b in BOOKS.values()}


def apply(ctx: Context, event: Event) -> list[Effect]:
    """Fold one of FOLDED into this instance's live state (services/observer.py)."""
    data = event.data
    if event.type is EventType.MEMBER_UPDATED:
        return _member_updated(ctx, data["member_id"], data["changes"])
    if event.type is EventType.TOKEN_ROTATED:
        kind, subject_id = data["kind"], data["subject_id"]
        only = kind == Kind.MEMBER.value
        return [CloseSessions(kind, subject_id, ROTATED, registration_only=only)]
    book = _CLOSED_BY[event.type]
    subject_id = data[book.id_field]
    if book is PARTNERS:
        ctx.partners.pop(subject_id, None)  # "a deactivated partner is never escalated to"
    return [CloseSessions(book.kind.value, subject_id, DEACTIVATED)]


def _member_updated(ctx: Context, member_id: int, changes: dict[str, Any]) -> list[Effect]:
    if member_id not in ctx.roster:
        return []  # not loaded here yet: the members' reload reads it as it is now
    new = {field: pair[1] for field, pair in changes.items()}
    ctx.update_member(member_id, new.get("name"), new.get("grid_id"), new.get("skills"))
    return [Wake()]  # its check-in rule may have changed
