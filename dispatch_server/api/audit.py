"""The audit trail: what administrators did, newest first (decision 44)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from dispatch_server.api.checked import CheckedRoute
from dispatch_server.deps import Admin, CtxDep
from dispatch_server.protocol.frames import MAX_ID
from dispatch_server.services import audit

router = APIRouter(prefix="/api/admin", tags=["admin"], route_class=CheckedRoute)


@router.get("/audit")
async def audit_trail(
    ctx: CtxDep,
    _: Admin,
    before_seq: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    """`{events: [{seq, at, type, actor, actor_name, data}], next_before_seq}`: events whose
    actor is an administrator, newest first; pass `next_before_seq` back for the next page
    (null: no more)."""
    return await audit.page(ctx, before_seq, limit)
