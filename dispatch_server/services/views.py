"""How incidents and events look in the REST API and the console feed (wire frames toward a
handheld are in services/frames.py, the CSV export in services/export.py)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from dispatch_server.clock import iso
from dispatch_server.domain.drills import for_console, hidden
from dispatch_server.domain.events import Event
from dispatch_server.domain.incidents import Incident
from dispatch_server.services.names import Names, member_key, partner_key


def event_view(event: Event) -> dict[str, Any]:
    """DESIGN.md: every event as `{type, seq, incident_id?, ...}`."""
    frame: dict[str, Any] = {"type": event.type.value, "seq": event.seq, "at": iso(event.at)}
    if event.incident_id is not None:
        frame["incident_id"] = event.incident_id
    frame["actor"] = event.actor
    frame.update(event.data)
    return frame


def media_view(item: dict[str, Any]) -> dict[str, Any]:
    """One photo or clip as an incident view lists it (the fold's entry, `at` as ISO 8601,
    and where to fetch its bytes)."""
    return {**item, "at": iso(item["at"]), "url": f"/api/media/{item['media_id']}"}


def drill_marks(inc: Incident) -> dict[str, Any]:
    """`drill` (and which, and whether announced) as a console may know it: an unannounced
    drill shows as a real alarm until acknowledged (decision 50); `duress` always."""
    shown = inc.drill and not hidden(inc)
    return {
        "drill": shown,
        "drill_id": inc.drill_id if shown else None,
        "drill_announced": inc.drill_announced if shown else None,
        "duress": inc.duress,
    }


def _time(ts: float | None) -> str | None:
    return None if ts is None else iso(ts)


def mentioned(inc: Incident) -> set[str]:
    """Everyone the incident's state names: the reporter, responders ranked and called,
    who acknowledged, resolved and wrote notes, the partners reached and acknowledging."""
    keys = {member_key(inc.reporter_id)}
    keys |= {member_key(r["member_id"]) for r in inc.responders}
    keys |= {member_key(m) for m in inc.assignments}
    keys |= {k for k in (inc.acknowledged_by, inc.resolved_by) if k}
    keys |= {n["by"] for n in inc.notes}
    keys |= {partner_key(p) for p in inc.escalated_to | inc.partner_acks}
    keys |= {member_key(m["member_id"]) for m in inc.media}
    return keys


def event_mentions(event: Event) -> set[str]:
    """Everyone one event names: its actor and the members and partners in its data."""
    d = event.data
    keys = {event.actor}
    keys |= {member_key(m) for m in [d.get("member_id"), *d.get("member_ids", ())] if m}
    keys |= {partner_key(p) for p in [d.get("partner_id"), *d.get("partner_ids", ())] if p}
    return keys


def incident_view(
    inc: Incident, names: Names, timeline: Iterable[Event] | None = None
) -> dict[str, Any]:
    """The incident, with a name beside each id (`*_name`, and `names`: actor key -> name for
    everyone it mentions, its timeline's too when given: what the console's timeline reads)."""
    keys = mentioned(inc)
    view: dict[str, Any] = {
        "incident_id": inc.incident_id,
        "alert_id": inc.alert_id,
        "status": inc.status.value,
        "source": inc.source.value,
        "roll_call_id": inc.roll_call_id,
        "grid_id": inc.grid_id,
        "lon": inc.lon,
        "lat": inc.lat,
        "inside_grid": inc.inside_grid,
        "point_source": inc.point_source,
        "category": inc.category,
        "reporter_id": inc.reporter_id,
        "reporter_name": names.of(member_key(inc.reporter_id)),
        "note": inc.note,
        "opened_at": iso(inc.opened_at),
        # When the key was pressed (the handheld's time, clamped); null: it did not say.
        "pressed_at": _time(inc.pressed_at),
        "acknowledged_at": _time(inc.acknowledged_at),
        "acknowledged_by": inc.acknowledged_by,
        "acknowledged_by_name": names.of(inc.acknowledged_by),
        "resolved_at": _time(inc.resolved_at),
        "resolved_by": inc.resolved_by,
        "resolved_by_name": names.of(inc.resolved_by),
        "disposition": inc.disposition.value if inc.disposition else None,
        "closing_note": inc.closing_note,
        "responders": list(inc.responders),
        "assignments": [
            {
                "member_id": a.member_id,
                "name": names.of(member_key(a.member_id)),
                "reply": a.reply.value,
                "dispatched_at": iso(a.dispatched_at),
                "replied_at": _time(a.replied_at),
                # The responder's own word from the scene (`responder_status`).
                "arrived_at": _time(a.arrived_at),
                "done_at": _time(a.done_at),
            }
            for a in inc.assignments.values()
        ],
        "notes": [{**n, "at": iso(n["at"]), "by_name": names.of(n["by"])} for n in inc.notes],
        "escalated_to": sorted(inc.escalated_to),
        "partner_acks": sorted(inc.partner_acks),
        # Escalation steps that reached nobody: `{rule_id, trigger, to, problem, seq, at}`.
        "escalation_problems": [{**p, "at": iso(p["at"])} for p in inc.escalation_problems],
        "unattended": inc.unattended,
        # Photos and clips whose upload completed; `expired`: its bytes were deleted.
        "media": [media_view(m) for m in inc.media],
        **drill_marks(inc),
        "last_seq": inc.last_seq,
    }
    if timeline is not None:
        events = list(timeline)
        revealed = not hidden(inc)
        view["timeline"] = [for_console(event_view(e), revealed) for e in events]
        for e in events:
            keys |= event_mentions(e)
    view["names"] = names.table(keys)
    return view
