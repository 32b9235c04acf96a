"""How incidents and events look on the wire and in the REST API."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

from dispatch_server.clock import iso
from dispatch_server.domain.events import Event
from dispatch_server.domain.incidents import Incident, Reply
from dispatch_server.geo.index import GridIndex
from dispatch_server.protocol.frames import AlertUpdate, AssignmentFrame, Coming


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


def alert_update_frame(inc: Incident, name: Callable[[int], str]) -> AlertUpdate:
    """What the reporter's handheld shows after `alert_accepted`: has the centre seen it,
    who is coming, is it over."""
    coming = [
        Coming(member_id=m, name=name(m))
        for m, a in inc.assignments.items()
        if a.reply is Reply.ACCEPTED
    ]
    return AlertUpdate(
        alert_id=inc.alert_id,
        incident_id=inc.incident_id,
        status=inc.status.value,
        acknowledged=inc.acknowledged_at is not None,
        coming=coming,
        disposition=inc.disposition.value if inc.disposition is not None else None,
    )


def assignment_frame(inc: Incident, member_id: int) -> AssignmentFrame:
    """What a called-in responder's handheld shows: where, what, and how far they are."""
    ranked = next((r for r in inc.responders if r["member_id"] == member_id), None)
    return AssignmentFrame(
        incident_id=inc.incident_id,
        grid_id=inc.grid_id,
        lon=inc.lon,
        lat=inc.lat,
        category=inc.category,
        note=inc.note,
        distance_m=ranked["distance_m"] if ranked else None,
        opened_at=iso(inc.opened_at),
    )


def incident_row(
    view: dict[str, Any], name: Callable[[int], str], grids: GridIndex
) -> dict[str, Any]:
    """One incident as a flat row for a spreadsheet: names beside ids, so the file reads on its
    own."""
    grid = grids.grids.get(view["grid_id"])
    called = view["assignments"]
    return {
        "incident_id": view["incident_id"],
        "opened_at": view["opened_at"],
        "grid_id": view["grid_id"],
        "grid_name_zh": grid.name_zh if grid else "",
        "grid_name_en": grid.name_en if grid else "",
        "category": view["category"],
        "status": view["status"],
        "disposition": view["disposition"] or "",
        "reporter_id": view["reporter_id"] or "",
        "reporter_name": name(view["reporter_id"]) if view["reporter_id"] else "",
        "lon": view["lon"],
        "lat": view["lat"],
        "acknowledged_at": view["acknowledged_at"] or "",
        "acknowledged_by": view["acknowledged_by"] or "",
        "resolved_at": view["resolved_at"] or "",
        "resolved_by": view["resolved_by"] or "",
        "dispatched": " ".join(str(a["member_id"]) for a in called),
        "accepted": " ".join(str(a["member_id"]) for a in called if a["reply"] == "accepted"),
        "note": view["note"] or "",
        "notes": " | ".join(n["text"] for n in view["notes"]),
    }


INCIDENT_COLUMNS = [
    "incident_id",
    "opened_at",
    "grid_id",
    "grid_name_zh",
    "grid_name_en",
    "category",
    "status",
    "disposition",
    "reporter_id",
    "reporter_name",
    "lon",
    "lat",
    "acknowledged_at",
    "acknowledged_by",
    "resolved_at",
    "resolved_by",
    "dispatched",
    "accepted",
    "note",
    "notes",
]


def csv_text(rows: list[dict[str, Any]], columns: list[str]) -> str:
    """CSV with a byte-order mark: without it, Excel on a Chinese Windows reads UTF-8 names as
    mojibake."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.DictWriter(out, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
