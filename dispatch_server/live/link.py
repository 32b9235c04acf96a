"""The two halves every socket shares: the hello handshake, and a bounded sender."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any, NamedTuple, TypeVar

from pydantic import TypeAdapter
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from dispatch_server.live.sessions import Closable
from dispatch_server.protocol.codes import CloseCode
from dispatch_server.protocol.frames import ErrorFrame, Hello, ServerFrame
from dispatch_server.protocol.parse import FrameError, parse_frame
from dispatch_server.services.auth import Kind, Principal
from dispatch_server.services.context import Context

log = logging.getLogger(__name__)
T = TypeVar("T")


def dumps(frame: dict[str, Any]) -> str:
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"))


def error_frame(exc: FrameError) -> ErrorFrame:
    return ErrorFrame(
        code=exc.code.value,
        message=exc.message,
        ref_type=exc.ref_type,
        alert_id=exc.alert_id,
        incident_id=exc.incident_id,
    )


async def close(ws: WebSocket, code: int, reason: str) -> None:
    if ws.application_state is WebSocketState.CONNECTED:
        # The peer may already be gone; then there is nobody to tell.
        with contextlib.suppress(RuntimeError, OSError):
            await ws.close(code, reason[:120])


async def receive_text(ws: WebSocket) -> str | bytes | None:
    """The next frame's payload, or None once the peer has gone."""
    try:
        message = await ws.receive()
    except WebSocketDisconnect:
        return None
    if message["type"] == "websocket.disconnect":
        return None
    text = message.get("text")
    return text if text is not None else message.get("bytes") or b""


class Greeted(NamedTuple):
    principal: Principal
    hello: Hello
    # How many revocations this instance had folded before the token was checked.
    seen: int


async def register(ctx: Context, greeted: Greeted, socket: Closable) -> None:
    """Count the socket among its account's (live/sessions.py), so that revoking the account's
    tokens closes it; if a revocation was folded since its token was checked, check again."""
    if ctx.sessions.attach(greeted.principal, socket, greeted.seen):
        return
    if await ctx.authenticate(greeted.hello.token) is None:
        socket.shut(CloseCode.UNAUTHORIZED, "token revoked")


async def handshake(
    ws: WebSocket, ctx: Context, adapter: TypeAdapter[Any], allowed: set[Kind]
) -> Greeted | None:
    """DESIGN.md: the first frame is `hello {token}`; a bad or missing token closes with 4401
    within 5 s, a token of the wrong kind with 4403."""
    await ws.accept()
    try:
        async with asyncio.timeout(ctx.settings.hello_timeout_s):
            payload = await receive_text(ws)
    except TimeoutError:
        await close(ws, CloseCode.UNAUTHORIZED, "no hello in time")
        return None
    if payload is None:
        return None
    if isinstance(payload, bytes):  # text frames only, from the first one on
        await close(ws, CloseCode.UNAUTHORIZED, "first frame must be hello {token}, as text")
        return None
    try:
        hello = parse_frame(adapter, payload)
    except FrameError as exc:
        await close(
            ws, CloseCode.UNAUTHORIZED, f"first frame must be hello {{token}}: {exc.message}"
        )
        return None
    if not isinstance(hello, Hello):
        await close(ws, CloseCode.UNAUTHORIZED, "first frame must be hello {token}")
        return None
    seen = ctx.sessions.revocations
    principal = await ctx.authenticate(hello.token)
    if principal is None:
        await close(ws, CloseCode.UNAUTHORIZED, "unknown or revoked token")
        return None
    if principal.kind not in allowed:
        await close(
            ws, CloseCode.FORBIDDEN, f"a {principal.kind.value} token cannot use this socket"
        )
        return None
    return Greeted(principal, hello, seen)


class Link:
    """Frames toward one peer, through a bounded queue drained by `pump`.

    Handlers never await a peer: `send` only queues. A peer that stops reading
    fills its queue and is closed with RESYNC; it reconnects and is brought up
    to date from the log, and nobody else waits for it.
    """

    def __init__(self, ws: WebSocket, maxsize: int, send_timeout_s: float) -> None:
        self._ws = ws
        self._queue: asyncio.Queue[str] = asyncio.Queue(maxsize)
        self._send_timeout_s = send_timeout_s
        self.overflowed = False
        # Set by `shut`: the pump closes with it before sending anything else.
        self._shut: tuple[int, str] | None = None
        # A backlog waiting for the queue to be at most half full (see `page`); made only
        # then, as an idle handheld should cost little.
        self._room: asyncio.Future[None] | None = None

    def behind(self) -> bool:
        """Whether answers are waiting for the pump. A reader checks it before taking the
        next frame: the websocket hands over frames already buffered without ever waiting,
        so a reader answering a burst (one error per bad frame) would otherwise fill the
        queue before the pump sent a single answer, and close a peer that reads everything
        with 4409. Yielding only then keeps a lone alarm from paying a loop turn."""
        return not self._queue.empty()

    def send(self, frame: ServerFrame) -> None:
        try:
            self._queue.put_nowait(frame.wire_json())
        except asyncio.QueueFull:
            # Full means the pump is stuck in a send: it sees this flag when that ends.
            self.overflowed = True
        self._note_room()

    def shut(self, code: int, reason: str) -> None:
        """Close the socket with `code` (a revoked device: 4401), ahead of whatever is still
        queued; the pump does it, as the one task that writes to the socket."""
        self._shut = (code, reason)
        with contextlib.suppress(asyncio.QueueFull):  # full: the pump is about to look
            self._queue.put_nowait("")

    async def page(self, frame: ServerFrame) -> bool:
        """Queue one frame of a backlog (what a handheld missed), waiting while the queue is
        more than half full: a backlog of any length goes out page by page and never fills
        the queue, so live frames keep their room. False when the peer is too slow (the
        link is then closed with RESYNC, like an overflow)."""
        if not self._has_room():
            self._room = asyncio.get_running_loop().create_future()
            try:
                async with asyncio.timeout(self._send_timeout_s):
                    await self._room
            except TimeoutError:
                self.overflowed = True
                return False
            finally:
                self._room = None
        self.send(frame)
        return not self.overflowed

    def _has_room(self) -> bool:
        return self._queue.qsize() * 2 <= self._queue.maxsize

    def _note_room(self) -> None:
        if self._room is not None and not self._room.done() and self._has_room():
            self._room.set_result(None)

    async def pump(self) -> None:
        while True:
            text = await self._queue.get()
            self._note_room()
            if self._shut is not None:
                await close(self._ws, *self._shut)
                return
            if self.overflowed:
                await close(self._ws, CloseCode.RESYNC, "too far behind; reconnect")
                return
            try:
                async with asyncio.timeout(self._send_timeout_s):
                    await self._ws.send_text(text)
            except TimeoutError:
                await close(self._ws, CloseCode.RESYNC, "send timed out; reconnect")
                return
            except (WebSocketDisconnect, RuntimeError, OSError):
                return
