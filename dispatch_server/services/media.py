"""Photos and clips on an incident: declaring one, taking its bytes chunk by chunk,
completing it (one `media_attached` event), serving it, and deleting old bytes.

The bytes live in the database (`media_chunk`, decision 37). Each declaration and each
chunk is one writer job; the sha256 of a complete upload is checked on a reader
connection, off the writer, so hashing 32 MiB never holds up an alarm; then one more job
completes it (or drops the bytes) if the upload is still as the check saw it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from dispatch_server.domain import media as domain
from dispatch_server.domain.errors import NotFound
from dispatch_server.domain.events import EventType, NewEvent
from dispatch_server.domain.media import Kind, Limits, Refused
from dispatch_server.services.auth import Kind as PrincipalKind
from dispatch_server.services.auth import Principal
from dispatch_server.services.context import Context
from dispatch_server.services.incidents import append, load
from dispatch_server.services.partners import visible_incidents
from dispatch_server.settings import Settings
from dispatch_server.store.log import Tx
from dispatch_server.store.tables import INCIDENT, MEDIA, MEDIA_CHUNK


def limits(settings: Settings) -> Limits:
    return Limits(
        max_bytes=settings.media_max_bytes,
        max_per_incident=settings.media_max_per_incident,
        chunk_bytes=settings.media_chunk_bytes,
        upload_grace_s=settings.media_upload_grace_s,
    )


@dataclass(frozen=True)
class Declaration:
    sha256: str
    size: int
    content_type: str
    kind: Kind
    duration_s: float | None = None


def answer(row: Any) -> dict[str, Any]:
    """A media as the upload routes answer it."""
    return {
        "media_id": row.id,
        "incident_id": row.incident_id,
        "sha256": row.sha256,
        "size": row.size,
        "content_type": row.content_type,
        "kind": row.kind,
        "duration_s": row.duration_s,
        "received": row.received,
        "complete": row.completed_at is not None,
    }


def row_of(conn: Connection, media_id: int) -> Any:
    row = conn.execute(select(MEDIA).where(MEDIA.c.id == media_id)).first()
    if row is None:
        raise NotFound(f"no media {media_id}")
    return row


# --- uploading -------------------------------------------------------------------------


def declare(
    tx: Tx, incident_id: int, member_id: int, d: Declaration, lim: Limits
) -> tuple[Any, bool]:
    """The media row for (incident, sha256): the one already there (a retry, even after a
    reload), or a new one. True when new."""
    inc = load(tx.conn, incident_id)
    if not domain.may_add(inc, member_id):
        raise Refused(403, domain.NOT_YOURS)
    key = (MEDIA.c.incident_id == incident_id) & (MEDIA.c.sha256 == d.sha256)
    existing = tx.conn.execute(select(MEDIA).where(key)).first()
    if existing is not None:
        if existing.size != d.size:
            raise Refused(
                409, f"media {existing.id} has this sha256 with size {existing.size}, not {d.size}"
            )
        return existing, False
    count = tx.conn.execute(
        select(func.count()).select_from(MEDIA).where(MEDIA.c.incident_id == incident_id)
    ).scalar_one()
    stored = domain.check_declaration(inc, member_id, d.size, d.content_type, count, tx.now, lim)
    row = {
        "incident_id": incident_id,
        "member_id": member_id,
        "sha256": d.sha256,
        "size": d.size,
        "content_type": stored,
        "kind": d.kind.value,
        "duration_s": d.duration_s,
        "received": 0,
        "created_at": tx.now,
    }
    media_id = tx.conn.execute(insert(MEDIA).returning(MEDIA.c.id), row).scalar_one()
    return row_of(tx.conn, media_id), True


def may_upload(conn: Connection, row: Any, member_id: int) -> None:
    """Whoever declared it, or anyone else who may add media to its incident."""
    if row.member_id != member_id and not domain.may_add(load(conn, row.incident_id), member_id):
        raise Refused(403, domain.NOT_YOURS)


def put_chunk(tx: Tx, media_id: int, member_id: int, offset: int, data: bytes) -> Any:
    """Store a chunk at `offset` (which must be what is already received). A complete media
    takes nothing and says so."""
    row = row_of(tx.conn, media_id)
    may_upload(tx.conn, row, member_id)
    if row.completed_at is not None:
        return row
    if row.expired_at is not None:
        raise Refused(410, f"media {media_id} expired: its bytes were deleted")
    received = domain.check_chunk(row.received, row.size, offset, len(data))
    if data:
        tx.conn.execute(insert(MEDIA_CHUNK), {"media_id": media_id, "offset": offset, "data": data})
        tx.conn.execute(update(MEDIA).where(MEDIA.c.id == media_id).values(received=received))
    return row_of(tx.conn, media_id)


def digest(conn: Connection, media_id: int) -> tuple[str, int]:
    """The sha256 of the stored bytes, and how many there are, read chunk by chunk."""
    h = hashlib.sha256()
    total = 0
    for chunk in chunks(conn, media_id):
        h.update(chunk)
        total += len(chunk)
    return h.hexdigest(), total


def finish(tx: Tx, media_id: int, checked: tuple[str, int]) -> Any:
    """Complete the upload if the bytes checked (`(sha256, length)`) are the declared ones,
    logging `media_attached`; else drop them so the upload starts again. Nothing happens if
    the upload changed since the check (another request finished or dropped it)."""
    row = row_of(tx.conn, media_id)
    if row.completed_at is not None or row.received != row.size or checked[1] != row.size:
        return row
    if checked[0] != row.sha256:
        tx.conn.execute(delete(MEDIA_CHUNK).where(MEDIA_CHUNK.c.media_id == media_id))
        tx.conn.execute(update(MEDIA).where(MEDIA.c.id == media_id).values(received=0))
        return row_of(tx.conn, media_id)
    tx.conn.execute(update(MEDIA).where(MEDIA.c.id == media_id).values(completed_at=tx.now))
    data = {
        "media_id": media_id,
        "member_id": row.member_id,
        "kind": row.kind,
        "content_type": row.content_type,
        "size": row.size,
        "sha256": row.sha256,
        "duration_s": row.duration_s,
    }
    append(tx, NewEvent(EventType.MEDIA_ATTACHED, f"member:{row.member_id}", row.incident_id, data))
    return row_of(tx.conn, media_id)


async def settle(ctx: Context, row: Any) -> Any:
    """A media whose bytes are all in: check them and complete it or drop them. A mismatch is
    a 422 (after the bytes are dropped)."""
    if row.completed_at is not None or row.received != row.size:
        return row
    checked = await ctx.read(digest, row.id)
    after = await ctx.writer.run(lambda tx: finish(tx, row.id, checked))
    if after.completed_at is None and after.received == 0:
        raise Refused(422, "content does not match sha256; upload it again from offset 0", 0)
    return after


# --- reading ---------------------------------------------------------------------------


def chunks(conn: Connection, media_id: int) -> Iterator[bytes]:
    """The stored bytes in order, one chunk in memory at a time."""
    offsets = list(
        conn.execute(
            select(MEDIA_CHUNK.c.offset)
            .where(MEDIA_CHUNK.c.media_id == media_id)
            .order_by(MEDIA_CHUNK.c.offset)
        ).scalars()
    )
    for offset in offsets:
        yield chunk_at(conn, media_id, offset)


def chunk_at(conn: Connection, media_id: int, offset: int) -> bytes:
    key = (MEDIA_CHUNK.c.media_id == media_id) & (MEDIA_CHUNK.c.offset == offset)
    return bytes(conn.execute(select(MEDIA_CHUNK.c.data).where(key)).scalar_one())


def chunk_index(conn: Connection, media_id: int) -> list[tuple[int, int]]:
    """(offset, length) of each stored chunk, in order."""
    rows = conn.execute(
        select(MEDIA_CHUNK.c.offset, func.length(MEDIA_CHUNK.c.data))
        .where(MEDIA_CHUNK.c.media_id == media_id)
        .order_by(MEDIA_CHUNK.c.offset)
    ).all()
    return [(int(o), int(n)) for o, n in rows]


def readable(conn: Connection, who: Principal, media_id: int) -> Any:
    """The complete media `who` may read: dispatchers and the administrator any; a partner
    one of an incident escalated to it (403 otherwise, whether or not it exists); a member
    the ones it uploaded."""
    row = conn.execute(select(MEDIA).where(MEDIA.c.id == media_id)).first()
    if who.kind is PrincipalKind.PARTNER:
        if row is None or row.incident_id not in visible_incidents(conn, who.id):
            raise Refused(403, f"media {media_id} is not on an incident escalated to you")
    elif who.kind is PrincipalKind.MEMBER and (row is None or row.member_id != who.id):
        raise Refused(403, f"media {media_id} is not one you uploaded")
    if row is None or row.completed_at is None:
        raise NotFound(f"no complete media {media_id}")
    if row.expired_at is not None:
        raise Refused(410, f"media {media_id} expired: its bytes were deleted after retention")
    return row


# --- retention ---------------------------------------------------------------------------


def expired_media(conn: Connection, cutoff: float) -> dict[int, list[int]]:
    """Media still holding bytes (or a declaration) on incidents resolved before `cutoff`,
    by incident."""
    q = (
        select(MEDIA.c.incident_id, MEDIA.c.id)
        .join(INCIDENT, INCIDENT.c.id == MEDIA.c.incident_id)
        .where(
            MEDIA.c.expired_at.is_(None),
            INCIDENT.c.resolved_at.is_not(None),
            INCIDENT.c.resolved_at < cutoff,
        )
        .order_by(MEDIA.c.id)
    )
    found: dict[int, list[int]] = {}
    for incident_id, media_id in conn.execute(q).all():
        found.setdefault(incident_id, []).append(media_id)
    return found


def expire(tx: Tx, incident_id: int, media_ids: list[int]) -> None:
    """Delete the bytes of these media and mark them expired; log `media_expired` with those
    that had completed (an unfinished upload was never in the log)."""
    rows = tx.conn.execute(
        select(MEDIA.c.id, MEDIA.c.completed_at).where(
            MEDIA.c.id.in_(media_ids), MEDIA.c.expired_at.is_(None)
        )
    ).all()
    ids = [r.id for r in rows]
    if not ids:
        return
    tx.conn.execute(delete(MEDIA_CHUNK).where(MEDIA_CHUNK.c.media_id.in_(ids)))
    tx.conn.execute(update(MEDIA).where(MEDIA.c.id.in_(ids)).values(expired_at=tx.now))
    logged = sorted(r.id for r in rows if r.completed_at is not None)
    if logged:
        data = {"media_ids": logged}
        append(tx, NewEvent(EventType.MEDIA_EXPIRED, "system:retention", incident_id, data))
