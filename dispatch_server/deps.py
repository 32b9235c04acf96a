"""Dependency aliases: the context, and who is asking."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from dispatch_server.services.auth import Kind, Principal
from dispatch_server.services.context import Context

_bearer = HTTPBearer(
    auto_error=False, description="A token from the admin API, or the admin token."
)


def get_ctx(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


CtxDep = Annotated[Context, Depends(get_ctx)]


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
