"""Drills (decision 50): schedule one for a member or a grid, list them; and whether a
security partner accepts drills."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel, Field, model_validator

from dispatch_server.api.checked import CheckedRoute
from dispatch_server.clock import epoch_seconds
from dispatch_server.deps import Admin, CtxDep, Dispatcher
from dispatch_server.protocol.frames import Id
from dispatch_server.services import drills, edits

router = APIRouter(prefix="/api", tags=["drills"], route_class=CheckedRoute)
# How far ahead a drill may be scheduled.
AHEAD_S = 366 * 86400.0


class NewDrill(BaseModel):
    member_id: Id | None = Field(default=None, description="this member's handheld")
    grid_id: str | None = Field(
        default=None, description="a member on shift and free in this grid, picked at `at`"
    )
    at: datetime | None = Field(default=None, description="when (ISO 8601); default now")
    announced: bool = Field(description="false: the console sees a real alarm until acknowledged")

    @model_validator(mode="after")
    def _one_target(self) -> NewDrill:
        if (self.member_id is None) == (self.grid_id is None):
            raise ValueError("give member_id or grid_id, not both")
        return self


class DrillsAccepted(BaseModel):
    accepts: bool


def _when(ctx: CtxDep, at: datetime | None) -> float | None:
    if at is None:
        return None
    when = epoch_seconds(at)
    now = ctx.clock()
    if not now - AHEAD_S <= when <= now + AHEAD_S:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "`at` must be within a year of now"
        )
    return when


@router.post("/drills", status_code=status.HTTP_201_CREATED)
async def schedule(body: NewDrill, ctx: CtxDep, who: Dispatcher) -> dict[str, Any]:
    """At `at` (a past time: now) the member's handheld is asked to press the red key; the
    alarm that answers it is a drill everywhere."""
    if body.grid_id is not None and body.grid_id not in ctx.grids.grids:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"unknown grid {body.grid_id}")
    at = _when(ctx, body.at)
    drill = await drills.schedule(ctx, body.member_id, body.grid_id, at, body.announced, who.actor)
    return drills.view(drill)


@router.get("/drills")
async def listing(
    ctx: CtxDep, _: Dispatcher, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> list[dict[str, Any]]:
    """The newest first."""
    return await ctx.read(drills.listing, limit)


@router.put("/partners/{partner_id}/drills")
async def accepts_drills(
    partner_id: Id, body: DrillsAccepted, ctx: CtxDep, who: Admin
) -> dict[str, Any]:
    """Whether drills are escalated to this partner (not unless it opted in); the same
    change as `PATCH /api/partners/{id}` with `accepts_drills`, logged as `partner_updated`."""
    await edits.update_partner(ctx, partner_id, {"accepts_drills": body.accepts}, who.actor)
    return {"partner_id": partner_id, "accepts_drills": body.accepts}
