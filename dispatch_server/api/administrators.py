"""Named administrators (decision 44), and who a token is (`GET /api/whoami`, any token)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status
from pydantic import BaseModel

from dispatch_server.api.admin import Name
from dispatch_server.api.checked import CheckedRoute
from dispatch_server.deps import Admin, Anyone, CtxDep
from dispatch_server.protocol.frames import Id
from dispatch_server.services import accounts, administrators
from dispatch_server.services.auth import Kind

router = APIRouter(prefix="/api", tags=["administrators"], route_class=CheckedRoute)


class NewAdministrator(BaseModel):
    name: Name


class AdministratorCreated(BaseModel):
    administrator_id: int
    token: str


class WhoAmI(BaseModel):
    kind: str
    id: int
    actor: str
    name: str | None


@router.post("/administrators", status_code=status.HTTP_201_CREATED)
async def create_administrator(
    body: NewAdministrator, ctx: CtxDep, who: Admin
) -> AdministratorCreated:
    """A named administrator, and its token, shown once: what it does is logged as its own."""
    administrator_id, token = await administrators.create(ctx, body.name, who.actor)
    return AdministratorCreated(administrator_id=administrator_id, token=token)


@router.get("/administrators")
async def list_administrators(ctx: CtxDep, _: Admin) -> list[dict[str, Any]]:
    return await accounts.listing(ctx, Kind.ADMIN)


@router.post("/administrators/{administrator_id}/deactivate")
async def deactivate_administrator(administrator_id: Id, ctx: CtxDep, who: Admin) -> dict[str, Any]:
    """Its tokens stop working at once; your own account is a 409."""
    return await accounts.deactivate(ctx, Kind.ADMIN, administrator_id, who.actor)


@router.get("/whoami")
async def whoami(ctx: CtxDep, who: Anyone) -> WhoAmI:
    """Any valid token: its kind, id, actor key (as the log names it) and name."""
    return WhoAmI(**await administrators.whoami(ctx, who))
