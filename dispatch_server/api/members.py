"""The live roster: who is on shift, online, busy and where."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from dispatch_server.api.checked import CheckedRoute
from dispatch_server.deps import CtxDep, Dispatcher
from dispatch_server.services import people

router = APIRouter(prefix="/api", tags=["members"], route_class=CheckedRoute)


@router.get("/members")
async def members(ctx: CtxDep, _: Dispatcher) -> list[dict[str, Any]]:
    return people.live_members(ctx)
