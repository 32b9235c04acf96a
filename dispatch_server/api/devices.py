"""Handhelds signed in with no typing (decision 35): enrolment codes for the administrator,
the exchange of a code for a device token (no token needed: the code is the credential,
once), and a member's devices, listed and revoked."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Request, status
from pydantic import BaseModel, Field

from dispatch_server.api.checked import CheckedRoute
from dispatch_server.clock import iso
from dispatch_server.deps import Admin, CtxDep
from dispatch_server.domain.enrolment import CodeRefused, Refusal
from dispatch_server.protocol.frames import Id
from dispatch_server.services import devices

router = APIRouter(prefix="/api", tags=["devices"], route_class=CheckedRoute)

REFUSED = {
    Refusal.UNKNOWN: status.HTTP_404_NOT_FOUND,
    Refusal.USED: status.HTTP_409_CONFLICT,
    Refusal.EXPIRED: status.HTTP_410_GONE,
}


class EnrolmentMade(BaseModel):
    code: str
    url: str
    expires_at: str


class EnrolBody(BaseModel):
    code: Annotated[str, Field(min_length=1, max_length=64)]
    device_name: Annotated[str, Field(min_length=1, max_length=100)]


class DeviceToken(BaseModel):
    token: str
    member_id: int
    device_id: int
    device_name: str


@router.post("/members/{member_id}/enrolment", status_code=status.HTTP_201_CREATED)
async def create_enrolment(
    member_id: Id, request: Request, ctx: CtxDep, who: Admin
) -> EnrolmentMade:
    """A one-time code for the member's next handheld, and the link that carries it."""
    base = ctx.settings.public_url or str(request.base_url)
    made = await devices.create_enrolment(ctx, member_id, base, who.actor)
    return EnrolmentMade(code=made.code, url=made.url, expires_at=iso(made.expires_at))


@router.post("/enrol")
async def enrol(body: EnrolBody, ctx: CtxDep) -> DeviceToken:
    """The code for a device token: once, before it expires. No bearer token: the code is
    what proves who this is, and it is never a token itself."""
    try:
        done = await devices.enrol(ctx, body.code, body.device_name)
    except CodeRefused as refused:
        raise HTTPException(REFUSED[refused.refusal], str(refused)) from None
    return DeviceToken(
        token=done.token,
        member_id=done.member_id,
        device_id=done.device_id,
        device_name=done.device_name,
    )


@router.get("/members/{member_id}/devices")
async def member_devices(member_id: Id, ctx: CtxDep, _: Admin) -> list[dict[str, Any]]:
    return await devices.devices(ctx, member_id)


@router.delete("/members/{member_id}/devices/{device_id}")
async def revoke_device(member_id: Id, device_id: Id, ctx: CtxDep, who: Admin) -> dict[str, Any]:
    """Its token stops working at once, and its patrol sockets close with 4401."""
    return await devices.revoke(ctx, member_id, device_id, who.actor)
