"""The incident log as a spreadsheet: one flat row per incident, a name beside every id."""

from __future__ import annotations

import csv
import io
from typing import Any

from dispatch_server.geo.index import GridIndex
from dispatch_server.services.names import partner_key

# Several ids in one cell are space-separated; their names, which may hold spaces, are not.
NAMES_SEP = "; "


def _names(view: dict[str, Any], keys: list[str]) -> str:
    return NAMES_SEP.join(view["names"].get(k, "") for k in keys)


def _notes(view: dict[str, Any]) -> str:
    """Each note signed by its author (a duty volunteer, a partner): `name: text`."""
    return " | ".join(f"{n['by_name'] or n['by']}: {n['text']}" for n in view["notes"])


def incident_row(view: dict[str, Any], grids: GridIndex) -> dict[str, Any]:
    """One incident view (services/views.py) as a flat row for a spreadsheet: names beside
    ids, so the file reads on its own."""
    grid = grids.grids.get(view["grid_id"])
    called = view["assignments"]
    accepted = [a for a in called if a["reply"] == "accepted"]
    reached = view["escalated_to"]
    acked = view["partner_acks"]
    return {
        "incident_id": view["incident_id"],
        "opened_at": view["opened_at"],
        "grid_id": view["grid_id"],
        "grid_name_zh": grid.name_zh if grid else "",
        "grid_name_en": grid.name_en if grid else "",
        "category": view["category"],
        "source": view["source"],
        "roll_call_id": view["roll_call_id"] or "",
        "status": view["status"],
        "disposition": view["disposition"] or "",
        "reporter_id": view["reporter_id"] or "",
        "reporter_name": view["reporter_name"] or "",
        "lon": view["lon"],
        "lat": view["lat"],
        "acknowledged_at": view["acknowledged_at"] or "",
        "acknowledged_by": view["acknowledged_by"] or "",
        "acknowledged_by_name": view["acknowledged_by_name"] or "",
        "resolved_at": view["resolved_at"] or "",
        "resolved_by": view["resolved_by"] or "",
        "resolved_by_name": view["resolved_by_name"] or "",
        "dispatched": " ".join(str(a["member_id"]) for a in called),
        "dispatched_names": NAMES_SEP.join(a["name"] or "" for a in called),
        "accepted": " ".join(str(a["member_id"]) for a in accepted),
        "accepted_names": NAMES_SEP.join(a["name"] or "" for a in accepted),
        "escalated_to": " ".join(map(str, reached)),
        "escalated_to_names": _names(view, [partner_key(p) for p in reached]),
        "partner_acks": " ".join(map(str, acked)),
        "partner_acks_names": _names(view, [partner_key(p) for p in acked]),
        "note": view["note"] or "",
        "notes": _notes(view),
        "closing_note": view["closing_note"] or "",
        # Decision 50: as the console may know it (an unannounced drill, once acknowledged).
        "drill": "drill" if view["drill"] else "",
        "duress": "duress" if view["duress"] else "",
    }


INCIDENT_COLUMNS = [
    "incident_id",
    "opened_at",
    "grid_id",
    "grid_name_zh",
    "grid_name_en",
    "category",
    "source",
    "roll_call_id",
    "status",
    "disposition",
    "reporter_id",
    "reporter_name",
    "lon",
    "lat",
    "acknowledged_at",
    "acknowledged_by",
    "acknowledged_by_name",
    "resolved_at",
    "resolved_by",
    "resolved_by_name",
    "dispatched",
    "dispatched_names",
    "accepted",
    "accepted_names",
    "escalated_to",
    "escalated_to_names",
    "partner_acks",
    "partner_acks_names",
    "note",
    "notes",
    "closing_note",
    "drill",
    "duress",
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
