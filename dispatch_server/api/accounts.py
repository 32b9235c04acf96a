"""The admin pages' accounts (decision 44): members, duty volunteers and partners listed,
changed, deactivated, reactivated and given a new token; a partner's webhook tested."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field, HttpUrl, model_validator

from dispatch_server.api.admin import Name, known_grids
from dispatch_server.api.checked import CheckedRoute
from dispatch_server.deps import Admin, CtxDep
from dispatch_server.domain.escalation import PartnerKind
from dispatch_server.domain.skills import Skill
from dispatch_server.protocol.frames import Id
from dispatch_server.services import accounts, edits, webhook_test
from dispatch_server.services.auth import Kind

router = APIRouter(prefix="/api", tags=["admin"], route_class=CheckedRoute)


class Change(BaseModel):
    """At least one field; only those that may be null may be null."""

    @model_validator(mode="after")
    def _something(self) -> Change:
        given = self.model_fields_set
        if not given:
            raise ValueError(f"give at least one of {', '.join(type(self).model_fields)}")
        nulls = sorted(f for f in given if getattr(self, f) is None and f not in self._nullable())
        if nulls:
            raise ValueError(f"{', '.join(nulls)} cannot be null")
        return self

    @classmethod
    def _nullable(cls) -> frozenset[str]:
        return frozenset()

    def wanted(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in self.model_fields_set}


class MemberChange(Change):
    name: Name | None = None
    grid_id: str | None = None
    skills: list[Skill] | None = None


class PartnerChange(Change):
    name: Name | None = None
    grids: list[str] | None = Field(default=None, min_length=1)
    kind: PartnerKind | None = None
    webhook_url: HttpUrl | None = Field(default=None, description="null removes the webhook")
    accepts_drills: bool | None = Field(default=None, description="drills escalate to it")

    @classmethod
    def _nullable(cls) -> frozenset[str]:
        return frozenset({"webhook_url"})


class MemberToken(BaseModel):
    member_id: int
    token: str


class DispatcherToken(BaseModel):
    dispatcher_id: int
    token: str


class PartnerToken(BaseModel):
    partner_id: int
    token: str


class WebhookTest(BaseModel):
    ok: bool
    status_code: int | None
    body: str | None
    elapsed_ms: float
    error: str | None


# --- lists -------------------------------------------------------------------------------


@router.get("/admin/members")
async def list_members(ctx: CtxDep, _: Admin) -> list[dict[str, Any]]:
    """Every member, active or not, by id; `devices`: enrolled handhelds not revoked."""
    return await accounts.listing(ctx, Kind.MEMBER)


@router.get("/admin/dispatchers")
async def list_dispatchers(ctx: CtxDep, _: Admin) -> list[dict[str, Any]]:
    return await accounts.listing(ctx, Kind.DISPATCHER)


@router.get("/admin/partners")
async def list_partners(ctx: CtxDep, _: Admin) -> list[dict[str, Any]]:
    """Never a webhook secret."""
    return await accounts.listing(ctx, Kind.PARTNER)


# --- members ------------------------------------------------------------------------------


@router.patch("/members/{member_id}")
async def update_member(
    member_id: Id, body: MemberChange, ctx: CtxDep, who: Admin
) -> dict[str, Any]:
    """The live roster follows on every instance; a change that changes nothing logs nothing."""
    wanted = body.wanted()
    if "grid_id" in wanted:
        known_grids(ctx, [wanted["grid_id"]])
    if "skills" in wanted:
        wanted["skills"] = [s.value for s in dict.fromkeys(wanted["skills"])]
    return await edits.update_member(ctx, member_id, wanted, who.actor)


@router.post("/members/{member_id}/deactivate")
async def deactivate_member(member_id: Id, ctx: CtxDep, who: Admin) -> dict[str, Any]:
    """Ends its shift, clears it from the plan, revokes every token (its handhelds' too) and
    closes its patrol sockets with 4401 on every instance."""
    return await accounts.deactivate(ctx, Kind.MEMBER, member_id, who.actor)


@router.post("/members/{member_id}/reactivate")
async def reactivate_member(member_id: Id, ctx: CtxDep, who: Admin) -> MemberToken:
    token = await accounts.reactivate(ctx, Kind.MEMBER, member_id, who.actor)
    return MemberToken(member_id=member_id, token=token)


@router.post("/members/{member_id}/token")
async def rotate_member_token(member_id: Id, ctx: CtxDep, who: Admin) -> MemberToken:
    """A new registration token; the old one stops working (enrolled handhelds keep theirs)."""
    token = await accounts.rotate(ctx, Kind.MEMBER, member_id, who.actor)
    return MemberToken(member_id=member_id, token=token)


# --- duty volunteers ----------------------------------------------------------------------


@router.post("/dispatchers/{dispatcher_id}/deactivate")
async def deactivate_dispatcher(dispatcher_id: Id, ctx: CtxDep, who: Admin) -> dict[str, Any]:
    return await accounts.deactivate(ctx, Kind.DISPATCHER, dispatcher_id, who.actor)


@router.post("/dispatchers/{dispatcher_id}/reactivate")
async def reactivate_dispatcher(dispatcher_id: Id, ctx: CtxDep, who: Admin) -> DispatcherToken:
    token = await accounts.reactivate(ctx, Kind.DISPATCHER, dispatcher_id, who.actor)
    return DispatcherToken(dispatcher_id=dispatcher_id, token=token)


@router.post("/dispatchers/{dispatcher_id}/token")
async def rotate_dispatcher_token(dispatcher_id: Id, ctx: CtxDep, who: Admin) -> DispatcherToken:
    token = await accounts.rotate(ctx, Kind.DISPATCHER, dispatcher_id, who.actor)
    return DispatcherToken(dispatcher_id=dispatcher_id, token=token)


# --- partners -----------------------------------------------------------------------------


@router.patch("/partners/{partner_id}")
async def update_partner(
    partner_id: Id, body: PartnerChange, ctx: CtxDep, who: Admin
) -> dict[str, Any]:
    """With `webhook_secret` only when a webhook is set where there was none (shown once)."""
    wanted = body.wanted()
    if "grids" in wanted:
        wanted["grids"] = list(dict.fromkeys(wanted["grids"]))
        known_grids(ctx, wanted["grids"])
    if "kind" in wanted:
        wanted["kind"] = wanted["kind"].value
    if wanted.get("webhook_url") is not None:
        wanted["webhook_url"] = str(wanted["webhook_url"])
    record, secret = await edits.update_partner(ctx, partner_id, wanted, who.actor)
    return record if secret is None else {**record, "webhook_secret": secret}


@router.post("/partners/{partner_id}/deactivate")
async def deactivate_partner(partner_id: Id, ctx: CtxDep, who: Admin) -> dict[str, Any]:
    """Never escalated to again; its partner sockets are closed with 4401."""
    return await accounts.deactivate(ctx, Kind.PARTNER, partner_id, who.actor)


@router.post("/partners/{partner_id}/reactivate")
async def reactivate_partner(partner_id: Id, ctx: CtxDep, who: Admin) -> PartnerToken:
    token = await accounts.reactivate(ctx, Kind.PARTNER, partner_id, who.actor)
    return PartnerToken(partner_id=partner_id, token=token)


@router.post("/partners/{partner_id}/token")
async def rotate_partner_token(partner_id: Id, ctx: CtxDep, who: Admin) -> PartnerToken:
    token = await accounts.rotate(ctx, Kind.PARTNER, partner_id, who.actor)
    return PartnerToken(partner_id=partner_id, token=token)


@router.post("/partners/{partner_id}/test-webhook")
async def test_webhook(partner_id: Id, ctx: CtxDep, who: Admin) -> WebhookTest:
    """One signed POST of `{"type": "test", ...}` to its webhook, now: not queued, not
    retried, not a delivery. 409 when it has no webhook."""
    return WebhookTest(**await webhook_test.send_test(ctx, partner_id, who.actor))
