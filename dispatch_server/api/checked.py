"""The REST edge: what every API route refuses before FastAPI reads the request.

A JSON body goes through the same strict reader as a websocket frame
(protocol/strict_json.py): not UTF-8, `NaN`/`Infinity`, a number out of range, a lone
surrogate, U+0000 or deep nesting is a 422 that says so, instead of a value that breaks
the database, the error response or the log further in. A path or query parameter may not
hold U+0000 either (PostgreSQL text cannot). Ids are bounded by their type
(`protocol.frames.Id`), so FastAPI refuses a huge one like any other bad parameter.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from email.message import Message
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from dispatch_server.protocol.strict_json import NotJson, loads


class CheckedRoute(APIRoute):
    """The route class of every API router and of the app's own routes (app.py)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        takes_body = self.body_field is not None

        async def checked(request: Request) -> Response:
            problems = _parameter_problems(request)
            if takes_body:
                problems += await _body_problems(request)
            if problems:
                raise RequestValidationError(problems)
            return await handler(request)

        return checked


def _parameter_problems(request: Request) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    places = (("path", request.path_params.items()), ("query", request.query_params.multi_items()))
    for where, items in places:
        for name, value in items:
            if isinstance(value, str) and "\x00" in value:
                found.append(_problem("string_nul", (where, name), "may not contain U+0000 (NUL)"))
    return found


async def _body_problems(request: Request) -> list[dict[str, Any]]:
    body = await request.body()
    if not body:
        return []  # FastAPI says what is missing
    if not _is_json(request.headers.get("content-type")):
        return [
            _problem("content_type", ("body",), "send JSON, with Content-Type: application/json")
        ]
    try:
        loads(body)
    except NotJson as exc:
        return [_problem("json_invalid", ("body",), f"not valid JSON: {exc}")]
    return []


def _is_json(content_type: str | None) -> bool:
    if not content_type:
        return False
    message = Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


def _problem(kind: str, loc: tuple[str, ...], msg: str) -> dict[str, Any]:
    """In FastAPI's own shape, so a client reads every 422 alike."""
    return {"type": kind, "loc": loc, "msg": msg, "input": None}
