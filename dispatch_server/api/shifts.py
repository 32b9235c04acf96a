"""The shift roster: planned by the administrator, read by the console."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field

from dispatch_server.api.checked import CheckedRoute
from dispatch_server.deps import Admin, CtxDep, Dispatcher
from dispatch_server.protocol.frames import Id
from dispatch_server.services import shifts
from dispatch_server.services.shifts import Shift

router = APIRouter(prefix="/api/roster", tags=["roster"], route_class=CheckedRoute)


class Slot(BaseModel):
    member_ids: list[Id] = Field(max_length=50)


@router.put("/{grid_id}/{shift}")
async def plan(
    grid_id: str, shift: Shift, body: Slot, ctx: CtxDep, who: Admin
) -> list[dict[str, Any]]:
    """Who patrols this grid on this shift (replaces the slot; an empty list clears it). A
    deactivated member is a 409."""
    if grid_id not in ctx.grids.grids:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no grid {grid_id}")
    unknown = [m for m in body.member_ids if m not in ctx.roster]
    if unknown:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no member {', '.join(map(str, unknown))}")
    await shifts.plan(ctx, grid_id, shift, body.member_ids, who.actor)
    return await shifts.view(ctx)


@router.get("")
async def roster(ctx: CtxDep, _: Dispatcher) -> list[dict[str, Any]]:
    return await shifts.view(ctx)
