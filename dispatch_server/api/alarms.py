"""`POST /api/alarms`: an alarm over REST, for a phone's service worker, which cannot open a
websocket but can POST when the network returns (Background Sync), even after its tab closed.

The same alarm as the `alert` frame: the same fields (the frame's model), the same intake,
the same `alert_id` rules, and the answer only once the incident is committed.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, ValidationError

from dispatch_server.api.checked import CheckedRoute
from dispatch_server.deps import CtxDep, get_principal
from dispatch_server.protocol.frames import ALARM_FIELDS, AlarmFields
from dispatch_server.services.auth import Kind, Principal
from dispatch_server.services.intake import raise_alarm

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api", tags=["alarms"], route_class=CheckedRoute)


class AlarmBody(AlarmFields):
    """The `alert` frame's fields as the OpenAPI document shows them. FastAPI validates a body
    from parsed JSON, where the frame's strict model would refuse a UUID or a time written as
    a string; so this lax twin only documents it, and the body is then read again by the
    frame's own model in JSON mode (`_alarm`): "113.04" is no more a longitude here."""

    model_config = ConfigDict(strict=False, frozen=True)


class AlarmTaken(BaseModel):
    alert_id: str
    incident_id: int
    duplicate: bool
    unattended: bool


async def member(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
    """A member's token or a device's (a device token is a member's, with its device)."""
    if principal.kind is not Kind.MEMBER:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, f"a {principal.kind.value} token cannot raise an alarm"
        )
    return principal


async def _alarm(request: Request) -> AlarmFields:
    try:
        return ALARM_FIELDS.validate_json(await request.body())
    except ValidationError as exc:
        errors: list[dict[str, Any]] = [
            {**e, "loc": ("body", *e["loc"])}
            for e in exc.errors(include_url=False, include_input=False, include_context=False)
        ]
        raise RequestValidationError(errors) from None


@router.post(
    "/alarms",
    status_code=status.HTTP_201_CREATED,
    responses={200: {"model": AlarmTaken, "description": "a repeat: the same incident"}},
)
async def post_alarm(
    body: AlarmBody,
    request: Request,
    response: Response,
    ctx: CtxDep,
    who: Annotated[Principal, Depends(member)],
) -> AlarmTaken:
    """Raise an alarm: 201 once its incident is durably committed; a repeat of the same
    `alert_id` (by REST or over the patrol socket) answers 200 with the same incident and
    `duplicate: true`; another member's `alert_id` is 409."""
    del body  # documented by it; read strictly below
    alarm = await _alarm(request)
    taken = await raise_alarm(ctx, who.id, alarm)
    # Worth a line: the phone could not use its socket (a REST alarm is the fallback).
    log.info(
        "alarm %s over REST from member %d: incident %d%s",
        taken.alert_id,
        who.id,
        taken.incident_id,
        " (a repeat)" if taken.duplicate else "",
        extra={"incident_id": taken.incident_id, "member_id": who.id},
    )
    if taken.duplicate:
        response.status_code = status.HTTP_200_OK
    return AlarmTaken(
        alert_id=taken.alert_id,
        incident_id=taken.incident_id,
        duplicate=taken.duplicate,
        unattended=taken.unattended,
    )
