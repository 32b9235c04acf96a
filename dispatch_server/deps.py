"""Dependency aliases: what a handler needs (the context, or a narrow part of it), and who
is asking."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from dispatch_server.duties.supervisor import Supervisor
from dispatch_server.geo.index import GridIndex
from dispatch_server.services.auth import Kind, Principal
from dispatch_server.services.context import Context
from dispatch_server.settings import Settings

_bearer = HTTPBearer(
    auto_error=False, description="A token from the admin API, or the admin token."
)


def get_ctx(request: Request) -> Context:
    """The lifespan's state (app.py): built once by the runtime."""
    ctx: Context = request.state.ctx
    return ctx


# Everything the services need: for handlers that call a service.
CtxDep = Annotated[Context, Depends(get_ctx)]


def get_settings(ctx: CtxDep) -> Settings:
    return ctx.settings


def get_grids(ctx: CtxDep) -> GridIndex:
    return ctx.grids


def get_supervisor(ctx: CtxDep) -> Supervisor:
    return ctx.supervisor


# Narrow: a handler that only reads settings, the grids or the duties asks for just that.
SettingsDep = Annotated[Settings, Depends(get_settings)]
GridsDep = Annotated[GridIndex, Depends(get_grids)]
SupervisorDep = Annotated[Supervisor, Depends(get_supervisor)]


async def get_principal(
    ctx: CtxDep, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    if creds is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "missing bearer token", {"WWW-Authenticate": "Bearer"}
        )
    principal = await ctx.authenticate(creds.credentials)
    if principal is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "unknown or revoked token", {"WWW-Authenticate": "Bearer"}
        )
    return principal


def _require(*kinds: Kind):  # type: ignore[no-untyped-def]
    async def check(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        if principal.kind not in kinds:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"a {principal.kind.value} token cannot do this; it needs {' or '.join(kinds)}",
            )
        return principal

    return check


Admin = Annotated[Principal, Depends(_require(Kind.ADMIN))]
# The administrator may do whatever a duty volunteer can.
Dispatcher = Annotated[Principal, Depends(_require(Kind.DISPATCHER, Kind.ADMIN))]
# A patrol member's own token or an enrolled handheld's (the phone page uploads media).
Member = Annotated[Principal, Depends(_require(Kind.MEMBER))]
# Anyone with a token; the handler decides what each kind may see.
Anyone = Annotated[Principal, Depends(get_principal)]
