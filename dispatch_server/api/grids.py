"""The grid map, as GeoJSON, for consoles and scripts; and an administrator's upload of a
new one: checked (every fault at once), then applied to the live server (decision 45)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Request, Response
from fastapi.responses import JSONResponse

from dispatch_server.api.checked import CheckedRoute
from dispatch_server.deps import Admin, CtxDep, Dispatcher, GridsDep
from dispatch_server.services import grid_sets
from dispatch_server.services.grid_sets import MAX_UPLOAD_BYTES


class UploadRoute(CheckedRoute):
    """A route whose JSON body may be large: refused with 413 past MAX_UPLOAD_BYTES, as soon
    as the length says so or the bytes pass it, before anything parses it."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if self.body_field is None:
            return handler

        async def limited(request: Request) -> Response:
            await _read_at_most(request, MAX_UPLOAD_BYTES)
            return await handler(request)

        return limited


async def _read_at_most(request: Request, limit: int) -> None:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    got = bytearray()
    async for piece in request.stream():
        got += piece
        if len(got) > limit:
            raise _too_large(limit)
    # What Request.body() keeps once read: the checks and FastAPI read it from there.
    request._body = bytes(got)


def _too_large(limit: int) -> HTTPException:
    return HTTPException(413, f"a grid file may be at most {limit} bytes")


router = APIRouter(prefix="/api", tags=["grids"], route_class=UploadRoute)

FeatureCollection = Annotated[
    dict[str, Any],
    Body(
        description="A GeoJSON FeatureCollection of Polygons and MultiPolygons, at most 5 MB",
        media_type="application/json",
    ),
]
REPORT = (
    "`{ok, file_errors, features, added, changed, unchanged, removed}`: "
    "see docs/protocol.md, Grid files"
)


@router.get("/grids")
async def grids(index: GridsDep, _: Dispatcher) -> dict[str, Any]:
    """A FeatureCollection; each feature's `id` is its grid id."""
    return index.feature_collection()


@router.post(
    "/grids/check",
    responses={413: {"description": "larger than 5 MB"}},
)
async def check_grids(document: FeatureCollection, ctx: CtxDep, _: Admin) -> dict[str, Any]:
    """The report on a grid file: every fault of every feature, what would be added,
    changed and removed, and what still needs each removed grid. Nothing is written."""
    return await grid_sets.check(ctx, document)


@router.put(
    "/grids",
    responses={
        422: {"description": f"`{{detail, report}}`, nothing written; report: {REPORT}"},
        413: {"description": "larger than 5 MB"},
    },
)
async def apply_grids(document: FeatureCollection, ctx: CtxDep, who: Admin) -> Any:
    """Apply a grid file to the live server (every instance): `{grid_set_id, applied,
    report}`. The same map as in service: 200, nothing written (`applied: false`)."""
    done = await grid_sets.apply(ctx, document, who.actor)
    if not done.report["ok"]:
        detail = "the grid file was not applied: see the report's errors and blockers"
        return JSONResponse({"detail": detail, "report": done.report}, status_code=422)
    return {"grid_set_id": done.grid_set_id, "applied": done.applied, "report": done.report}
