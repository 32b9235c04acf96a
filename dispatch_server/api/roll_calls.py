"""Roll calls from the console: start one for some grids or all, list them, look at one."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel, Field

from dispatch_server.api.checked import CheckedRoute
from dispatch_server.deps import CtxDep, Dispatcher
from dispatch_server.protocol.frames import Id
from dispatch_server.services import roll_calls

router = APIRouter(prefix="/api/roll-calls", tags=["roll calls"], route_class=CheckedRoute)


class NewRollCall(BaseModel):
    grid_ids: list[str] | None = Field(default=None, description="none: every grid")
    timeout_s: float | None = Field(default=None, gt=0, le=3600, description="default 60 s")


@router.post("", status_code=status.HTTP_201_CREATED)
async def start(body: NewRollCall, ctx: CtxDep, who: Dispatcher) -> dict[str, Any]:
    unknown = [g for g in body.grid_ids or [] if g not in ctx.grids.grids]
    if unknown:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, f"unknown grid {', '.join(unknown)}"
        )
    timeout = body.timeout_s or ctx.settings.roll_call_timeout_s
    rc = await roll_calls.start(ctx, body.grid_ids, timeout, who.actor)
    return roll_calls.view(rc)


@router.get("")
async def listing(
    ctx: CtxDep, _: Dispatcher, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> list[dict[str, Any]]:
    return await ctx.read(roll_calls.listing, limit)


@router.get("/{roll_call_id}")
async def detail(roll_call_id: Id, ctx: CtxDep, _: Dispatcher) -> dict[str, Any]:
    return await ctx.read(roll_calls.detail, roll_call_id)
