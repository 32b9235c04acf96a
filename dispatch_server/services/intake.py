"""Alarm intake: from a validated `alert` frame to a durably committed incident.

Contract: the handheld hears `alert_accepted` only after the incident is
committed; a repeated `alert_id` answers the same incident with duplicate=true.
Ranking runs before the write (tens of microseconds, from live state in
memory) so that the incident's first event records the list the console saw.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from functools import partial
from typing import Any

from dispatch_server.clock import epoch_seconds, iso
from dispatch_server.domain.errors import Conflict
from dispatch_server.domain.events import EventType, NewEvent, actor
from dispatch_server.domain.incidents import Source, Status
from dispatch_server.domain.press import press_time
from dispatch_server.domain.responders import incident_point, rank
from dispatch_server.protocol.frames import AlarmFields, AlertAccepted, Category
from dispatch_server.services import drills
from dispatch_server.services.cluster import consoles_open
from dispatch_server.services.context import Context
from dispatch_server.store.log import Tx


def opening_data(
    ctx: Context,
    reporter_id: int,
    alert: AlarmFields,
    now: float,
    source: Source = Source.ALARM,
    roll_call_id: int | None = None,
) -> dict[str, Any]:
    """Everything the incident_opened event carries: place, grid, what opened it (the alarm
    key, a roll call's `need_help`, an overdue check-in), ranked responders."""
    projection = ctx.grids.projection
    fix = ctx.roster.fix(reporter_id)
    home_grid = ctx.roster.grids[ctx.roster.row[reporter_id]]
    point = incident_point(
        projection.to_xy(alert.lon, alert.lat)
        if alert.lon is not None and alert.lat is not None
        else None,
        (fix.x, fix.y) if fix else None,
        ctx.grids.representative_xy(home_grid),
    )
    where = ctx.grids.locate_xy(point.x, point.y)
    if alert.lon is not None and alert.lat is not None:
        lon, lat = alert.lon, alert.lat
    else:
        lon, lat = projection.to_lonlat(point.x, point.y)
    # Decision 50: a duress alarm is violence, whatever the handheld said.
    category = Category.VIOLENCE if alert.duress else alert.category
    responders = rank(ctx.roster, point, reporter_id, category, now, ctx.policy)
    origin: dict[str, Any] = {"source": source.value}
    if roll_call_id is not None:
        origin["roll_call_id"] = roll_call_id
    return {
        "alert_id": str(alert.alert_id),
        "grid_id": where.grid_id,
        "inside_grid": where.inside,
        "outside_by_m": round(where.distance_m, 1),
        "lon": round(lon, 7),
        "lat": round(lat, 7),
        "accuracy_m": alert.accuracy_m,
        "point_source": point.source,
        "category": category.value,
        "reporter_id": reporter_id,
        "reporter_grid_id": home_grid,
        "note": alert.note,
        **origin,
        "responders": [r.to_wire() for r in responders],
        # DESIGN.md/issue 4: with no duty console connected the alarm goes straight to
        # escalation, and the handheld is told.
        "unattended": consoles_open(ctx) == 0,  # anywhere in the cluster
        **pressed(ctx, reporter_id, alert, now),
        **({"duress": True} if alert.duress else {}),
        # Checked against the drill, and completed, in the write (`open_incident`).
        **({"drill_id": alert.drill_id} if alert.drill_id is not None else {}),
    }


def pressed(ctx: Context, reporter_id: int, alert: AlarmFields, now: float) -> dict[str, Any]:
    """The press time as kept (domain/press.py): `pressed_at` (null when the handheld did not
    say), `pressed_at_clamped` (null, or why it was moved) and, when it was moved, what the
    handheld said (`pressed_at_reported`)."""
    if alert.pressed_at is None:
        return {"pressed_at": None, "pressed_at_clamped": None}
    kept = press_time(epoch_seconds(alert.pressed_at), now, ctx.roster.shift_start(reporter_id))
    out: dict[str, Any] = {
        "pressed_at": iso(kept.at),
        "pressed_at_clamped": kept.clamped.value if kept.clamped else None,
    }
    if kept.clamped:
        out["pressed_at_reported"] = _as_said(alert.pressed_at)
    return out


def _as_said(when: datetime) -> str:
    """The handheld's time with its own offset (converting year 1 or 9999 to UTC could
    overflow); without one, UTC."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _existing(tx: Tx, alert_id: str, reporter_id: int) -> tuple[int, bool] | None:
    found = tx.cursor.execute(tx.sql.find_alert, {"alert_id": alert_id}).fetchone()
    if found is None:
        return None
    incident_id, owner = found
    if owner != reporter_id:
        raise Conflict(f"alert_id {alert_id} belongs to another member's alarm")
    return incident_id, True


def open_incident(tx: Tx, reporter_id: int, data: dict[str, Any]) -> tuple[int, bool]:
    """The write: one incident row and its first event, or the existing incident for a retry."""
    alert_id = data["alert_id"]
    existing = _existing(tx, alert_id, reporter_id)
    if existing is not None:
        return existing
    drill_id = data.get("drill_id")
    if drill_id is not None:
        data = {**data, **drills.answer(tx, drill_id, reporter_id)}
    row = {
        "alert_id": alert_id,
        "reporter_id": reporter_id,
        "grid_id": data["grid_id"],
        "lon": data["lon"],
        "lat": data["lat"],
        "category": data["category"],
        "status": Status.OPEN.value,
        "opened_at": tx.now,
    }
    inserted = tx.cursor.execute(tx.sql.insert_incident, row).fetchone()
    if inserted is None:
        # Another writer committed this alert_id after we looked (instances sharing one
        # PostgreSQL); under READ COMMITTED this second look sees its row.
        existing = _existing(tx, alert_id, reporter_id)
        if existing is None:
            raise RuntimeError(f"alert_id {alert_id} conflicted but cannot be found")
        return existing
    incident_id = inserted[0]
    event = tx.append(
        NewEvent(EventType.INCIDENT_OPENED, actor("member", reporter_id), incident_id, data)
    )
    tx.cursor.execute(tx.sql.set_last_seq, {"seq": event.seq, "id": incident_id})
    if drill_id is not None:
        drills.answered(tx, drill_id, incident_id)
    return incident_id, False


async def raise_alarm(
    ctx: Context, reporter_id: int, alert: AlarmFields, received: float | None = None
) -> AlertAccepted:
    """`received`: `time.perf_counter()` when the alarm's frame came in (now, if not given),
    for the latency metric."""
    received = time.perf_counter() if received is None else received
    data = opening_data(ctx, reporter_id, alert, ctx.clock())
    incident_id, duplicate = await ctx.writer.run(
        partial(open_incident, reporter_id=reporter_id, data=data)
    )
    ctx.metrics.alarm(duplicate, data["unattended"], received)
    return AlertAccepted(
        alert_id=data["alert_id"],
        incident_id=incident_id,
        duplicate=duplicate,
        unattended=data["unattended"] and not duplicate,
    )
