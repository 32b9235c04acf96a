"""The grid map, as GeoJSON, for consoles and scripts."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from dispatch_server.api.checked import CheckedRoute
from dispatch_server.deps import CtxDep, Dispatcher

router = APIRouter(prefix="/api", tags=["grids"], route_class=CheckedRoute)


@router.get("/grids")
async def grids(ctx: CtxDep, _: Dispatcher) -> dict[str, Any]:
    """A FeatureCollection; each feature's `id` is its grid id."""
    return ctx.grids.feature_collection()
