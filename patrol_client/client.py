"""`PatrolClient`: the handheld's engine, for a screen, a button on a small device, or a fleet.

It reconnects forever, whatever broke the link (except when the token is
refused), replays its outbox in order on every link until each alarm is
accepted, reports position while on shift, and keeps what the centre said
(alarm progress, assignments, roll calls) for whatever shows it. Every answer
the user gives while the link is down is kept and sent on the next link.

What each frame means is decided in `patrol_client.core`, which does no I/O; this
module only feeds it and carries out what it returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, WebSocketException
from websockets.uri import parse_uri

from dispatch_server.protocol.frames import ToHandheld, Welcome
from patrol_client.connection import STOPPING_CODES, Backoff, Refused, open_link, patrol_url
from patrol_client.core import (
    RESEND_AFTER_S,
    Effect,
    HandheldCore,
    Link,
    Unknown,
    Wake,
    alarms_due,
    parse,
)
from patrol_client.outbox import Alarm, Outbox
from patrol_client.position import PositionSource

log = logging.getLogger(__name__)

__all__ = ["Link", "PatrolClient"]

# How a link usually dies (logged in one line): refused, reset or timed-out connections
# (OSError, TimeoutError), a server that dies mid-handshake or answers 5xx (InvalidHandshake),
# a dropped link (ConnectionClosed), a short read (EOFError), a welcome that is not one
# (ConnectionError). Any other failure is retried too, but logged with its traceback.
EXPECTED_LINK_ERRORS = (OSError, EOFError, WebSocketException)


async def _wait(event: asyncio.Event, seconds: float) -> None:
    """Until the event is set or the time is up. Not `asyncio.wait_for`: on Python 3.11 it can
    swallow a cancellation that arrives as the event is set, and the task never ends."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()


