"""The three websockets: handhelds (`/ws/patrol`), duty consoles (`/ws/console`) and
security partners (`/ws/partner`). Each hands its socket and the lifespan's context to
its session in live/; a new socket goes here, in SOCKETS.

They are added to the app as plain routes (`app.router.add_websocket_route`), not through an
included router: FastAPI's included router keeps three more coroutine frames alive for
the whole life of each connection, about 0.8 KiB per handheld."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.websockets import WebSocket

from dispatch_server.live.console import console_socket
from dispatch_server.live.partner import partner_socket
from dispatch_server.live.patrol import patrol_socket
from dispatch_server.services.context import Context


def _ctx(websocket: WebSocket) -> Context:
    ctx: Context = websocket.state.ctx  # the lifespan's state (app.py)
    return ctx


async def ws_patrol(websocket: WebSocket) -> None:
    await patrol_socket(websocket, _ctx(websocket))


async def ws_console(websocket: WebSocket) -> None:
    await console_socket(websocket, _ctx(websocket))


async def ws_partner(websocket: WebSocket) -> None:
    await partner_socket(websocket, _ctx(websocket))


SOCKETS: dict[str, Callable[[WebSocket], Awaitable[None]]] = {
    "/ws/patrol": ws_patrol,
    "/ws/console": ws_console,
    "/ws/partner": ws_partner,
}
