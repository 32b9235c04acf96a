"""`/ws/partner`: a security partner's feed. It carries only incidents escalated to that
partner, and of those only what a partner may see (where and what, never who is where)."""

from __future__ import annotations

from typing import Any

from starlette.websockets import WebSocket

from dispatch_server.domain.events import Event, EventType
from dispatch_server.live.console import serve_feed
from dispatch_server.live.link import handshake
from dispatch_server.protocol.frames import CONSOLE_FRAMES
from dispatch_server.services import names, partners
from dispatch_server.services.auth import Kind
from dispatch_server.services.context import Context
from dispatch_server.services.incidents import load


async def partner_socket(ws: WebSocket, ctx: Context) -> None:
    greeted = await handshake(ws, ctx, CONSOLE_FRAMES, {Kind.PARTNER})
    if greeted is None:
        return
    partner_id = greeted[0].id
    visible = await ctx.read(partners.visible_incidents, partner_id)

    async def shape(event: Event) -> dict[str, Any] | None:
        # Partners' names as this instance knows them (kept current: services/escalation.py).
        who = names.Names(partners={p.partner_id: p.name for p in ctx.partners.values()})
        if event.type is EventType.INCIDENT_ESCALATED and partner_id in event.data["partner_ids"]:
            visible.add(event.incident_id or 0)
            frame = partners.partner_frame(event, who)
            inc = await ctx.read(load, event.incident_id)
            frame["incident"] = partners.partner_view(inc, partner_id, who)
            return frame
        if event.incident_id in visible and event.type in partners.PARTNER_EVENTS:
            return partners.partner_frame(event, who)
        return None

    await serve_feed(ws, ctx, greeted, shape, "partner")
