"""The incident log (read) and the duty volunteer's commands (each one event)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field

from dispatch_server.api.checked import CheckedRoute
from dispatch_server.clock import epoch_seconds, iso
from dispatch_server.deps import CtxDep, Dispatcher
from dispatch_server.domain.incidents import Disposition, Incident, Status
from dispatch_server.protocol.frames import Category, Id, Seq
from dispatch_server.services import escalation, incidents
from dispatch_server.services.export import INCIDENT_COLUMNS, csv_text, incident_row
from dispatch_server.services.suggestions import suggest

router = APIRouter(prefix="/api/incidents", tags=["incidents"], route_class=CheckedRoute)

# An export is read whole into memory: a year of a busy community is a few thousand incidents.
EXPORT_MAX = 20_000


def escalation_state(ctx: CtxDep, inc: Incident) -> dict[str, Any]:
    """The incident's escalation clock, for the console (`escalated_to`, `partner_acks` and
    `unattended` are in every incident view)."""
    return escalation.clock(ctx, inc)


Text = Annotated[str, Field(min_length=1, max_length=2000)]


class DispatchBody(BaseModel):
    member_ids: list[Id] = Field(min_length=1, max_length=50)


class NoteBody(BaseModel):
    text: Text


class ResolveBody(BaseModel):
    disposition: Disposition
    note: Text | None = None


def log_filters(
    since: Annotated[
        datetime | None,
        Query(description="opened at or after (ISO 8601; UTC unless an offset is given)"),
    ] = None,
    until: Annotated[
        datetime | None,
        Query(description="opened before (ISO 8601; UTC unless an offset is given)"),
    ] = None,
    since_seq: Annotated[Seq | None, Query(description="changed after this seq")] = None,
    grid_id: str | None = None,
    status_: Annotated[Status | None, Query(alias="status")] = None,
    category: Category | None = None,
    disposition: Disposition | None = None,
    unresolved: Annotated[bool, Query(description="only incidents not yet resolved")] = False,
) -> incidents.Filters:
    """The incident log's search, shared by the listing and the export."""
    return incidents.Filters(
        since=epoch_seconds(since) if since else None,
        until=epoch_seconds(until) if until else None,
        since_seq=since_seq,
        grid_id=grid_id,
        status=status_.value if status_ else None,
        category=category.value if category else None,
        disposition=disposition.value if disposition else None,
        unresolved=unresolved,
    )


LogFilters = Annotated[incidents.Filters, Depends(log_filters)]


@router.get("")
async def list_incidents(
    ctx: CtxDep,
    _: Dispatcher,
    filters: LogFilters,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict[str, Any]:
    """Newest first, with `last_seq`: open the console socket with `since` = that to go live."""
    return await ctx.read(incidents.listing, replace(filters, limit=limit))


class ExportFormat(StrEnum):
    CSV = "csv"
    JSON = "json"


@router.get("/export", response_class=Response)
async def export_incidents(
    ctx: CtxDep,
    _: Dispatcher,
    filters: LogFilters,
    format_: Annotated[ExportFormat, Query(alias="format")] = ExportFormat.CSV,
    limit: Annotated[int, Query(ge=1, le=EXPORT_MAX)] = EXPORT_MAX,
) -> Response:
    """The log search as a file: CSV (one row per incident, for a spreadsheet) or JSON (the
    full incident views)."""
    found = await ctx.read(incidents.listing, replace(filters, limit=limit))
    stamp = iso(ctx.clock()).replace(":", "").replace("-", "")[:15]
    name = f"incidents-{stamp}.{format_.value}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if format_ is ExportFormat.JSON:
        body = json.dumps(found, ensure_ascii=False, indent=1)
        return Response(body, media_type="application/json", headers=headers)
    rows = [incident_row(view, ctx.grids) for view in found["incidents"]]
    return Response(
        csv_text(rows, INCIDENT_COLUMNS), media_type="text/csv; charset=utf-8", headers=headers
    )


@router.get("/{incident_id}")
async def get_incident(incident_id: Id, ctx: CtxDep, _: Dispatcher) -> dict[str, Any]:
    inc, view = await ctx.read(incidents.detail, incident_id)
    # Ranked now, from live state (`responders` stays the record of the alarm's ranking).
    suggested = suggest(ctx, inc) if inc.status is not Status.RESOLVED else []
    return {**view, **escalation_state(ctx, inc), "suggested": suggested}


# Each command answers with the incident as it now is. NotFound and Conflict become 404 and
# 409 in app.py.


async def _answer(ctx: CtxDep, inc: Incident) -> dict[str, Any]:
    return await ctx.read(incidents.view, inc)


@router.post("/{incident_id}/acknowledge")
async def acknowledge(incident_id: Id, ctx: CtxDep, who: Dispatcher) -> dict[str, Any]:
    return await _answer(ctx, await incidents.acknowledge(ctx, incident_id, who.actor))


@router.post("/{incident_id}/dispatch")
async def dispatch(
    incident_id: Id, body: DispatchBody, ctx: CtxDep, who: Dispatcher
) -> dict[str, Any]:
    inc = await incidents.dispatch(ctx, incident_id, body.member_ids, who.actor)
    return await _answer(ctx, inc)


@router.post("/{incident_id}/notes")
async def add_note(incident_id: Id, body: NoteBody, ctx: CtxDep, who: Dispatcher) -> dict[str, Any]:
    return await _answer(ctx, await incidents.add_note(ctx, incident_id, body.text, who.actor))


@router.post("/{incident_id}/resolve")
async def resolve(
    incident_id: Id, body: ResolveBody, ctx: CtxDep, who: Dispatcher
) -> dict[str, Any]:
    inc = await incidents.resolve(ctx, incident_id, body.disposition, body.note, who.actor)
    return await _answer(ctx, inc)
