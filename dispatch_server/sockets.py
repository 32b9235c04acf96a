"""The three websockets: handhelds (`/ws/patrol`), duty consoles (`/ws/console`) and
security partners (`/ws/partner`). Each hands its socket and the lifespan's context to
its session in live/; a new socket goes here."""

from __future__ import annotations

from fastapi import APIRouter, WebSocket

from dispatch_server.live.console import console_socket
from dispatch_server.live.partner import partner_socket
from dispatch_server.live.patrol import patrol_socket
from dispatch_server.services.context import Context

router = APIRouter()


def _ctx(websocket: WebSocket) -> Context:
    ctx: Context = websocket.state.ctx  # the lifespan's state (app.py)
    return ctx


@router.websocket("/ws/patrol")
async def ws_patrol(websocket: WebSocket) -> None:
    await patrol_socket(websocket, _ctx(websocket))


@router.websocket("/ws/console")
async def ws_console(websocket: WebSocket) -> None:
    await console_socket(websocket, _ctx(websocket))


@router.websocket("/ws/partner")
async def ws_partner(websocket: WebSocket) -> None:
    await partner_socket(websocket, _ctx(websocket))
