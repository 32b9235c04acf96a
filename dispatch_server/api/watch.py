"""What the coverage and team watches have open now, for a console that (re)loads: the
live events (`coverage_gap`, `team_drift`, ...) keep it current after that."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from dispatch_server.api.checked import CheckedRoute
from dispatch_server.deps import CtxDep, Dispatcher
from dispatch_server.services import coverage, team_watch

router = APIRouter(prefix="/api/watch", tags=["watch"], route_class=CheckedRoute)


@router.get("")
async def watch(ctx: CtxDep, _: Dispatcher) -> dict[str, Any]:
    """Open coverage gaps, and members the team watch has flagged (drift or silent)."""
    return {
        "shift": (s.value if (s := coverage.current_shift(ctx, ctx.clock())) else None),
        "coverage_gaps": coverage.view(ctx),
        "team": team_watch.view(ctx),
    }
