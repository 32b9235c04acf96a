"""Response KPIs for a period (decision 47): the events of the incidents opened in it, read
with the reader engine, scored by domain/kpis.py, shaped for `GET /api/kpis`."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import tzinfo
from typing import Any

from sqlalchemy import Connection, select

from dispatch_server.clock import iso
from dispatch_server.domain import duty_room, kpis
from dispatch_server.domain.events import Event, EventType
from dispatch_server.domain.kpis import By, Figures, Measure, Scores, ShiftTimes, Targets
from dispatch_server.domain.shifts import Shift
from dispatch_server.services import names
from dispatch_server.services.context import Context
from dispatch_server.settings import Settings
from dispatch_server.store.tables import EVENT, INCIDENT


@dataclass(frozen=True)
class Period:
    """Incidents opened at or after `since` and before `until` (seconds since the epoch)."""

    since: float
    until: float
    by: By


def targets(settings: Settings) -> Targets:
    return Targets(
        answer_s=settings.kpi_answer_s,
        answer_share=settings.kpi_answer_share,
        process_s=settings.kpi_process_s,
        process_share=settings.kpi_process_share,
    )


def shift_times(settings: Settings) -> ShiftTimes:
    """The shift windows' starts (DISPATCH_SHIFT_MORNING, DISPATCH_SHIFT_EVENING, the same
    windows the coverage watch uses): an alarm is scored to the shift that last started,
    so one between the windows (at night) counts for the evening before."""
    windows = settings.shift_windows()
    return ShiftTimes(windows[Shift.MORNING].start, windows[Shift.EVENING].start)


def zone(settings: Settings) -> tzinfo:
    """The community's time zone (DISPATCH_TIMEZONE)."""
    return settings.zone()


def events(conn: Connection, since: float, until: float) -> list[Event]:
    """The KPI events of the incidents opened in the period, whenever they happened (an
    alarm resolved after `until` is scored whole). Two indexed reads: incidents by
    `opened_at`, their events by (incident_id, seq); notes, media and deliveries are not read.
    """
    opened = select(INCIDENT.c.id).where(
        INCIDENT.c.opened_at >= since, INCIDENT.c.opened_at < until
    )
    columns = (EVENT.c.seq, EVENT.c.type, EVENT.c.at, EVENT.c.actor, EVENT.c.incident_id)
    rows = conn.execute(
        select(*columns, EVENT.c.data)
        .where(EVENT.c.incident_id.in_(opened))
        .where(EVENT.c.type.in_(sorted(t.value for t in kpis.KPI_EVENTS)))
        .order_by(EVENT.c.seq)
    ).all()
    return [Event(r.seq, EventType(r.type), r.at, r.actor, r.incident_id, r.data) for r in rows]


def room_events(conn: Connection, until: float) -> list[Event]:
    """Duty-room crossings and shift starts and ends before `until`, from the beginning: the
    state at the period's start is folded from them (a few events a member a day)."""
    kinds = sorted(t.value for t in duty_room.ROOM_EVENTS)
    columns = (EVENT.c.seq, EVENT.c.type, EVENT.c.at, EVENT.c.actor, EVENT.c.incident_id)
    rows = conn.execute(
        select(*columns, EVENT.c.data)
        .where(EVENT.c.type.in_(kinds), EVENT.c.at < until)
        .order_by(EVENT.c.seq)
    ).all()
    return [Event(r.seq, EventType(r.type), r.at, r.actor, r.incident_id, r.data) for r in rows]


def measure_view(m: Measure) -> dict[str, Any]:
    """Thresholds become JSON keys: `within: {"10": 0.95, "40": 1.0}`."""
    return {**asdict(m), "within": {str(t): share for t, share in m.within.items()}}


def figures_view(f: Figures) -> dict[str, Any]:
    view = asdict(f)
    for name in ("answer", "process", "accept", "arrival"):
        view[name] = measure_view(getattr(f, name))
    return view


def scores_view(s: Scores, by: By, who: names.Names) -> dict[str, Any]:
    """A duty volunteer's group carries their name (null for the administrator and for
    `key: null`, the alarms nobody acknowledged); other groups' `name` is null."""
    return {
        "total": figures_view(s.total),
        "groups": [
            {
                "key": key,
                "name": who.of(key) if by is By.DISPATCHER else None,
                **figures_view(f),
            }
            for key, f in s.groups.items()
        ],
    }


def compute(conn: Connection, settings: Settings, period: Period) -> dict[str, Any]:
    aim = targets(settings)
    found = events(conn, period.since, period.until)
    report = kpis.report(found, period.by, aim, shift_times(settings), zone(settings))
    who = names.load(conn)
    return {
        "since": iso(period.since),
        "until": iso(period.until),
        "by": period.by.value,
        "timezone": settings.timezone,
        "shifts": {"morning": settings.shift_morning, "evening": settings.shift_evening},
        "targets": {**asdict(aim), "arrival_s": list(aim.arrival_s)},
        # No console open anywhere while patrols were on shift (decision 51).
        "unwatched_s": round(
            duty_room.unwatched_s(room_events(conn, period.until), period.since, period.until),
            1,
        ),
        "real": scores_view(report.real, period.by, who),
        "drills": scores_view(report.drills, period.by, who),
    }


async def period_kpis(ctx: Context, period: Period) -> dict[str, Any]:
    """Off the event loop, on a pooled reader connection: a month of a community is a few
    thousand incidents, tens of thousands of events."""
    return await ctx.read(compute, ctx.settings, period)
