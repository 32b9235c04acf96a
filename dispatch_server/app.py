"""create_app(settings): the FastAPI app. The runtime (runtime.py) builds and runs the
components; the lifespan hands them to every handler as lifespan state."""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from dispatch_server import sockets
from dispatch_server.api import ROUTERS
from dispatch_server.clock import Clock, system_clock
from dispatch_server.domain.errors import Conflict, NotFound
from dispatch_server.domain.media import Refused
from dispatch_server.runtime import running
from dispatch_server.settings import Settings
from dispatch_server.structured_logs import RequestId

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"


def create_app(settings: Settings, clock: Clock = system_clock) -> FastAPI:
    admin_token = settings.admin_token
    if admin_token is None:
        admin_token = secrets.token_urlsafe(24)
        log.warning("DISPATCH_ADMIN_TOKEN is unset; this run's admin token is %s", admin_token)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        """Starlette's lifespan state: every request and socket finds the context in its
        `state` (deps.py), and nothing is kept on the app."""
        async with running(settings, admin_token, clock) as ctx:
            yield {"ctx": ctx}

    app = FastAPI(
        title="Grid patrol dispatch",
        version="0.1.0",
        summary="One-key alarms from patrol handhelds to the duty console, durably.",
        description="Live traffic goes over /ws/patrol and /ws/console: see docs/protocol.md.",
        lifespan=lifespan,
        # A path with a stray slash is a 404, not a 307 to a guess: a path id ending in an
        # encoded slash ("/api/media/x%2F") must be refused like any other bad id.
        redirect_slashes=False,
    )
    # JSON logs: one access line per request too, with its id (structured_logs.py).
    app.add_middleware(RequestId, access=settings.log_format == "json")
    for router in ROUTERS:
        app.include_router(router)
    for path, endpoint in sockets.SOCKETS.items():
        app.router.add_websocket_route(path, endpoint)

    @app.exception_handler(NotFound)
    async def not_found(_: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @app.exception_handler(Conflict)
    async def conflict(_: Request, exc: Conflict) -> JSONResponse:
        """DESIGN.md: an illegal transition is a clear 409, not a crash."""
        return JSONResponse({"detail": str(exc)}, status_code=409)

    @app.exception_handler(Refused)
    async def refused(_: Request, exc: Refused) -> JSONResponse:
        """A media upload refused: the status says which limit, `received` where to resume."""
        body: dict[str, Any] = {"detail": str(exc)}
        if exc.received is not None:
            body["received"] = exc.received
        return JSONResponse(body, status_code=exc.status)

    # The console is plain files: no build step, no CDN, nothing fetched from the internet.
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    async def console_page() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    # The security partners' page (a hotel desk that rings): its own page, the same modules.
    @app.get("/partner/", include_in_schema=False)
    @app.get("/partner", include_in_schema=False)
    async def partner_page() -> FileResponse:
        return FileResponse(STATIC / "partner.html", headers={"Cache-Control": "no-cache"})

    # The admin pages: the community office's lists, rules, roster and grids (decision 46).
    @app.get("/admin/", include_in_schema=False)
    @app.get("/admin", include_in_schema=False)
    async def admin_page() -> FileResponse:
        return FileResponse(STATIC / "admin.html", headers={"Cache-Control": "no-cache"})

    # The phone handheld (static/h/): the page, and its service worker at /h/sw.js so that
    # the worker's scope is /h/ (a worker controls only pages under its own path).
    @app.get("/h/", include_in_schema=False)
    async def handheld_page() -> FileResponse:
        return FileResponse(STATIC / "h" / "index.html", headers={"Cache-Control": "no-cache"})

    @app.get("/h", include_in_schema=False)
    async def handheld_redirect() -> RedirectResponse:
        return RedirectResponse("/h/")

    @app.get("/h/sw.js", include_in_schema=False)
    async def handheld_worker() -> FileResponse:
        return FileResponse(
            STATIC / "h" / "sw.js",
            media_type="text/javascript",
            headers={"Cache-Control": "no-cache"},
        )

    return app
