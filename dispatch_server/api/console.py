"""What the browser console needs to know about this deployment before it draws anything."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from dispatch_server.api.checked import CheckedRoute
from dispatch_server.clock import iso
from dispatch_server.deps import CtxDep, Dispatcher

router = APIRouter(prefix="/api", tags=["console"], route_class=CheckedRoute)


@router.get("/console-config")
async def console_config(ctx: CtxDep, who: Dispatcher) -> dict[str, Any]:
    """The thresholds the page explains to its users (what "stale" and "offline" mean), so the
    page never carries its own copy of a server setting."""
    s = ctx.settings
    return {
        "actor": who.actor,
        "server_time": iso(ctx.clock()),
        "tile_url": s.map_tile_url,
        "tile_datum": s.map_tile_datum,
        "fresh_fix_s": s.fresh_fix_s,
        "offline_after_s": s.offline_after_s,
        "roll_call_timeout_s": s.roll_call_timeout_s,
    }
