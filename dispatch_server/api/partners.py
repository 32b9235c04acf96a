"""The partner's side: who it is and its grids, its escalated incidents, acknowledging
them, posting updates.
A partner sees only what was escalated to it: anything else is 403, whatever exists."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, HTTPException, status
from pydantic import BaseModel, Field
from sqlalchemy import Connection, select

from dispatch_server.api.checked import CheckedRoute
from dispatch_server.clock import iso
from dispatch_server.deps import CtxDep, GridsDep, get_principal
from dispatch_server.domain.incidents import Incident
from dispatch_server.protocol.frames import Id
from dispatch_server.services import names, partners
from dispatch_server.services.auth import Kind, Principal
from dispatch_server.services.incidents import load
from dispatch_server.store.log import Tx, incident_events
from dispatch_server.store.tables import PARTNER

router = APIRouter(prefix="/api/partner", tags=["partner"], route_class=CheckedRoute)
T = TypeVar("T")


async def _partner(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
    if principal.kind is not Kind.PARTNER:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "a partner token is needed")
    return principal


PartnerDep = Annotated[Principal, Depends(_partner)]


class UpdateBody(BaseModel):
    text: Annotated[str, Field(min_length=1, max_length=2000)]


def _mine(conn: Connection, partner_id: int) -> list[dict[str, Any]]:
    ids = sorted(partners.visible_incidents(conn, partner_id), reverse=True)
    who = names.load(conn)
    return [partners.partner_view(load(conn, i), partner_id, who) for i in ids]


def _one(conn: Connection, partner_id: int, incident_id: int) -> dict[str, Any]:
    inc = partners.check_visible(conn, partner_id, incident_id)
    who = names.load(conn)
    timeline = [
        partners.partner_frame(e, who)
        for e in incident_events(conn, incident_id)
        if e.type in partners.PARTNER_EVENTS
    ]
    return {**partners.partner_view(inc, partner_id, who), "timeline": timeline}


def _view(conn: Connection, inc: Incident, partner_id: int) -> dict[str, Any]:
    return partners.partner_view(inc, partner_id, names.load(conn))


async def _guarded(call: Awaitable[T]) -> T:
    """Not escalated to this partner: 403, whether or not the incident exists."""
    try:
        return await call
    except PermissionError as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from None


def _me(conn: Connection, partner_id: int) -> dict[str, Any]:
    row = conn.execute(select(PARTNER).where(PARTNER.c.id == partner_id)).one()
    return {"partner_id": row.id, "name": row.name, "kind": row.kind, "grids": sorted(row.grids)}


@router.get("/me")
async def me(ctx: CtxDep, who: PartnerDep) -> dict[str, Any]:
    """Who this token is (the partner page's header), and what its map may draw under the
    grids: the deployment's own tile server, if it has one."""
    return {
        **await ctx.read(_me, who.id),
        "server_time": iso(ctx.clock()),
        "tile_url": ctx.settings.map_tile_url,
    }


@router.get("/grids")
async def my_grids(ctx: CtxDep, index: GridsDep, who: PartnerDep) -> dict[str, Any]:
    """GeoJSON of only the grids this partner covers and those of incidents escalated to
    it, as `GET /api/grids` draws them; the other grids stay with the dispatchers."""
    mine = await ctx.read(partners.partner_grid_ids, who.id)
    every = index.feature_collection()
    features = [f for f in every["features"] if f["id"] in mine]
    for f in features:
        f["properties"].pop("neighbours", None)  # names other grids: not the partner's
    return {**every, "features": features}


@router.get("/incidents")
async def my_incidents(ctx: CtxDep, who: PartnerDep) -> list[dict[str, Any]]:
    return await ctx.read(_mine, who.id)


@router.get("/incidents/{incident_id}")
async def my_incident(incident_id: Id, ctx: CtxDep, who: PartnerDep) -> dict[str, Any]:
    return await _guarded(ctx.read(_one, who.id, incident_id))


@router.post("/incidents/{incident_id}/acknowledge")
async def acknowledge(incident_id: Id, ctx: CtxDep, who: PartnerDep) -> dict[str, Any]:
    def job(tx: Tx) -> Incident:
        return partners.partner_acknowledge(tx, who.id, incident_id)

    return await ctx.read(_view, await _guarded(ctx.writer.run(job)), who.id)


@router.post("/incidents/{incident_id}/updates")
async def post_update(
    incident_id: Id, body: UpdateBody, ctx: CtxDep, who: PartnerDep
) -> dict[str, Any]:
    def job(tx: Tx) -> Incident:
        return partners.partner_update(tx, who.id, incident_id, body.text)

    return await ctx.read(_view, await _guarded(ctx.writer.run(job)), who.id)
