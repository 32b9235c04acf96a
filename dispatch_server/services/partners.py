"""What a security partner may see and do: only incidents escalated to it, and of those
only where and what, never who is where (DESIGN.md). Of names, only partners': its own and the
other partners' on the same incident, never a duty volunteer's or a member's (decision 33)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from dispatch_server.clock import iso
from dispatch_server.domain import incidents as incident_domain
from dispatch_server.domain.errors import Conflict
from dispatch_server.domain.events import Event, EventType
from dispatch_server.domain.incidents import Incident
from dispatch_server.services.incidents import append, load
from dispatch_server.services.names import Names, partner_key
from dispatch_server.services.views import event_view, media_view
from dispatch_server.store.log import Tx
from dispatch_server.store.tables import INCIDENT, INCIDENT_PARTNER, PARTNER

PARTNER_EVENTS = frozenset(
    {
        EventType.INCIDENT_ESCALATED,
        EventType.INCIDENT_ACKNOWLEDGED,
        EventType.NOTE_ADDED,
        EventType.PARTNER_ACKNOWLEDGED,
        EventType.PARTNER_UPDATE,
        EventType.INCIDENT_RESOLVED,
        EventType.MEDIA_ATTACHED,
        # What the alarm is about, as its reporter said after the press (no one's name).
        EventType.CATEGORY_CHANGED,
    }
)


def partner_view(inc: Incident, partner_id: int, names: Names) -> dict[str, Any]:
    """The incident as partner `partner_id` sees it: where and what, not who is where; which
    partners it reached and who of them acknowledged or wrote, by name. `acknowledged` is
    the duty centre's; `acknowledged_by_you` is this partner's own."""
    partners = names.partners_only()
    keys = {partner_key(p) for p in inc.escalated_to | inc.partner_acks}
    keys |= {n["by"] for n in inc.notes}
    return {
        "incident_id": inc.incident_id,
        "status": inc.status.value,
        "grid_id": inc.grid_id,
        "lon": inc.lon,
        "lat": inc.lat,
        "category": inc.category,
        "source": inc.source.value,
        "note": inc.note,
        "opened_at": iso(inc.opened_at),
        "acknowledged": inc.acknowledged_at is not None,
        "acknowledged_by_you": partner_id in inc.partner_acks,
        "responders_coming": sum(
            a.reply is incident_domain.Reply.ACCEPTED for a in inc.assignments.values()
        ),
        "resolved_at": iso(inc.resolved_at) if inc.resolved_at else None,
        "disposition": inc.disposition.value if inc.disposition else None,
        "closing_note": inc.closing_note,
        # A note's `by_name` is a partner's name, or null: the centre's notes are the centre's.
        "notes": [{**n, "at": iso(n["at"]), "by_name": partners.of(n["by"])} for n in inc.notes],
        "escalated_to": sorted(inc.escalated_to),
        "partner_acks": sorted(inc.partner_acks),
        # The photos and clips, but not which member took them.
        "media": [_without_member(media_view(m)) for m in inc.media],
        # A partner gets drills only if it opted in, and always knows them (decision 50).
        "drill": inc.drill,
        "duress": inc.duress,
        "names": partners.table(keys),
    }


def _without_member(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k != "member_id"}


def partner_frame(event: Event, names: Names) -> dict[str, Any]:
    """An event as a partner's feed carries it: no actor, no member; a partner named beside
    its id."""
    frame = event_view(event)
    frame.pop("actor", None)
    frame = for_partner(frame)
    if event.type is EventType.MEDIA_ATTACHED:
        frame.pop("member_id", None)
    if "partner_id" in frame:
        frame["partner_name"] = names.partners.get(frame["partner_id"])
    return frame


def for_partner(frame: dict[str, Any]) -> dict[str, Any]:
    """Not which other partners a drill skipped, nor what the console was not shown."""
    return {k: v for k, v in frame.items() if k not in ("drill_skipped", "drill_hidden")}


def visible_incidents(conn: Connection, partner_id: int) -> set[int]:
    q = select(INCIDENT_PARTNER.c.incident_id).where(INCIDENT_PARTNER.c.partner_id == partner_id)
    return set(conn.execute(q).scalars())


def partner_grid_ids(conn: Connection, partner_id: int) -> set[str]:
    """The grids a partner's map may show: those it covers, and the grid of every incident
    escalated to it (a grid it covered once, or one an administrator's rule sent it)."""
    covered = conn.execute(select(PARTNER.c.grids).where(PARTNER.c.id == partner_id)).scalar()
    escalated = conn.execute(
        select(INCIDENT.c.grid_id)
        .join(INCIDENT_PARTNER, INCIDENT_PARTNER.c.incident_id == INCIDENT.c.id)
        .where(INCIDENT_PARTNER.c.partner_id == partner_id)
        .distinct()
    ).scalars()
    return set(covered or ()) | set(escalated)


def check_visible(conn: Connection, partner_id: int, incident_id: int) -> Incident:
    if incident_id not in visible_incidents(conn, partner_id):
        raise PermissionError(f"incident {incident_id} was not escalated to you")
    return load(conn, incident_id)


def partner_acknowledge(tx: Tx, partner_id: int, incident_id: int) -> Incident:
    inc = check_visible(tx.conn, partner_id, incident_id)
    new = incident_domain.partner_acknowledge(inc, partner_id, f"partner:{partner_id}")
    if new is None:
        return inc
    return incident_domain.fold(inc, append(tx, new))


def partner_update(tx: Tx, partner_id: int, incident_id: int, text: str) -> Incident:
    inc = check_visible(tx.conn, partner_id, incident_id)
    try:
        new = incident_domain.partner_update(inc, partner_id, text, f"partner:{partner_id}")
    except Conflict as exc:
        raise PermissionError(str(exc)) from None
    return incident_domain.fold(inc, append(tx, new))
