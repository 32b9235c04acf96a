"""How incidents and events look in the REST API and the console feed (wire frames toward a
handheld are in services/frames.py, the CSV export in services/export.py)."""

from __future__ import annotations

from typing import Any

from dispatch_server.clock import iso
from dispatch_server.domain.events import Event
from dispatch_server.domain.incidents import Incident


def event_view(event: Event) -> dict[str, Any]:
    """DESIGN.md: every event as `{type, seq, incident_id?, ...}`."""
    frame: dict[str, Any] = {"type": event.type.value, "seq": event.seq, "at": iso(event.at)}
    if event.incident_id is not None:
        frame["incident_id"] = event.incident_id
    frame["actor"] = event.actor
    frame.update(event.data)
    return frame


def _time(ts: float | None) -> str | None:
    return None if ts is None else iso(ts)


def incident_view(inc: Incident) -> dict[str, Any]:
    return {
        "incident_id": inc.incident_id,
        "alert_id": inc.alert_id,
        "status": inc.status.value,
        "grid_id": inc.grid_id,
        "lon": inc.lon,
        "lat": inc.lat,
        "inside_grid": inc.inside_grid,
        "point_source": inc.point_source,
        "category": inc.category,
        "reporter_id": inc.reporter_id,
        "note": inc.note,
        "opened_at": iso(inc.opened_at),
        # When the key was pressed (the handheld's time, clamped); null: it did not say.
        "pressed_at": _time(inc.pressed_at),
        "acknowledged_at": _time(inc.acknowledged_at),
        "acknowledged_by": inc.acknowledged_by,
        "resolved_at": _time(inc.resolved_at),
        "resolved_by": inc.resolved_by,
        "disposition": inc.disposition.value if inc.disposition else None,
        "responders": list(inc.responders),
        "assignments": [
            {
                "member_id": a.member_id,
                "reply": a.reply.value,
                "dispatched_at": iso(a.dispatched_at),
                "replied_at": _time(a.replied_at),
            }
            for a in inc.assignments.values()
        ],
        "notes": [{**n, "at": iso(n["at"])} for n in inc.notes],
        "escalated_to": sorted(inc.escalated_to),
        # Escalation steps that reached nobody: `{rule_id, trigger, to, problem, seq, at}`.
        "escalation_problems": [{**p, "at": iso(p["at"])} for p in inc.escalation_problems],
        "unattended": inc.unattended,
        "last_seq": inc.last_seq,
    }
