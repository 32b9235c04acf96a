"""`/ws/console`: every logged event, in seq order, with no gap and no duplicate.

DESIGN.md: a console that reconnects with `hello {token, since: seq}` gets
everything after `seq` first, then live events. The feed subscribes to the bus
before it reads the log, and skips what it has already sent by seq, so the
hand-over from log to live loses nothing and doubles nothing. A console that
falls behind (its bus queue overflows, or a seq is missing) catches up from
the log the same way; nobody else waits for it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from dispatch_server.bus.base import Subscription
from dispatch_server.clock import iso
from dispatch_server.domain.drills import for_console
from dispatch_server.domain.events import Event
from dispatch_server.live.link import (
    Greeted,
    close,
    dumps,
    error_frame,
    handshake,
    receive_text,
    register,
)
from dispatch_server.protocol.codes import CloseCode, ErrorCode
from dispatch_server.protocol.frames import CONSOLE_FRAMES, Welcome
from dispatch_server.protocol.parse import FrameError, parse_frame
from dispatch_server.services.auth import Kind
from dispatch_server.services.context import Context
from dispatch_server.services.views import event_view
from dispatch_server.store.log import events_after, last_seq

PAGE = 500
# Notices (frames that are not logged events, e.g. `grids_changed`) queued per console.
NOTICES_MAX = 16


Shape = Callable[[Event], Awaitable[dict[str, Any] | None]]


async def whole(event: Event) -> dict[str, Any] | None:
    """A console sees every event as it is, but an unannounced drill's marks before it is
    acknowledged (decision 50; domain/drills.py)."""
    return for_console(event_view(event))


class ConsoleFeed:
    """The log, from a cursor on, live after that. `shape` decides what this peer sees of
    each event (None: nothing); the cursor moves past every event either way."""

    def __init__(
        self, ctx: Context, ws: WebSocket, sub: Subscription, cursor: int, shape: Shape = whole
    ) -> None:
        self.ctx = ctx
        self.ws = ws
        self.sub = sub
        self.cursor = cursor  # the last seq this peer has been sent (or shown nothing of)
        self.shape = shape
        # Events and notices go out from two tasks: one frame at a time.
        self.sending = asyncio.Lock()

    async def send(self, event: Event) -> None:
        frame = await self.shape(event)
        if frame is not None:
            await self._send_frame(frame)
        self.cursor = event.seq

    async def tell(self, notices: asyncio.Queue[dict[str, Any]]) -> None:
        """Notices as they come, between events: they carry no seq (docs/protocol.md)."""
        while True:
            await self._send_frame(await notices.get())

    async def _send_frame(self, frame: dict[str, Any]) -> None:
        async with self.sending, asyncio.timeout(self.ctx.settings.send_timeout_s):
            await self.ws.send_text(dumps(frame))

    async def catch_up(self) -> None:
        while True:
            page = await self.ctx.read(events_after, self.cursor, PAGE)
            for event in page:
                await self.send(event)
            if len(page) < PAGE:
                return

    async def run(self) -> None:
        await self.catch_up()
        while True:
            event = await self.sub.next()
            if event is None:  # lagged: the bus dropped events for us
                self.ctx.console_resyncs += 1
                self.sub.reset()
                await self.catch_up()
            elif event.seq <= self.cursor:
                continue  # already sent from the log
            elif event.seq != self.cursor + 1:
                await self.catch_up()  # a gap: the log has what the bus did not bring
            else:
                await self.send(event)


async def _refuse_input(ws: WebSocket, socket: str) -> None:
    """The feed only listens after hello; anything said gets an error naming the frame it
    answers (`ref_type`), then we go on."""
    while (payload := await receive_text(ws)) is not None:
        frame = error_frame(_refusal(payload, socket))
        with contextlib.suppress(RuntimeError, OSError, WebSocketDisconnect):
            await ws.send_text(frame.wire_json())


def _refusal(payload: str | bytes, socket: str) -> FrameError:
    if isinstance(payload, bytes):
        return FrameError(ErrorCode.BINARY_FRAME, "frames are JSON text, not binary")
    try:
        parse_frame(CONSOLE_FRAMES, payload)
    except FrameError as exc:
        if exc.code is not ErrorCode.UNKNOWN_TYPE:
            return exc
        return replace(exc, message=f"the {socket} socket takes only hello; commands go over REST")
    return FrameError(ErrorCode.INVALID_FRAME, "already said hello", "hello")


async def console_socket(ws: WebSocket, ctx: Context) -> None:
    greeted = await handshake(ws, ctx, CONSOLE_FRAMES, {Kind.DISPATCHER, Kind.ADMIN})
    if greeted is None:
        return
    ctx.consoles += 1
    ctx.scheduler.wake()  # the duty room watch (services/duty_room.py) looks again
    notices: asyncio.Queue[dict[str, Any]] = asyncio.Queue(NOTICES_MAX)
    ctx.console_notices.add(notices)
    try:
        await serve_feed(ws, ctx, greeted, whole, "console", notices)
    finally:
        ctx.console_notices.discard(notices)
        ctx.consoles -= 1
        ctx.scheduler.wake()


class Shut:
    """How an administrator's revocation closes a feed (live/sessions.py): the feed stops, then
    the socket is closed with the code given."""

    def __init__(self) -> None:
        self.said: asyncio.Future[tuple[int, str]] = asyncio.get_running_loop().create_future()

    def shut(self, code: int, reason: str) -> None:
        if not self.said.done():
            self.said.set_result((code, reason))


async def serve_feed(
    ws: WebSocket,
    ctx: Context,
    greeted: Greeted,
    shape: Shape,
    socket: str,
    notices: asyncio.Queue[dict[str, Any]] | None = None,
) -> None:
    """welcome, then the feed from `since`, until the peer goes or its token is revoked
    (consoles and partners); with `notices`, those too."""
    principal, hello, _ = greeted
    sub = ctx.bus.subscribe(ctx.settings.console_queue)
    shut = Shut()
    try:
        await register(ctx, greeted, shut)
        head = await ctx.read(last_seq)
        welcome = Welcome(
            dispatcher_id=principal.id if principal.kind is Kind.DISPATCHER else None,
            server_time=iso(ctx.clock()),
            last_seq=head,
        )
        await ws.send_text(welcome.model_dump_json(exclude_none=True))
        since = hello.since if hello.since is not None else head
        if since > head:
            # A seq from another database (or the future): replay all rather than miss any.
            since = 0
        feed = ConsoleFeed(ctx, ws, sub, since, shape)
        async with asyncio.TaskGroup() as tasks:
            feeding = tasks.create_task(feed.run())
            telling = tasks.create_task(feed.tell(notices)) if notices is not None else None
            listening = tasks.create_task(_refuse_input(ws, socket))
            either: list[asyncio.Future[Any]] = [listening, shut.said]
            await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
            feeding.cancel()
            listening.cancel()
            if telling is not None:
                telling.cancel()
        if shut.said.done():
            await close(ws, *shut.said.result())
    except* TimeoutError:
        await close(ws, CloseCode.RESYNC, "send timed out; reconnect with since")
    except* (WebSocketDisconnect, RuntimeError, OSError):
        pass  # the console went away mid-send; it resumes with `since`
    finally:
        ctx.sessions.detach(principal, shut)
        ctx.bus.unsubscribe(sub)
