"""Structured logs (issue 14): with DISPATCH_LOG_FORMAT=json the server writes one JSON
object per line (time, level, logger, message; `request_id` inside an HTTP request;
`incident_id` where the call passes `extra={"incident_id": ...}`; `exception` with the
traceback), so a log shipper need not parse prose.

The request id lives in a contextvar set by `RequestId`, a plain ASGI middleware: every
log call made while a request is handled (in its task) carries it, and the answer says
it in `X-Request-ID` so a person can quote it. A caller's own `X-Request-ID` (a proxy's)
is kept when it is short and printable.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import secrets
import time
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
HEADER = b"x-request-id"
_GOOD_ID = re.compile(rb"[A-Za-z0-9._:-]{1,64}")
# What a log call may add with `extra=`, as fields of its own.
EXTRAS = ("incident_id", "member_id", "method", "path", "status", "duration_ms")
access_log = logging.getLogger("dispatch_server.access")


class JsonFormatter(logging.Formatter):
    """One object per line; ensure_ascii=False keeps Chinese messages readable."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = REQUEST_ID.get()
        if request_id is not None:
            line["request_id"] = request_id
        for key in EXTRAS:
            value = getattr(record, key, None)
            if value is not None:
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def configure(log_format: str) -> None:
    """Switch every handler on the root logger to JSON lines (text: leave them be)."""
    if log_format != "json":
        return
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=logging.INFO)
    for handler in root.handlers:
        handler.setFormatter(JsonFormatter())


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == HEADER and _GOOD_ID.fullmatch(value):
            return str(value.decode())
    return secrets.token_hex(8)


class RequestId:
    """Gives each HTTP request an id: in the logs (contextvar) and in `X-Request-ID`; with
    `access`, one INFO line per request when it is answered (method, path, status, time)."""

    def __init__(self, app: ASGIApp, access: bool = False) -> None:
        self.app = app
        self.access = access

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        """A plain function that hands back the coroutine to await: a websocket goes straight
        to the app, with no frame of this middleware kept alive for the connection's whole
        life (0.6 KiB a handheld, measured; session 5 in docs/performance.md)."""
        if scope["type"] != "http":
            return self.app(scope, receive, send)
        return self._http(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_id = _request_id(scope)
        token = REQUEST_ID.set(request_id)
        started = time.perf_counter()
        answered: list[int] = []

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                answered.append(message["status"])
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != HEADER]
                message = {**message, "headers": [*headers, (HEADER, request_id.encode())]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if self.access:
                _access(scope, answered[0] if answered else None, started)
            REQUEST_ID.reset(token)


def _access(scope: Scope, status: int | None, started: float) -> None:
    ms = round((time.perf_counter() - started) * 1000, 1)
    method, path = scope.get("method", ""), scope.get("path", "")
    access_log.info(
        "%s %s %s %.1f ms",
        method,
        path,
        status,
        ms,
        extra={"method": method, "path": path, "status": status, "duration_ms": ms},
    )
