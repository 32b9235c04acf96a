"""Admin REST: registering members, dispatchers and partners, each answered with its token."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field, HttpUrl

from dispatch_server.api.checked import CheckedRoute
from dispatch_server.deps import Admin, CtxDep, Dispatcher
from dispatch_server.domain.escalation import PartnerKind, Rule, Trigger
from dispatch_server.domain.skills import Skill
from dispatch_server.protocol.frames import Category
from dispatch_server.services import escalation, people

router = APIRouter(prefix="/api", tags=["admin"], route_class=CheckedRoute)
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
    kind: PartnerKind = PartnerKind.SECURITY
    webhook_url: HttpUrl | None = None
    # Decision 50: drills reach a partner only if it opted in.
    accepts_drills: bool = False


class EscalationRuleBody(BaseModel):
    trigger: Trigger
    to: PartnerKind
    after_s: float = Field(default=0.0, ge=0, le=86400)
    category: Category | None = None
    grid_id: str | None = None


class PartnerCreated(BaseModel):
    partner_id: int
    token: str
    webhook_secret: str | None = None


def known_grids(ctx: CtxDep, grid_ids: list[str]) -> None:
    unknown = [g for g in grid_ids if g not in ctx.grids.grids]
    if unknown:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"unknown grid {', '.join(unknown)}; grids are {', '.join(ctx.grids.grids)}",
        )


@router.post("/members", status_code=status.HTTP_201_CREATED)
async def create_member(body: NewMember, ctx: CtxDep, who: Admin) -> MemberCreated:
    known_grids(ctx, [body.grid_id])
    skills = [s.value for s in dict.fromkeys(body.skills)]
    member_id, token = await people.create_member(ctx, body.name, body.grid_id, skills, who.actor)
    return MemberCreated(member_id=member_id, token=token)


@router.post("/dispatchers", status_code=status.HTTP_201_CREATED)
async def create_dispatcher(body: NewDispatcher, ctx: CtxDep, who: Admin) -> DispatcherCreated:
    dispatcher_id, token = await people.create_dispatcher(ctx, body.name, who.actor)
    return DispatcherCreated(dispatcher_id=dispatcher_id, token=token)


@router.post("/partners", status_code=status.HTTP_201_CREATED)
async def create_partner(body: NewPartner, ctx: CtxDep, who: Admin) -> PartnerCreated:
    known_grids(ctx, body.grids)
    url = str(body.webhook_url) if body.webhook_url else None
    partner_id, token, secret = await people.create_partner(
        ctx, body.name, body.grids, body.kind, url, who.actor, body.accepts_drills
    )
    return PartnerCreated(partner_id=partner_id, token=token, webhook_secret=secret)


@router.get("/escalation-rules")
async def escalation_rules(ctx: CtxDep, _: Dispatcher) -> list[dict[str, Any]]:
    return [escalation.rule_view(r) for r in ctx.escalation_rules]


@router.put("/escalation-rules")
async def replace_escalation_rules(
    body: list[EscalationRuleBody], ctx: CtxDep, who: Admin
) -> list[dict[str, Any]]:
    """The whole list at once: each rule fires at most once per incident."""
    known_grids(ctx, [r.grid_id for r in body if r.grid_id is not None])
    rules = [
        Rule(0, r.trigger, r.to, r.after_s, r.category.value if r.category else None, r.grid_id)
        for r in body
    ]
    stored = await escalation.replace_rules(ctx, rules, who.actor)
    return [escalation.rule_view(r) for r in stored]
