"""Commands on incidents and the reads behind the incident log.

Every command is one writer job: fold the incident's events, let the domain
decide (or refuse with Conflict), append the event, and bring the projection
rows up to date in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select, update

from dispatch_server.domain import incidents as domain
from dispatch_server.domain.errors import NotFound
from dispatch_server.domain.events import Event, EventType, NewEvent
from dispatch_server.domain.incidents import Disposition, Incident, ResponderStatus, Status
from dispatch_server.services import names
from dispatch_server.services.context import Context
from dispatch_server.services.views import incident_view
from dispatch_server.store.log import Tx, incident_events, last_seq
from dispatch_server.store.tables import ASSIGNMENT, INCIDENT


def _project(conn: Connection, inc: Incident, event: Event) -> None:
    conn.execute(
        update(INCIDENT)
        .where(INCIDENT.c.id == inc.incident_id)
        .values(
            status=inc.status.value,
            category=inc.category,
            acknowledged_at=inc.acknowledged_at,
            resolved_at=inc.resolved_at,
            disposition=inc.disposition.value if inc.disposition else None,
            last_seq=inc.last_seq,
        )
    )
    if event.type is EventType.RESPONDERS_DISPATCHED:
        for member_id in event.data["member_ids"]:
            _upsert_assignment(conn, inc, member_id)
    elif event.type is EventType.ASSIGNMENT_REPLIED:
        _upsert_assignment(conn, inc, event.data["member_id"])


def _upsert_assignment(conn: Connection, inc: Incident, member_id: int) -> None:
    a = inc.assignments[member_id]
    row = {"reply": a.reply.value, "dispatched_at": a.dispatched_at, "replied_at": a.replied_at}
    key = (ASSIGNMENT.c.incident_id == inc.incident_id) & (ASSIGNMENT.c.member_id == member_id)
    if conn.execute(update(ASSIGNMENT).where(key).values(**row)).rowcount == 0:
        conn.execute(
            insert(ASSIGNMENT), {"incident_id": inc.incident_id, "member_id": member_id, **row}
        )


def append(tx: Tx, new: NewEvent) -> Event:
    """Log an event about an incident that changes no projected column (an escalation step, a
    delivery, a partner's word), and mark its row changed: `GET /api/incidents?since_seq=`
    finds incidents by `last_seq`, and a console refreshes its panel from that."""
    event = tx.append(new)
    tx.cursor.execute(tx.sql.set_last_seq, {"seq": event.seq, "id": new.incident_id})
    return event


def load(conn: Connection, incident_id: int) -> Incident:
    events = incident_events(conn, incident_id)
    if not events:
        raise NotFound(f"no incident {incident_id}")
    return domain.fold_all(events)


Decide = Callable[[Incident], NewEvent | None]


def _command(tx: Tx, incident_id: int, decide: Decide) -> Incident:
    inc = load(tx.conn, incident_id)
    new = decide(inc)
    if new is None:
        return inc
    event = tx.append(new)
    after = domain.fold(inc, event)
    _project(tx.conn, after, event)
    return after


async def command(ctx: Context, incident_id: int, decide: Decide) -> Incident:
    return await ctx.writer.run(lambda tx: _command(tx, incident_id, decide))


async def acknowledge(ctx: Context, incident_id: int, by: str) -> Incident:
    return await command(ctx, incident_id, lambda inc: domain.acknowledge(inc, by))


async def dispatch(ctx: Context, incident_id: int, member_ids: list[int], by: str) -> Incident:
    unknown = [m for m in member_ids if m not in ctx.roster]
    if unknown:
        raise NotFound(f"no member {', '.join(map(str, unknown))}")
    return await command(ctx, incident_id, lambda inc: domain.dispatch(inc, member_ids, by))


async def reply(ctx: Context, incident_id: int, member_id: int, accept: bool) -> Incident:
    by = f"member:{member_id}"
    return await command(ctx, incident_id, lambda inc: domain.reply(inc, member_id, accept, by))


async def responder_status(
    ctx: Context, incident_id: int, member_id: int, status: ResponderStatus
) -> Incident:
    return await command(
        ctx, incident_id, lambda inc: domain.responder_status(inc, member_id, status)
    )


def _own_alarm(tx: Tx, alert_id: str, member_id: int) -> int:
    """The incident of this member's alarm `alert_id`; another member's is as good as none."""
    found = tx.cursor.execute(tx.sql.find_alert, {"alert_id": alert_id}).fetchone()
    if found is None or found[1] != member_id:
        raise NotFound(f"no alarm {alert_id} of yours")
    return int(found[0])


async def change_category(ctx: Context, alert_id: str, member_id: int, category: str) -> Incident:
    """The reporter's category after the press, on the incident their alarm opened."""
    by = f"member:{member_id}"

    def job(tx: Tx) -> Incident:
        incident_id = _own_alarm(tx, alert_id, member_id)
        return _command(tx, incident_id, lambda inc: domain.change_category(inc, category, by))

    return await ctx.writer.run(job)


async def add_note(ctx: Context, incident_id: int, text: str, by: str) -> Incident:
    return await command(ctx, incident_id, lambda inc: domain.add_note(inc, text, by))


async def resolve(
    ctx: Context, incident_id: int, disposition: Disposition, note: str | None, by: str
) -> Incident:
    return await command(ctx, incident_id, lambda inc: domain.resolve(inc, disposition, note, by))


# --- reads ---------------------------------------------------------------------------


def detail(conn: Connection, incident_id: int) -> tuple[Incident, dict[str, Any]]:
    """The incident, and its view: state, place, grid, reporter, ranked responders and the
    full timeline, with the names of everyone in it."""
    events = incident_events(conn, incident_id)
    if not events:
        raise NotFound(f"no incident {incident_id}")
    inc = domain.fold_all(events)
    return inc, incident_view(inc, names.load(conn), events)


@dataclass(frozen=True)
class Filters:
    since: float | None = None
    until: float | None = None
    since_seq: int | None = None
    grid_id: str | None = None
    status: str | None = None
    category: str | None = None
    disposition: str | None = None
    unresolved: bool = False
    limit: int = 200


def listing(conn: Connection, f: Filters) -> dict[str, Any]:
    """Incidents matching the filters, newest first, each folded from its own events."""
    q = select(INCIDENT.c.id).order_by(INCIDENT.c.id.desc()).limit(f.limit)
    if f.since is not None:
        q = q.where(INCIDENT.c.opened_at >= f.since)
    if f.until is not None:
        q = q.where(INCIDENT.c.opened_at < f.until)
    if f.since_seq is not None:
        q = q.where(INCIDENT.c.last_seq > f.since_seq)
    if f.unresolved:
        q = q.where(INCIDENT.c.status != Status.RESOLVED.value)
    for column, value in (
        (INCIDENT.c.grid_id, f.grid_id),
        (INCIDENT.c.status, f.status),
        (INCIDENT.c.category, f.category),
        (INCIDENT.c.disposition, f.disposition),
    ):
        if value is not None:
            q = q.where(column == value)
    head = last_seq(conn)
    ids = list(conn.execute(q).scalars())
    who = names.load(conn)
    return {"last_seq": head, "incidents": [incident_view(load(conn, i), who) for i in ids]}


def view(conn: Connection, inc: Incident) -> dict[str, Any]:
    """A command's answer: the incident as it now is, with names."""
    return incident_view(inc, names.load(conn))