class PatrolClient:
    def __init__(
        self,
        server: str,
        token: str,
        outbox: Outbox,
        position: PositionSource | None = None,
        *,
        position_every_s: float = 15.0,
        backoff: Backoff | None = None,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self.url = patrol_url(server)
        parse_uri(self.url)  # a URL that can never work fails here, not in a retry loop
        self.token = token
        self.outbox = outbox
        self.position = position
        self.position_every_s = position_every_s
        self.backoff = backoff or Backoff()
        self.core = HandheldCore()
        self.view = self.core.view  # the same object for the client's whole life
        self._on_change_callback = on_change or (lambda: None)
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()

    # --- what the user does -------------------------------------------------------

    async def alarm(self, category: str = "unknown", note: str | None = None) -> Alarm:
        """The red key: durable in the outbox first, then sent as soon as there is a link.
        The press time is taken first, and every send carries it."""
        pressed = time.time()
        fix = self.position.fix() if self.position else None
        where = (fix.lon, fix.lat, fix.accuracy_m) if fix else None
        # The press the centre asked for with a `drill` frame answers that drill (decision 50).
        drill, self.view.drill_id = self.view.drill_id, None
        alarm = await asyncio.to_thread(self.outbox.add, category, note, where, pressed, drill)
        self._poke()
        return alarm

    def set_shift(self, on: bool) -> None:
        if self.core.set_shift(on):
            self._poke()

    def answer_assignment(self, incident_id: int, accept: bool) -> None:
        if self.core.answer_assignment(incident_id, accept):
            self._poke()

    def tell_status(self, incident_id: int, status: str) -> None:
        """From the scene: `arrived`, then `done`. Sent now, or on the next link."""
        if self.core.tell_status(incident_id, status):
            self._poke()

    def answer_roll_call(self, roll_call_id: int, status: str) -> None:
        if self.core.answer_roll_call(roll_call_id, status):
            self._poke()

    def check_in(self) -> None:
        """Lone-worker mode: "I am fine". Sent now, or on the next link."""
        if self.core.check_in():
            self._poke()

    def stop(self) -> None:
        self._stop.set()
        self._poke()

    # --- the loop -------------------------------------------------------------------

    async def run(self) -> None:
        """Until stop(); raises Refused (after showing why) when the token is refused.

        Nothing else ends it: a handheld whose outbox holds an alarm must keep trying, so
        every other failure of a link (connect, handshake, hello, the session itself) is
        shown, logged and tried again after a backoff. Only cancellation goes through."""
        while not self._stop.is_set():
            self._set_link(Link.CONNECTING)
            started = time.monotonic()
            try:
                await self._link()
            except Refused as exc:
                self.view.stopped_because = str(exc)
                self._set_link(Link.STOPPED)
                raise
            except Exception as exc:  # everything else is retried: see the docstring
                self._failed(exc)
            self.backoff.link_lasted(time.monotonic() - started)
            self._set_link(Link.OFFLINE)
            if not self._stop.is_set():
                await _wait(self._stop, self.backoff.next_delay())
        self._set_link(Link.STOPPED)

    async def _link(self) -> None:
        """One link: connect, hello, then the session until it ends."""
        ws, welcome = await open_link(self.url, self.token)
        try:
            await self._session(ws, welcome)
        finally:
            # The link may be dead already; closing it cannot fail in a way that matters.
            with contextlib.suppress(Exception):
                await ws.close()

    def _failed(self, exc: Exception) -> None:
        self.view.last_error = f"{type(exc).__name__}: {exc}"
        if isinstance(exc, EXPECTED_LINK_ERRORS):
            log.info("link to %s lost (%s); trying again", self.url, self.view.last_error)
        else:
            # Not a network failure we know (a frame we cannot read, say): still tried again,
            # since giving up would strand the outbox, but with the whole story in the log.
            log.warning("link to %s failed; trying again", self.url, exc_info=exc)

    async def _session(self, ws: ClientConnection, welcome: Welcome) -> None:
        self.core.welcome(welcome)
        if self.position is not None and hasattr(self.position, "on_welcome"):
            self.position.on_welcome(welcome.wire())  # the welcome as it came on the wire
        self._set_link(Link.ONLINE)
        # The link's tasks: whichever ends first (link lost, stop asked) ends them all.
        tasks = [
            asyncio.create_task(self._read(ws)),
            asyncio.create_task(self._send_loop(ws)),
            asyncio.create_task(self._report_positions(ws)),
            asyncio.create_task(self._stop.wait()),
        ]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        for task in done:
            if not task.cancelled() and (exc := task.exception()) is not None:
                raise exc

    async def _send_loop(self, ws: ClientConnection) -> None:
        sent_at: dict[str, float] = {}
        while True:
            self._wake.clear()
            if (shift := self.core.shift_to_send()) is not None:
                await ws.send(json.dumps(shift))
            now = time.monotonic()
            pending = await asyncio.to_thread(self.outbox.pending)
            for alarm in alarms_due(pending, sent_at, now):
                await ws.send(json.dumps(alarm.frame()))
                sent_at[alarm.alert_id] = now
                await asyncio.to_thread(self.outbox.mark_sent, alarm.alert_id)
                self._on_change()
            for answer in self.core.answers_to_send():
                await ws.send(json.dumps(answer))
            await _wait(self._wake, RESEND_AFTER_S / 2)

    async def _report_positions(self, ws: ClientConnection) -> None:
        """While on shift, a position every `position_every_s`, or a heartbeat when there is
        no fix: the centre marks a member offline after three missed beats."""
        while True:
            if self.view.on_shift:
                fix = self.position.fix() if self.position is not None else None
                frame: dict[str, Any] = {"type": "heartbeat"}
                if fix is not None:
                    frame = {"type": "position", "lon": fix.lon, "lat": fix.lat}
                    if fix.accuracy_m is not None:
                        frame["accuracy_m"] = fix.accuracy_m
                await ws.send(json.dumps(frame))
            await asyncio.sleep(self.position_every_s)

    async def _read(self, ws: ClientConnection) -> None:
        try:
            async for raw in ws:
                # Not JSON, or a known frame that is broken, raises and drops the link;
                # a frame of a type this handheld does not know is ignored (see parse).
                await self.handle(parse(raw))
                self._on_change()
        except ConnectionClosed as exc:
            if exc.rcvd is not None and exc.rcvd.code in STOPPING_CODES:
                raise Refused(exc.rcvd.code, exc.rcvd.reason) from None
            raise

    # --- what the centre says -----------------------------------------------------------

    async def handle(self, frame: ToHandheld | Unknown) -> None:
        """One frame from the centre: the core decides, this carries it out."""
        for effect in self.core.receive(frame):
            await self._carry_out(effect)

    async def _carry_out(self, effect: Effect) -> None:
        if isinstance(effect, Wake):
            self._poke()
        else:
            await asyncio.to_thread(self.outbox.apply, effect)

    def _on_change(self) -> None:
        """Tell whatever shows the view. Its failure is its own: the link and the outbox go on."""
        try:
            self._on_change_callback()
        except Exception:
            log.exception("on_change failed")

    def _poke(self) -> None:
        self._wake.set()
        self._on_change()

    def _set_link(self, link: Link) -> None:
        if self.view.link is not link:
            self.view.link = link
            self._on_change()
