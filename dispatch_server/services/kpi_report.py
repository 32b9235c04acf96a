"""The monthly KPI report (decision 49): the month's alarms read once, scored by grid, by
shift and by duty volunteer, and drawn as a PDF by reports/monthly.py in a worker thread."""

from __future__ import annotations

import asyncio
from datetime import tzinfo

from sqlalchemy import Connection

from dispatch_server.domain import kpis
from dispatch_server.domain.kpis import By, Report
from dispatch_server.reports.fonts import cjk_font
from dispatch_server.reports.monthly import GridName, MonthData, render
from dispatch_server.reports.words import Lang
from dispatch_server.services import names
from dispatch_server.services.context import Context
from dispatch_server.services.kpis import events, shift_times, targets, zone
from dispatch_server.settings import Settings

BYS = (By.GRID, By.SHIFT, By.DISPATCHER)


def month_data(
    conn: Connection,
    settings: Settings,
    month: str,
    grids: dict[str, GridName],
    now: float,
) -> MonthData:
    """`month`: `YYYY-MM`, a month of the community's zone."""
    tz = zone(settings)
    year, number = (int(part) for part in month.split("-"))
    since, until = kpis.month_bounds(year, number, tz)
    ms = kpis.milestones(events(conn, since, until))
    aim, shifts = targets(settings), shift_times(settings)
    scored = {by: _scored(ms, by, aim, shifts, tz) for by in BYS}
    who = names.load(conn)
    keys = [m.acknowledged_by for m in ms if m.acknowledged_by]
    return MonthData(
        month=month,
        since=since,
        until=until,
        made_at=now,
        tz=tz,
        zone_name=settings.timezone,
        targets=aim,
        by_grid=scored[By.GRID],
        by_shift=scored[By.SHIFT],
        by_dispatcher=scored[By.DISPATCHER],
        grids=grids,
        people=who.table(keys),
    )


def _scored(
    ms: list[kpis.Milestones],
    by: By,
    aim: kpis.Targets,
    shifts: kpis.ShiftTimes,
    tz: tzinfo | None,
) -> Report:
    key = kpis.key_for(by, shifts, tz)
    return Report(
        real=kpis.scores([m for m in ms if not m.drill], key, aim),
        drills=kpis.scores([m for m in ms if m.drill], key, aim),
    )


async def monthly_pdf(ctx: Context, month: str, lang: Lang) -> bytes:
    """Read on a pooled reader connection, then drawn off the event loop: a month's tables
    and chart take a few hundred milliseconds of CPU that alarms must not wait behind."""
    grids = {g.grid_id: GridName(g.name_zh, g.name_en) for g in ctx.grids.grids.values()}
    data = await ctx.read(month_data, ctx.settings, month, grids, ctx.clock())
    return await asyncio.to_thread(_draw, data, lang)


def _draw(data: MonthData, lang: Lang) -> bytes:
    return render(data, lang, cjk_font())
