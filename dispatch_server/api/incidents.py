"""The incident log (read) and the duty volunteer's commands (each one event)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from dispatch_server.deps import CtxDep, Dispatcher
from dispatch_server.domain.incidents import Disposition, Incident, Status
from dispatch_server.protocol.frames import Category
from dispatch_server.services import escalation, incidents
from dispatch_server.services.views import incident_view

router = APIRouter(prefix="/api/incidents", tags=["incidents"])


def escalation_state(ctx: CtxDep, inc: Incident) -> dict[str, Any]:
    """The incident's escalation clock and who it went to, for the console."""
    return {
        **escalation.clock(ctx, inc),
        "escalated_to": sorted(inc.escalated_to),
        "partner_acks": sorted(inc.partner_acks),
        "unattended": inc.unattended,
    }


Text = Annotated[str, Field(min_length=1, max_length=2000)]


class DispatchBody(BaseModel):
    member_ids: list[int] = Field(min_length=1, max_length=50)


class NoteBody(BaseModel):
    text: Text


class ResolveBody(BaseModel):
    disposition: Disposition
    note: Text | None = None


@router.get("")
async def list_incidents(
    ctx: CtxDep,
    _: Dispatcher,
    since: Annotated[datetime | None, Query(description="opened at or after (ISO 8601)")] = None,
    until: Annotated[datetime | None, Query(description="opened before (ISO 8601)")] = None,
    since_seq: Annotated[int | None, Query(ge=0, description="changed after this seq")] = None,
    grid_id: str | None = None,
    status_: Annotated[Status | None, Query(alias="status")] = None,
    category: Category | None = None,
    disposition: Disposition | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict[str, Any]:
    """Newest first, with `last_seq`: open the console socket with `since` = that to go live."""
    filters = incidents.Filters(
        since=since.timestamp() if since else None,
        until=until.timestamp() if until else None,
        since_seq=since_seq,
        grid_id=grid_id,
        status=status_.value if status_ else None,
        category=category.value if category else None,
        disposition=disposition.value if disposition else None,
        limit=limit,
    )
    return await ctx.read(incidents.listing, filters)


@router.get("/{incident_id}")
async def get_incident(incident_id: int, ctx: CtxDep, _: Dispatcher) -> dict[str, Any]:
    inc, view = await ctx.read(incidents.detail, incident_id)
    return {**view, **escalation_state(ctx, inc)}


# Each command answers with the incident as it now is. NotFound and Conflict become 404 and
# 409 in app.py.


@router.post("/{incident_id}/acknowledge")
async def acknowledge(incident_id: int, ctx: CtxDep, who: Dispatcher) -> dict[str, Any]:
    return incident_view(await incidents.acknowledge(ctx, incident_id, who.actor))


@router.post("/{incident_id}/dispatch")
async def dispatch(
    incident_id: int, body: DispatchBody, ctx: CtxDep, who: Dispatcher
) -> dict[str, Any]:
    return incident_view(await incidents.dispatch(ctx, incident_id, body.member_ids, who.actor))


@router.post("/{incident_id}/notes")
async def add_note(
    incident_id: int, body: NoteBody, ctx: CtxDep, who: Dispatcher
) -> dict[str, Any]:
    return incident_view(await incidents.add_note(ctx, incident_id, body.text, who.actor))


@router.post("/{incident_id}/resolve")
async def resolve(
    incident_id: int, body: ResolveBody, ctx: CtxDep, who: Dispatcher
) -> dict[str, Any]:
    inc = await incidents.resolve(ctx, incident_id, body.disposition, body.note, who.actor)
    return incident_view(inc)
