"""Admin REST: registering members, dispatchers and partners, each answered with its token."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field, HttpUrl

from dispatch_server.deps import Admin, CtxDep
from dispatch_server.domain.skills import Skill
from dispatch_server.services import people

router = APIRouter(prefix="/api", tags=["admin"])
Name = Annotated[str, Field(min_length=1, max_length=100)]


class NewMember(BaseModel):
    name: Name
    grid_id: str
    skills: list[Skill] = []


class MemberCreated(BaseModel):
    member_id: int
    token: str


class NewDispatcher(BaseModel):
    name: Name


class DispatcherCreated(BaseModel):
    dispatcher_id: int
    token: str


class NewPartner(BaseModel):
    name: Name
    grids: list[str] = Field(min_length=1)
    webhook_url: HttpUrl | None = None


class PartnerCreated(BaseModel):
    partner_id: int
    token: str
    webhook_secret: str | None = None


def _known_grids(ctx: CtxDep, grid_ids: list[str]) -> None:
    unknown = [g for g in grid_ids if g not in ctx.grids.grids]
    if unknown:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"unknown grid {', '.join(unknown)}; grids are {', '.join(ctx.grids.grids)}",
        )


@router.post("/members", status_code=status.HTTP_201_CREATED)
async def create_member(body: NewMember, ctx: CtxDep, _: Admin) -> MemberCreated:
    _known_grids(ctx, [body.grid_id])
    skills = [s.value for s in dict.fromkeys(body.skills)]
    member_id, token = await people.create_member(ctx, body.name, body.grid_id, skills)
    return MemberCreated(member_id=member_id, token=token)


@router.post("/dispatchers", status_code=status.HTTP_201_CREATED)
async def create_dispatcher(body: NewDispatcher, ctx: CtxDep, _: Admin) -> DispatcherCreated:
    dispatcher_id, token = await people.create_dispatcher(ctx, body.name)
    return DispatcherCreated(dispatcher_id=dispatcher_id, token=token)


@router.post("/partners", status_code=status.HTTP_201_CREATED)
async def create_partner(body: NewPartner, ctx: CtxDep, _: Admin) -> PartnerCreated:
    _known_grids(ctx, body.grids)
    url = str(body.webhook_url) if body.webhook_url else None
    partner_id, token, secret = await people.create_partner(ctx, body.name, body.grids, url)
    return PartnerCreated(partner_id=partner_id, token=token, webhook_secret=secret)
