"""The grid map, as GeoJSON, for consoles and scripts."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from dispatch_server.api.checked import CheckedRoute
from dispatch_server.deps import Dispatcher, GridsDep

router = APIRouter(prefix="/api", tags=["grids"], route_class=CheckedRoute)


@router.get("/grids")
async def grids(index: GridsDep, _: Dispatcher) -> dict[str, Any]:
    """A FeatureCollection; each feature's `id` is its grid id."""
    return index.feature_collection()
