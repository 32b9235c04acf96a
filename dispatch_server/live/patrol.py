"""`/ws/patrol`: one handheld's session, from hello to close.

The reader parses each frame and hands it to a service; it never waits on the
database for one alarm before reading the next (each alarm is its own task in
the session's task group, so a burst from one handheld shares a group commit).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from sqlalchemy import Connection, select
from starlette.websockets import WebSocket

from dispatch_server.clock import iso
from dispatch_server.domain.errors import Conflict, NotFound
from dispatch_server.domain.incidents import ACTIVE, Incident, Reply, ResponderStatus
from dispatch_server.domain.roster import Fix
from dispatch_server.live.link import Link, error_frame, handshake, receive_text, register
from dispatch_server.protocol.codes import ErrorCode
from dispatch_server.protocol.frames import (
    PATROL_FRAMES,
    Alert,
    AlertCategory,
    AlertCategoryRecorded,
    AssignmentRecorded,
    AssignmentReply,
    AssignmentStatus,
    AssignmentStatusRecorded,
    CheckInFrame,
    CheckInRecorded,
    Heartbeat,
    Hello,
    Position,
    RollCallRecorded,
    RollCallReply,
    ServerFrame,
    ShiftEnd,
    ShiftStart,
    ShiftState,
    Welcome,
)
from dispatch_server.protocol.parse import FrameError, parse_frame
from dispatch_server.services import check_ins, drills, incidents, people, roll_calls
from dispatch_server.services.auth import Kind
from dispatch_server.services.context import Context
from dispatch_server.services.frames import alert_update_for, assignment_for
from dispatch_server.services.intake import raise_alarm
from dispatch_server.store.tables import ASSIGNMENT, INCIDENT

log = logging.getLogger(__name__)


RECENT_S = 24 * 3600.0


def _reported(conn: Connection, member_id: int, resolved_after: float) -> list[Incident]:
    """The member's own alarms still open or resolved lately: their state is re-sent on hello,
    so a handheld that was offline learns what happened to its alarm."""
    q = (
        select(INCIDENT.c.id)
        .where(
            INCIDENT.c.reporter_id == member_id,
            INCIDENT.c.status.in_([s.value for s in ACTIVE])
            | (INCIDENT.c.resolved_at >= resolved_after),
        )
        .order_by(INCIDENT.c.id)
    )
    return [incidents.load(conn, i) for i in list(conn.execute(q).scalars())]


def _pending_assignments(conn: Connection, member_id: int) -> list[int]:
    """Incidents this member was called to and has not answered: re-sent on every hello."""
    q = (
        select(ASSIGNMENT.c.incident_id)
        .join(INCIDENT, INCIDENT.c.id == ASSIGNMENT.c.incident_id)
        .where(
            ASSIGNMENT.c.member_id == member_id,
            ASSIGNMENT.c.reply == Reply.PENDING.value,
            INCIDENT.c.status.in_([s.value for s in ACTIVE]),
        )
        .order_by(ASSIGNMENT.c.incident_id)
    )
    return list(conn.execute(q).scalars())


# Frames waiting in a session's ordered lane; beyond this a frame is refused, not queued.
LANE_MAX = 64
# What a domain Conflict means, by the frame that met it (default: `conflict`).
CONFLICT_CODES = {
    "assignment_reply": ErrorCode.NOT_ASSIGNED,
    "assignment_status": ErrorCode.NOT_ASSIGNED,
    "roll_call_reply": ErrorCode.NOT_CALLED,
}
Answer = ServerFrame | None
Work = Callable[[Any], Awaitable[Answer]]


def _alert_id(frame: object) -> str | None:
    """The alarm an error frame names: only on the error path (a UUID's text costs a call)."""
    return str(frame.alert_id) if isinstance(frame, Alert | AlertCategory) else None


class PatrolSession:
    """One handheld's frames, taken in the order sent (DESIGN.md: "one socket's frames take
    effect in the order they were sent").

    Every frame but an alarm goes through one ordered lane: a `position` sent right after
    `shift_start` waits for the shift to be committed, never overtakes it. Alarms take
    their own way at once (a task each, in the order read, so they reach the writer in
    order and share its group commit): an alarm never waits behind a slow frame of
    another kind.

    Each frame's work returns the answer to send, or raises; `_answer` is the one place
    that turns what it raised into an error frame.
    """

    def __init__(self, ctx: Context, member_id: int, link: Link, tasks: asyncio.TaskGroup) -> None:
        self.ctx = ctx
        self.member_id = member_id
        self.link = link
        self.tasks = tasks
        # The ordered lane: frames waiting, and the task taking them while there are any. The
        # task ends when the lane is empty, so an idle handheld costs no task (a thousand
        # idle handhelds are the normal case).
        # (A list, not a deque: at most LANE_MAX short, and an empty deque is ten times the
        # size of an empty list, times every handheld connected.)
        self._lane: list[tuple[Any, Work]] = []
        self._taker: asyncio.Task[None] | None = None
        self._backlog: asyncio.Task[None] | None = None
        # Alarms not yet answered, by alert_id: an `alert_category` sent right behind its
        # alarm waits for it (alarms do not take the lane), so it is applied after the alarm.
        self._alarms: dict[str, asyncio.Task[None]] = {}

    async def _take(self) -> None:
        while self._lane:
            await self._answer(*self._lane[0])
            del self._lane[0]  # only now: the lane counts the frame being worked on
        self._taker = None  # nothing awaited since the lane was seen empty: none is missed

    def send_backlog(self) -> None:
        """What the handheld missed, paged beside the reader (`_send_backlog`); the task is
        forgotten once done, so a long-connected handheld does not keep it."""
        self._backlog = self.tasks.create_task(_send_backlog(self.ctx, self.member_id, self.link))
        self._backlog.add_done_callback(self._backlog_done)

    def _backlog_done(self, _: asyncio.Task[None]) -> None:
        self._backlog = None

    async def finish(self) -> None:
        """What the handheld sent before it went is still carried out; what it missed and
        has not been sent yet no longer needs to be."""
        if self._backlog is not None:
            self._backlog.cancel()
        if self._taker is not None:
            await self._taker

    def _in_order(self, frame: Any, work: Work) -> None:
        if len(self._lane) >= LANE_MAX:
            message = f"{LANE_MAX} frames are still waiting; send this one again later"
            self._error(FrameError(ErrorCode.UNAVAILABLE, message, frame.type))
            return
        self._lane.append((frame, work))
        if self._taker is None:
            self._taker = self.tasks.create_task(self._take())

    async def read_until_closed(self, ws: WebSocket) -> None:
        roster = self.ctx.roster
        while True:
            if self.link.behind():
                await asyncio.sleep(0)  # let the pump send what is queued (Link.behind)
            if (payload := await receive_text(ws)) is None:
                return
            roster.link_up(self.member_id, self.ctx.clock())
            if roster.marked_offline[roster.row[self.member_id]]:
                self.ctx.scheduler.wake()  # back: the supervision check says so now
            if isinstance(payload, bytes):
                self._error(FrameError(ErrorCode.BINARY_FRAME, "frames are JSON text, not binary"))
                continue
            try:
                frame = parse_frame(PATROL_FRAMES, payload)
            except FrameError as exc:
                self._error(exc)
                continue
            self.handle(frame)

    def handle(self, frame: object) -> None:
        match frame:
            case Alert():
                self._raise(frame)
            case AlertCategory():
                self._in_order(frame, self._category)
            case AssignmentStatus():
                self._in_order(frame, self._status)
            case Position():
                self._in_order(frame, self._position)
            case ShiftStart() | ShiftEnd():
                self._in_order(frame, self._shift)
            case AssignmentReply():
                self._in_order(frame, self._reply)
            case RollCallReply():
                self._in_order(frame, self._roll_call)
            case Heartbeat():
                pass  # being heard is all it is for (see read_until_closed)
            case CheckInFrame():
                self._in_order(frame, self._check_in)
            case Hello():
                self._error(FrameError(ErrorCode.INVALID_FRAME, "already said hello", "hello"))

    def _raise(self, alert: Alert) -> None:
        alert_id = str(alert.alert_id)
        task = self.tasks.create_task(self._alarm(alert, alert_id, time.perf_counter()))
        self._alarms[alert_id] = task  # a retry's task is later in the writer's queue

    async def _alarm(self, alert: Alert, alert_id: str, received: float) -> None:
        """The alarm's work and answer, then its entry in `_alarms` dropped from inside its
        own task: a done-callback would cost a closure and one more loop callback an alarm
        (session 6 in docs/performance.md). An `alert_category` that finds no entry comes
        after the alarm's commit either way."""
        try:
            work = partial(raise_alarm, self.ctx, self.member_id, received=received)
            await self._answer(alert, work)
        finally:
            if self._alarms.get(alert_id) is asyncio.current_task():
                del self._alarms[alert_id]

    async def _answer(self, frame: Any, work: Work) -> None:
        """Do one frame's work and send its answer; whatever it raised becomes an error frame
        that names the frame (and its alarm or incident)."""
        ref: str = frame.type
        incident_id = getattr(frame, "incident_id", None)
        try:
            answer = await work(frame)
        except FrameError as exc:
            self._error(exc)
            return
        except NotFound as exc:
            code, message = ErrorCode.NOT_FOUND, str(exc)
        except Conflict as exc:
            code, message = CONFLICT_CODES.get(ref, ErrorCode.CONFLICT), str(exc)
        except Exception:
            # Not committed (a database away, a bug): say so, so the handheld keeps it and
            # retries; an alarm stays in the handheld's outbox.
            log.exception(
                "%s from member %s failed", ref, self.member_id, extra={"incident_id": incident_id}
            )
            code, message = ErrorCode.UNAVAILABLE, "not recorded; retry"
        else:
            if answer is not None:
                self.link.send(answer)
            return
        self._error(FrameError(code, message, ref, _alert_id(frame), incident_id))

    def _error(self, exc: FrameError) -> None:
        self.link.send(error_frame(exc))

    async def _position(self, p: Position) -> Answer:
        roster = self.ctx.roster
        if not roster.on_shift[roster.row[self.member_id]]:
            raise FrameError(ErrorCode.NOT_ON_SHIFT, "send shift_start first", "position")
        x, y = self.ctx.grids.projection.to_xy(p.lon, p.lat)
        roster.set_fix(self.member_id, Fix(x, y, p.accuracy_m, self.ctx.clock()))
        return None  # positions are not answered

    async def _shift(self, frame: ShiftStart | ShiftEnd) -> Answer:
        on = isinstance(frame, ShiftStart)
        state = await people.set_shift(self.ctx, self.member_id, on)
        return ShiftState(on_shift=state)

    async def _reply(self, r: AssignmentReply) -> Answer:
        await incidents.reply(self.ctx, r.incident_id, self.member_id, r.accept)
        return AssignmentRecorded(incident_id=r.incident_id, accept=r.accept)

    async def _status(self, s: AssignmentStatus) -> Answer:
        status = ResponderStatus(s.status.value)
        await incidents.responder_status(self.ctx, s.incident_id, self.member_id, status)
        return AssignmentStatusRecorded(incident_id=s.incident_id, status=s.status.value)

    async def _category(self, c: AlertCategory) -> Answer:
        alert_id = str(c.alert_id)
        if (alarm := self._alarms.get(alert_id)) is not None:
            # Its answer (or error) is the alarm's own; only its being over matters here.
            await asyncio.wait([alarm])
        inc = await incidents.change_category(self.ctx, alert_id, self.member_id, c.category.value)
        return AlertCategoryRecorded(
            alert_id=alert_id, incident_id=inc.incident_id, category=inc.category
        )

    async def _check_in(self, _: CheckInFrame) -> Answer:
        await check_ins.check_in(self.ctx, self.member_id)
        return CheckInRecorded(at=iso(self.ctx.clock()))

    async def _roll_call(self, r: RollCallReply) -> Answer:
        await roll_calls.answer(self.ctx, r.roll_call_id, self.member_id, r.status, r.note)
        return RollCallRecorded(roll_call_id=r.roll_call_id, status=r.status)


async def _send_backlog(ctx: Context, member_id: int, link: Link) -> None:
    """What the handheld missed, paged: however many alarms a member has, the backlog never
    overflows the queue (issue 10: 64 of them once locked a member out). It runs beside the
    reader, so an alarm sent right after hello is taken at once."""
    frames: list[ServerFrame] = [
        assignment_for(ctx, inc, member_id)
        for incident_id in await ctx.read(_pending_assignments, member_id)
        if (inc := ctx.active.get(incident_id)) is not None
    ]
    frames += [
        roll_calls.frame(rc)
        for rc in list(ctx.roll_calls.values())
        if member_id in rc.expected and member_id not in rc.answers
    ]
    frames += [drills.frame(d) for d in await ctx.read(drills.pending_for, member_id)]
    for inc in await ctx.read(_reported, member_id, ctx.clock() - RECENT_S):
        if not inc.duress:  # a duress alarm's handheld is told nothing (decision 50)
            frames.append(alert_update_for(ctx, inc))
    for frame in frames:
        if not await link.page(frame):
            return


async def patrol_socket(ws: WebSocket, ctx: Context) -> None:
    greeted = await handshake(ws, ctx, PATROL_FRAMES, {Kind.MEMBER})
    if greeted is None:
        return
    member_id = greeted[0].id
    roster = ctx.roster
    link = Link(ws, ctx.settings.patrol_queue, ctx.settings.send_timeout_s)
    i = roster.row[member_id]
    grid = ctx.grids.grids[roster.grids[i]]
    link.send(
        Welcome(
            member_id=member_id,
            name=roster.name(member_id),
            grid_id=grid.grid_id,
            on_shift=bool(roster.on_shift[i]),
            server_time=iso(ctx.clock()),
            grid={
                "grid_id": grid.grid_id,
                "name_zh": grid.name_zh,
                "name_en": grid.name_en,
                "geometry": grid.feature["geometry"],
            },
        )
    )
    ctx.hub.attach(member_id, link, greeted[0].device_id)
    roster.link_up(member_id, ctx.clock())
    try:
        await register(ctx, greeted, link)
        async with asyncio.TaskGroup() as tasks:
            pump = tasks.create_task(link.pump())
            session = PatrolSession(ctx, member_id, link, tasks)
            session.send_backlog()
            await session.read_until_closed(ws)
            await session.finish()
            pump.cancel()
    finally:
        ctx.sessions.detach(greeted.principal, link)
        if ctx.hub.detach(member_id, link):
            roster.socket_closed(member_id, ctx.clock())
