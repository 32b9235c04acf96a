"""create_app(settings): the FastAPI app, its routes and its lifespan."""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, WebSocket
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from dispatch_server.api import (
    admin,
    check_ins,
    console,
    grids,
    incidents,
    members,
    partners,
    roll_calls,
    shifts,
)
from dispatch_server.api.checked import CheckedRoute
from dispatch_server.clock import Clock, system_clock
from dispatch_server.deps import CtxDep
from dispatch_server.domain.errors import Conflict, NotFound
from dispatch_server.live.console import console_socket
from dispatch_server.live.partner import partner_socket
from dispatch_server.live.patrol import patrol_socket
from dispatch_server.runtime import running
from dispatch_server.services.cluster import consoles_open
from dispatch_server.services.context import Context
from dispatch_server.settings import Settings

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"


def duty_report(ctx: Context) -> dict[str, Any]:
    return {
        "instance": ctx.duty_log.instance,
        "failing": [d.name for d in ctx.supervisor.failing],
        # Each background duty: running or failing (since when, last error, failures).
        "duties": ctx.supervisor.snapshot(),
    }


def create_app(settings: Settings, clock: Clock = system_clock) -> FastAPI:
    admin_token = settings.admin_token
    if admin_token is None:
        admin_token = secrets.token_urlsafe(24)
        log.warning("DISPATCH_ADMIN_TOKEN is unset; this run's admin token is %s", admin_token)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with running(settings, admin_token, clock) as ctx:
            app.state.ctx = ctx
            yield

    app = FastAPI(
        title="Grid patrol dispatch",
        version="0.1.0",
        summary="One-key alarms from patrol handhelds to the duty console, durably.",
        description="Live traffic goes over /ws/patrol and /ws/console: see docs/protocol.md.",
        lifespan=lifespan,
    )
    app.router.route_class = CheckedRoute  # /api/health too
    for module in (
        admin,
        check_ins,
        console,
        grids,
        incidents,
        members,
        partners,
        roll_calls,
        shifts,
    ):
        app.include_router(module.router)

    @app.exception_handler(NotFound)
    async def not_found(_: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.exception_handler(Conflict)
    async def conflict(_: Request, exc: Conflict) -> JSONResponse:
        """DESIGN.md: an illegal transition is a clear 409, not a crash."""
        return JSONResponse({"detail": str(exc)}, status_code=409)

    @app.websocket("/ws/patrol")
    async def ws_patrol(websocket: WebSocket) -> None:
        await patrol_socket(websocket, websocket.app.state.ctx)

    @app.websocket("/ws/console")
    async def ws_console(websocket: WebSocket) -> None:
        await console_socket(websocket, websocket.app.state.ctx)

    @app.websocket("/ws/partner")
    async def ws_partner(websocket: WebSocket) -> None:
        await partner_socket(websocket, websocket.app.state.ctx)

    @app.get(
        "/api/health",
        tags=["health"],
        responses={503: {"description": "a background duty is failing (see `duties`)"}},
    )
    async def health(ctx: CtxDep) -> JSONResponse:
        """503 with `ok: false` while any background duty fails: a clock that has stopped
        must never hide behind "ok" (issue 10)."""
        duties = duty_report(ctx)
        failing = duties["failing"]
        body = {
            "ok": not failing,
            **duties,
            "grids": len(ctx.grids.grids),
            "members": len(ctx.roster),
            "handhelds_connected": ctx.hub.connected(),
            "open_incidents": len(ctx.active),
            "console_resyncs": ctx.console_resyncs,
            "commit_batches": ctx.writer.batches,
            "writes": ctx.writer.jobs_done,
            # The cluster: the seq this instance has applied, whether it keeps the deadlines,
            # and whether its Redis link is up (null: no bus configured).
            "last_seq": ctx.writer.handed,
            "leader": ctx.leader.leading,
            "bus_connected": ctx.cluster.link.connected if ctx.settings.bus_url else None,
            "consoles_open": consoles_open(ctx),
        }
        return JSONResponse(body, status_code=503 if failing else 200)

    @app.get("/api/duties", tags=["health"])
    async def duties(ctx: CtxDep) -> dict[str, Any]:
        """The background duties alone, always 200: what the console's banner reads."""
        return duty_report(ctx)

    # The console is plain files: no build step, no CDN, nothing fetched from the internet.
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    async def console_page() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    return app
