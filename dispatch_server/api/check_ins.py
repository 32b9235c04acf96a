"""Lone-worker mode: which grids or members must check in, and how often."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field, model_validator

from dispatch_server.api.checked import CheckedRoute
from dispatch_server.deps import Admin, CtxDep, Dispatcher
from dispatch_server.domain.check_ins import Rule
from dispatch_server.protocol.frames import Id
from dispatch_server.services import check_ins

router = APIRouter(prefix="/api/check-in-rules", tags=["check-ins"], route_class=CheckedRoute)


class RuleBody(BaseModel):
    grid_id: str | None = None
    member_id: Id | None = None
    period_s: float | None = Field(description="null switches lone-worker mode off", gt=0, le=86400)
    overdue_after_s: float | None = Field(default=None, gt=0, le=86400)

    @model_validator(mode="after")
    def _one_target(self) -> RuleBody:
        if (self.grid_id is None) == (self.member_id is None):
            raise ValueError("give exactly one of grid_id and member_id")
        return self


@router.put("")
async def put_rule(body: RuleBody, ctx: CtxDep, who: Admin) -> list[dict[str, Any]]:
    if body.grid_id is not None and body.grid_id not in ctx.grids.grids:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"unknown grid {body.grid_id}")
    if body.member_id is not None and body.member_id not in ctx.roster:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no member {body.member_id}")
    rule = None
    if body.period_s is not None:
        rule = Rule(body.period_s, body.overdue_after_s or ctx.settings.check_in_overdue_after_s)
    await check_ins.set_rule(ctx, body.grid_id, body.member_id, rule, who.actor)
    return check_ins.rules_view(ctx)


@router.get("")
async def get_rules(ctx: CtxDep, _: Dispatcher) -> list[dict[str, Any]]:
    return check_ins.rules_view(ctx)
