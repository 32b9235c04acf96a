"""GET /metrics: the Prometheus text format (issue 14; decision "metrics" in decisions.md).

Outside the OpenAPI document: it is for a scraper, not for the console or a partner, and
its body is not JSON. Open unless DISPATCH_METRICS_TOKEN is set: it shows counts only.
"""

from __future__ import annotations

import secrets

from fastapi import APIRouter, HTTPException, Request, Response, status
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from dispatch_server.deps import CtxDep

router = APIRouter(tags=["metrics"])


def _allowed(request: Request, token: str | None) -> bool:
    if token is None:
        return True
    given = request.headers.get("authorization", "")
    return secrets.compare_digest(given.encode(), f"Bearer {token}".encode())


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request, ctx: CtxDep) -> Response:
    if not _allowed(request, ctx.settings.metrics_token):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "GET /metrics needs Authorization: Bearer <DISPATCH_METRICS_TOKEN>",
            headers={"WWW-Authenticate": "Bearer"},
        )
    assert ctx.registry is not None, "the runtime builds the registry"
    return Response(generate_latest(ctx.registry), media_type=CONTENT_TYPE_LATEST)
