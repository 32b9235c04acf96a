"""Photos and clips on an incident (decision 37): a member declares one, uploads its bytes in
chunks (resumable: every answer says how much is stored), and dispatchers, the member and
partners it was escalated to fetch it; a dispatcher exports the incident as a zip bundle.

Refusals (`domain.media.Refused`) become their status in app.py, with `detail` and, for a
chunk at the wrong offset, `received`.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import FileResponse, StreamingResponse
from pydantic import BaseModel, Field
from starlette.background import BackgroundTask

from dispatch_server.api.checked import CheckedRoute
from dispatch_server.deps import Anyone, CtxDep, Dispatcher, Member
from dispatch_server.domain.media import Kind, Refused, byte_range
from dispatch_server.protocol.frames import Id
from dispatch_server.services import bundle, media
from dispatch_server.services.context import Context

router = APIRouter(prefix="/api", tags=["media"], route_class=CheckedRoute)

MAX_OFFSET = 2**31 - 1
REFUSALS: dict[int | str, dict[str, Any]] = {
    403: {"description": "not the reporter nor an accepted responder"},
    404: {"description": "no such incident or media"},
    409: {"description": "a limit (count, time) or a chunk at the wrong offset (`received`)"},
    413: {"description": "larger than DISPATCH_MEDIA_MAX_BYTES or DISPATCH_MEDIA_CHUNK_BYTES"},
    415: {"description": "a content type that is not a photo or clip"},
    422: {"description": "bytes past the size, or the whole does not match sha256"},
}


class DeclareBody(BaseModel):
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$", min_length=64, max_length=64)]
    size: Annotated[int, Field(gt=0, le=2**53)]
    content_type: Annotated[str, Field(min_length=1, max_length=200)]
    kind: Kind
    duration_s: Annotated[float | None, Field(ge=0, le=3600)] = None


@router.post(
    "/incidents/{incident_id}/media",
    status_code=201,
    responses={200: {"description": "already declared: how much is stored"}, **REFUSALS},
)
async def declare(
    incident_id: Id, body: DeclareBody, response: Response, ctx: CtxDep, who: Member
) -> dict[str, Any]:
    """Declare a photo or clip (201), or find the one with the same sha256 (200) to resume
    its upload from `received`."""
    d = media.Declaration(body.sha256, body.size, body.content_type, body.kind, body.duration_s)
    lim = media.limits(ctx.settings)
    row, new = await ctx.writer.run(lambda tx: media.declare(tx, incident_id, who.id, d, lim))
    if not new:
        response.status_code = 200
        try:  # every byte was in before a crash or reload: complete it now
            row = await media.settle(ctx, row)
        except Refused:
            row = await ctx.read(media.row_of, row.id)
    return media.answer(row)


async def _body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it is longer than `limit`: never read
    whole whatever its length."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise Refused(413, f"a chunk may be at most {limit} bytes")
    got = bytearray()
    async for piece in request.stream():
        got += piece
        if len(got) > limit:
            raise Refused(413, f"a chunk may be at most {limit} bytes")
    return bytes(got)


OCTETS = {
    "requestBody": {
        "required": True,
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}


@router.put("/media/{media_id}/content", openapi_extra=OCTETS, responses=REFUSALS)
async def put_content(
    media_id: Id,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="must equal `received`")],
    request: Request,
    ctx: CtxDep,
    who: Member,
) -> dict[str, Any]:
    """The next bytes of the media, raw, at `offset`. When all are in, the server checks the
    sha256 and completes it (`media_attached`), or drops them (422)."""
    data = await _body(request, ctx.settings.media_chunk_bytes)
    row = await ctx.writer.run(lambda tx: media.put_chunk(tx, media_id, who.id, offset, data))
    row = await media.settle(ctx, row)
    return {"media_id": row.id, "received": row.received, "complete": row.completed_at is not None}


async def _stream(ctx: Context, media_id: int, first: int, last: int) -> AsyncIterator[bytes]:
    for offset, length in await ctx.read(media.chunk_index, media_id):
        if offset + length <= first or offset > last:
            continue
        data = await ctx.read(media.chunk_at, media_id, offset)
        yield data[max(0, first - offset) : last + 1 - offset]


@router.get(
    "/media/{media_id}",
    response_class=Response,
    responses={
        200: {"content": {"image/jpeg": {}, "video/webm": {}}, "description": "the bytes"},
        206: {"description": "the range asked for"},
        410: {"description": "deleted after retention"},
        416: {"description": "a range past the end"},
        **REFUSALS,
    },
)
async def get_media(media_id: Id, request: Request, ctx: CtxDep, who: Anyone) -> Response:
    """The bytes of a complete photo or clip, with HTTP Range for a video's seeking: for
    dispatchers, the member who uploaded it, and partners it was escalated to."""
    row = await ctx.read(media.readable, who, media_id)
    asked = byte_range(request.headers.get("range"), row.size)
    first, last = asked if asked is not None else (0, row.size - 1)
    headers = {
        "Content-Length": str(last - first + 1),
        "Accept-Ranges": "bytes",
        "ETag": f'"{row.sha256}"',
        "Cache-Control": "private, max-age=86400",
    }
    if asked is not None:
        headers["Content-Range"] = f"bytes {first}-{last}/{row.size}"
    return StreamingResponse(
        _stream(ctx, media_id, first, last),
        status_code=206 if asked is not None else 200,
        media_type=row.content_type,
        headers=headers,
    )


@router.get("/incidents/{incident_id}/bundle", response_class=FileResponse)
async def export_bundle(incident_id: Id, ctx: CtxDep, _: Dispatcher) -> FileResponse:
    """The incident as a zip: `incident.json`, every photo and clip still held, and
    `manifest.json` with each file's sha256."""
    path, name = await asyncio.to_thread(bundle.build, ctx.reader, incident_id, ctx.clock())
    return FileResponse(
        path,
        media_type="application/zip",
        filename=name,
        background=BackgroundTask(os.unlink, path),
    )
