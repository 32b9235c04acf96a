"""Fuzzing every REST route of the app's OpenAPI document as a property, on a real server.

Each hypothesis example sends one request to every route in the document, each with one
fault the route must refuse: no token, an unknown one or one of the wrong kind; a path or
query parameter that cannot be read (huge and negative ids, fractions, NaN, U+0000, words
outside an enum, dates that do not exist); a body with a field of the wrong type or out
of range, a required field missing, NaN, Infinity, a lone surrogate or U+0000 anywhere,
deep nesting, an integer of thousands of digits, bytes that are not UTF-8, broken JSON,
something that is not an object, or no JSON content type. The rest of the request is
valid (ids of a real incident and roll call, known grids), dressed with unknown query
parameters and body fields.

The property: no answer is a 5xx; every request with a fault gets a 4xx with a `detail`;
and nothing is written by any of them (the whole database is the same after each one).
The routes exercised are exactly the routes in the document.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from dispatch_server.protocol.frames import MAX_ID
from tests.dispatch_server.api.conftest import MEMBER_PATHS, Scene
from tests.support.fuzz import (
    GIANT_INTEGERS,
    TEXT_CHARS,
    Schemas,
    encode,
    json_values,
    quietly,
    refused_values,
)

T = TypeVar("T")
EXAMPLES = 50  # each one request per route
VALID_EXAMPLES = 20


@dataclass(frozen=True)
class Request:
    route: tuple[str, str]  # method and path template, as in the document
    fault: str | None  # None: the route takes no input that could be wrong
    url: str
    params: list[tuple[str, str]]
    headers: dict[str, str]
    content: bytes | None


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    op: dict[str, Any]

    @property
    def parameters(self) -> list[dict[str, Any]]:
        return list(self.op.get("parameters", []))

    @property
    def body(self) -> dict[str, Any] | None:
        body = self.op.get("requestBody")
        if body is None or "application/json" not in body["content"]:
            return None
        return dict(body["content"]["application/json"]["schema"])

    @property
    def raw(self) -> bool:
        """The body is raw bytes (a media upload's chunk), not JSON."""
        return "application/octet-stream" in self.op.get("requestBody", {}).get("content", {})

    @property
    def member(self) -> bool:
        """For a member's token (the phone page's alarms and uploads)."""
        return bool(MEMBER_PATHS.match(self.path))

    @property
    def secured(self) -> bool:
        return bool(self.op.get("security"))

    @property
    def partner(self) -> bool:
        return self.path.startswith("/api/partner/")


def _routes(openapi: dict[str, Any]) -> list[Route]:
    return [Route(m.upper(), p, op) for p, ops in openapi["paths"].items() for m, op in ops.items()]


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@st.composite
def requests(
    draw: st.DrawFn, route: Route, schemas: Schemas, scene: Scene, faulty: bool = True
) -> Request:
    path_params = [p for p in route.parameters if p["in"] == "path"]
    query_params = [p for p in route.parameters if p["in"] == "query"]
    body_schema = route.body
    faults = (
        (["auth", "auth"] if route.secured else [])
        + (["path"] * 2 if path_params else [])
        + (["query"] * 2 if query_params else [])
        + (
            ["body_value"] * 3 + ["body_refused", "body_missing", "body_text"]
            if body_schema
            else []
        )
        + (["body_raw"] if route.raw else [])
    )
    fault = draw(st.sampled_from(faults)) if faults and faulty else None

    # The valid request.
    own = scene.token_for(route.path)
    headers = {"Authorization": f"Bearer {own}"}
    values: dict[str, str] = {}
    for p in path_params:
        if p["name"] == "incident_id":
            ids = [scene.incident_id, 1, 2, 999, MAX_ID]
            values["incident_id"] = str(draw(st.sampled_from(ids)))
        elif p["name"] == "roll_call_id":
            ids = [scene.roll_call_id, 1, 999, MAX_ID]
            values["roll_call_id"] = str(draw(st.sampled_from(ids)))
        elif p["name"] == "member_id":
            values["member_id"] = str(draw(st.sampled_from([scene.member_id, 1, 999, MAX_ID])))
        elif p["name"] == "device_id":
            values["device_id"] = str(draw(st.sampled_from([scene.device_id, 1, 999, MAX_ID])))
        elif p["name"] == "media_id":
            values["media_id"] = str(draw(st.sampled_from([scene.media_id, 1, 999, MAX_ID])))
        elif p["name"] == "grid_id":
            values["grid_id"] = draw(st.sampled_from(["G01", "G02", "G10"]))
        else:
            values[p["name"]] = _as_text(draw(schemas.valid(p["schema"])))
    params: list[tuple[str, str]] = []
    for p in query_params:
        value = draw(st.none() | schemas.valid(p["schema"]))
        if value is not None:
            params.append((p["name"], _as_text(value)))
    body: Any = draw(schemas.valid(body_schema)) if body_schema else None
    content_type: str | None = "application/json"

    # Valid dressing.
    for key, value in draw(
        st.lists(
            st.tuples(st.text(TEXT_CHARS, min_size=1, max_size=5), st.text(TEXT_CHARS, max_size=5)),
            max_size=2,
        )
    ):
        params.append(("x_" + key, value))
    if isinstance(body, dict):
        for key, value in draw(
            st.lists(st.tuples(st.text(TEXT_CHARS, max_size=5), json_values()), max_size=2)
        ):
            body["x_" + key] = value

    # The fault.
    text: bytes | None = None
    if fault == "auth":
        headers["Authorization"] = draw(
            st.sampled_from(
                [
                    "",
                    "Bearer",
                    "Bearer nobody-has-this-token",
                    "Basic dXNlcjpwYXNz",
                    *(f"Bearer {t}" for t in _refused_tokens(route, scene)),
                ]
            )
        )
        if not headers["Authorization"]:
            del headers["Authorization"]
    elif fault == "path":
        p = draw(st.sampled_from(path_params))
        values[p["name"]] = draw(schemas.wrong_text(p["schema"]))
    elif fault == "query":
        p = draw(st.sampled_from(query_params))
        params = [(k, v) for k, v in params if k != p["name"]]
        params.append((p["name"], draw(schemas.wrong_text(p["schema"]))))
    elif fault == "body_value":
        body = draw(_wrong_somewhere(body, body_schema, schemas))
    elif fault == "body_refused":
        body = draw(_refused_somewhere(body))
    elif fault == "body_missing":
        required = schemas.resolve(body_schema or {}).get("required", [])
        if isinstance(body, dict) and required:
            del body[draw(st.sampled_from(required))]
        else:
            text = b""
    elif fault == "body_text":
        raw = encode(body).encode()
        how = draw(
            st.sampled_from(["utf8", "truncate", "append", "bracket", "comma", "type", "deep"])
        )
        if how == "utf8":
            at = draw(st.integers(0, len(raw)))
            text = (
                raw[:at]
                + draw(st.sampled_from([b"\xff", b"\xed\xa0\x80", b"\xc3", b"\x80"]))
                + raw[at:]
            )
        elif how == "truncate":
            text = raw[: draw(st.integers(0, len(raw) - 1))] or b" "
        elif how == "append":
            text = raw + draw(st.sampled_from([b"x", b"}", b"]", b",", b"0"]))
        elif how == "bracket":
            text = (b"[" if raw[:1] == b"{" else b"{") + raw[1:]
        elif how == "comma":
            text = raw[:-1] + b",}"
        elif how == "deep":
            depth = draw(st.integers(33, 50_000))
            text = b"[" * depth + b"]" * depth
        else:
            text = raw
            content_type = draw(
                st.sampled_from([None, "text/plain", "application/x-www-form-urlencoded"])
            )
    if route.raw:  # a chunk of bytes; too long for the server to take, as the fault
        text = draw(st.binary(max_size=64))
        if fault == "body_raw":
            text = bytes(scene.server.settings.media_chunk_bytes + draw(st.integers(1, 4096)))
        content_type = "application/octet-stream"
    if body_schema is not None and text is None:
        text = encode(body, ascii_only=draw(st.booleans())).encode()
    if text is not None and content_type:
        headers["Content-Type"] = content_type
    url = route.path.format(**{k: quote(v, safe="") for k, v in values.items()})
    return Request((route.method, route.path), fault, url, params, headers, text)


def _refused_tokens(route: Route, scene: Scene) -> list[str]:
    """Tokens of a kind (or a subject) this route refuses, whatever the rest says."""
    if route.partner:
        return [scene.member_token, scene.dispatcher_token]
    if route.path == "/api/whoami":
        return []  # any valid token may ask who it is
    if route.path == "/api/alarms":
        # Any member may raise an alarm; nobody else may.
        return [scene.server.api.admin_token, scene.dispatcher_token, scene.partner_token]
    if route.member:
        return [scene.other_member_token, scene.dispatcher_token, scene.partner_token]
    if route.path == "/api/media/{media_id}":
        # The member uploaded the scene's photo and the partner was escalated to: both may.
        return [scene.other_member_token]
    return [scene.member_token, scene.partner_token]


@st.composite
def _wrong_somewhere(draw: st.DrawFn, value: Any, schema: Any, schemas: Schemas) -> Any:
    """The value with one node (itself, a property, an item) replaced by a wrong one."""
    s = schemas.resolve(schema)
    props = s.get("properties", {})
    if isinstance(value, dict) and props and draw(st.booleans()):
        key = draw(st.sampled_from(sorted(props)))
        inner = value.get(key)
        if inner is not None and draw(st.booleans()):
            value[key] = draw(_wrong_somewhere(inner, props[key], schemas))
        else:
            value[key] = draw(schemas.wrong(props[key], lax=True))
        return value
    items = s.get("items")
    if isinstance(value, list) and value and items and draw(st.booleans()):
        i = draw(st.integers(0, len(value) - 1))
        value[i] = draw(_wrong_somewhere(value[i], items, schemas))
        return value
    return draw(schemas.wrong(schema, lax=True))


@st.composite
def _refused_somewhere(draw: st.DrawFn, value: Any) -> Any:
    """The value with something the strict reader refuses put in it, or giant digits."""
    bad = draw(refused_values() | GIANT_INTEGERS)
    if isinstance(value, dict):
        key = draw(st.sampled_from(sorted(value) or ["x"]) | st.text(TEXT_CHARS, max_size=4))
        value[key] = bad
    elif isinstance(value, list):
        value.insert(draw(st.integers(0, len(value))), bad)
    else:
        value = [bad]
    return value


def _check(request: Request, response: httpx.Response) -> None:
    where = (
        request.route,
        request.fault,
        request.url,
        request.params,
        request.headers,
        request.content,
    )
    assert response.status_code < 500, (response.status_code, response.text, where)
    if request.fault is not None:
        assert 400 <= response.status_code < 500, (response.status_code, response.text, where)
        assert response.json()["detail"], (response.text, where)


# Each example sends one request to every route, and this session's admin, grid, drill,
# KPI and watch routes doubled them: on PostgreSQL the run came to the default 120 s.
@pytest.mark.timeout(360)
async def test_every_route_refuses_malformed_input_and_writes_nothing(scene: Scene) -> None:
    routes = _routes(scene.openapi)
    schemas = Schemas(scene.openapi)
    loop = asyncio.get_running_loop()
    client = httpx.AsyncClient(base_url=scene.server.base, timeout=10)
    before = scene.snapshots.take(digest=True)
    exercised: set[tuple[str, str]] = set()
    sent = 0

    def run(coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, loop).result(60)

    async def send(request: Request) -> httpx.Response:
        return await client.request(
            request.route[0],
            request.url,
            params=request.params,
            headers=request.headers,
            content=request.content,
        )

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        # No shrinking: each step would replay requests against the server for minutes; the
        # failing assertion names the request and the answer.
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(st.tuples(*(requests(r, schemas, scene) for r in routes)))
    def fuzz(batch: tuple[Request, ...]) -> None:
        nonlocal sent
        for request in batch:
            was = scene.snapshots.take(digest=True)
            response = run(send(request))
            _check(request, response)
            exercised.add(request.route)
            sent += 1
            now = scene.snapshots.take(digest=True)
            assert now == was, (request, response.status_code, response.text)

    try:
        await asyncio.to_thread(quietly, fuzz)
    finally:
        await client.aclose()
    assert exercised == {(r.method, r.path) for r in routes}
    assert scene.snapshots.take(digest=True) == before
    assert sent >= EXAMPLES * len(routes)
    print(f"sent {sent} malformed requests to {len(routes)} routes")


async def test_valid_extremes_are_never_a_500(scene: Scene) -> None:
    """The other half: requests that are valid in form, with extreme values (the largest
    ids, tiny and huge timeouts, odd text, the first and last days of the calendar). They may
    be taken (and write) or refused (404, 409, 422), but never break the server."""
    routes = _routes(scene.openapi)
    schemas = Schemas(scene.openapi)
    loop = asyncio.get_running_loop()
    client = httpx.AsyncClient(base_url=scene.server.base, timeout=10)
    statuses: dict[int, int] = {}

    @settings(
        max_examples=VALID_EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(st.tuples(*(requests(r, schemas, scene, faulty=False) for r in routes)))
    def fuzz(batch: tuple[Request, ...]) -> None:
        for request in batch:
            coro = client.request(
                request.route[0],
                request.url,
                params=request.params,
                headers=request.headers,
                content=request.content,
            )
            response = asyncio.run_coroutine_threadsafe(coro, loop).result(60)
            _check(request, response)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

    try:
        await asyncio.to_thread(quietly, fuzz)
    finally:
        await client.aclose()
    assert any(200 <= s < 300 for s in statuses), statuses
    print(f"statuses of {sum(statuses.values())} valid requests: {sorted(statuses.items())}")
