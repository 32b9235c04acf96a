"""Response KPIs for the volunteer coordinator and the duty room (decision 47)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from fastapi.exceptions import RequestValidationError

from dispatch_server.api.checked import CheckedRoute
from dispatch_server.clock import epoch_seconds
from dispatch_server.deps import CtxDep, Dispatcher
from dispatch_server.domain.kpis import By
from dispatch_server.reports.words import Lang
from dispatch_server.services import kpi_report, kpis
from dispatch_server.services.kpis import Period

router = APIRouter(prefix="/api/kpis", tags=["kpis"], route_class=CheckedRoute)

DAY_S = 86400.0
DEFAULT_PERIOD_S = 30 * DAY_S
# A year and a day: a year of a busy community is tens of thousands of incidents, read whole.
MAX_PERIOD_S = 366 * DAY_S
# 1970-01-01 to the end of 9999 (UTC): what the answer can write back as ISO 8601.
EARLIEST, LATEST = 0.0, 253402300799.0
# A month of the report: ASCII digits only (\d would take any script's digits).
MONTH_PATTERN = r"^[0-9]{4}-(0[1-9]|1[0-2])$"
# Months whose local bounds stay inside what the calendar and the epoch can hold anywhere.
FIRST_YEAR, LAST_YEAR = 1971, 9998
PDF = {200: {"content": {"application/pdf": {}}, "description": "the report, A4"}}


def _refused(name: str, msg: str) -> RequestValidationError:
    """In FastAPI's own shape, so a client reads every 422 alike."""
    return RequestValidationError(
        [{"type": "value_error", "loc": ("query", name), "msg": msg, "input": None}]
    )


def _seconds(name: str, when: datetime | None) -> float | None:
    if when is None:
        return None
    at = epoch_seconds(when)
    if not EARLIEST <= at <= LATEST:
        raise _refused(name, "must be between 1970-01-01 and 9999-12-31 (UTC)")
    return at


def period(
    now: float,
    by: By,
    since: datetime | None,
    until: datetime | None,
) -> Period:
    """`until` defaults to now, `since` to 30 days before `until`; `since` must come before
    `until`, at most 366 days before."""
    end = _seconds("until", until)
    end = now if end is None else end
    start = _seconds("since", since)
    start = max(EARLIEST, end - DEFAULT_PERIOD_S) if start is None else start
    if start >= end:
        raise _refused("since", "must be before until")
    if end - start > MAX_PERIOD_S:
        raise _refused("since", "the period may be at most 366 days")
    return Period(start, end, by)


@router.get("")
async def get_kpis(
    ctx: CtxDep,
    _: Dispatcher,
    by: Annotated[
        By, Query(description="grid, shift (window), dispatcher, month, or week (ISO)")
    ] = By.GRID,
    since: Annotated[
        datetime | None,
        Query(description="alarms opened at or after (ISO 8601; UTC unless an offset is given)"),
    ] = None,
    until: Annotated[
        datetime | None,
        Query(description="alarms opened before (ISO 8601; UTC unless an offset is given)"),
    ] = None,
) -> dict[str, Any]:
    """The response KPIs of the alarms opened in the period, in total and per group, real
    alarms and drills apart, with the targets they are held against (docs/protocol.md)."""
    return await kpis.period_kpis(ctx, period(ctx.clock(), by, since, until))


@router.get("/report.pdf", response_class=Response, responses=PDF)  # type: ignore[arg-type]
async def get_report(
    ctx: CtxDep,
    _: Dispatcher,
    month: Annotated[
        str,
        Query(
            pattern=MONTH_PATTERN,
            description="YYYY-MM, a month of the community's time zone (DISPATCH_TIMEZONE)",
        ),
    ],
    lang: Annotated[Lang, Query(description="zh (the default) or en")] = Lang.ZH,
) -> Response:
    """The month's response KPIs as a PDF (decision 49): the headline figures against their
    targets, a chart and a table per grid, tables per shift and per duty volunteer,
    escalations by trigger, dispositions, and the drills apart."""
    if not FIRST_YEAR <= int(month[:4]) <= LAST_YEAR:
        raise _refused("month", f"the year must be between {FIRST_YEAR} and {LAST_YEAR}")
    pdf = await kpi_report.monthly_pdf(ctx, month, lang)
    name = f"kpi-report-{month}-{lang.value}.pdf"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(pdf, media_type="application/pdf", headers=headers)
