"""The incident log as a spreadsheet: one flat row per incident, names beside ids."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

from dispatch_server.geo.index import GridIndex


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
