"""Health: is everything running? 503 while any background duty fails (issue 10)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from dispatch_server.api.checked import CheckedRoute
from dispatch_server.deps import CtxDep, SupervisorDep
from dispatch_server.duties.supervisor import Supervisor
from dispatch_server.services.cluster import consoles_open

router = APIRouter(prefix="/api", tags=["health"], route_class=CheckedRoute)


def duty_report(supervisor: Supervisor, instance: str) -> dict[str, Any]:
    return {
        "instance": instance,
        "failing": [d.name for d in supervisor.failing],
        # Each background duty: running or failing (since when, last error, failures).
        "duties": supervisor.snapshot(),
    }


@router.get(
    "/health", responses={503: {"description": "a background duty is failing (see `duties`)"}}
)
async def health(ctx: CtxDep) -> JSONResponse:
    """503 with `ok: false` while any background duty fails: a clock that has stopped must
    never hide behind "ok"."""
    duties = duty_report(ctx.supervisor, ctx.duty_log.instance)
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


@router.get("/duties")
async def duties(supervisor: SupervisorDep, ctx: CtxDep) -> dict[str, Any]:
    """The background duties alone, always 200: what the console's banner reads."""
    return duty_report(supervisor, ctx.duty_log.instance)
