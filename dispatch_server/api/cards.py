"""Printable member cards (decision 38): one request makes a fresh enrolment code for each
member asked for and answers the A4 PDF of their cards."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Request, Response
from pydantic import AfterValidator, BaseModel, Field

from dispatch_server.api.checked import CheckedRoute
from dispatch_server.deps import Admin, CtxDep
from dispatch_server.protocol.frames import Id
from dispatch_server.services.cards import member_cards
from dispatch_server.settings import PUBLIC_URL_PATTERN

router = APIRouter(prefix="/api", tags=["devices"], route_class=CheckedRoute)

MAX_CARDS = 200
PDF = {200: {"content": {"application/pdf": {}}, "description": "the cards, A4, 8 a page"}}


def _unique(ids: list[int]) -> list[int]:
    if len(set(ids)) != len(ids):
        raise ValueError("each member once: member_ids has a repeat")
    return ids


class CardsBody(BaseModel):
    member_ids: Annotated[
        list[Id], Field(min_length=1, max_length=MAX_CARDS), AfterValidator(_unique)
    ]
    public_url: Annotated[
        str | None,
        Field(
            default=None,
            max_length=500,
            pattern=PUBLIC_URL_PATTERN,
            description="The base of the links on these cards; unset: DISPATCH_PUBLIC_URL, "
            "else the scheme, host and port of this request.",
        ),
    ] = None


@router.post("/member-cards", response_class=Response, responses=PDF)  # type: ignore[arg-type]
async def create_member_cards(
    body: CardsBody, request: Request, ctx: CtxDep, who: Admin
) -> Response:
    """A fresh one-time enrolment code for each member (each logged as `enrolment_created`,
    all or none: an unknown member is a 404 and nothing is written), printed as cards."""
    base = body.public_url or ctx.settings.public_url or str(request.base_url)
    pdf = await member_cards(ctx, body.member_ids, base, who.actor)
    day = datetime.fromtimestamp(ctx.clock(), UTC).strftime("%Y-%m-%d")
    headers = {"Content-Disposition": f'attachment; filename="member-cards-{day}.pdf"'}
    return Response(pdf, media_type="application/pdf", headers=headers)
