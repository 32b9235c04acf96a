"""The append-only log and its single writer, which commits in groups.

Every write in the server goes through `LogWriter.run(job)`: a job is a plain
function run inside the writer's transaction. The writer thread takes every job
waiting, runs each in its own savepoint (a failing job leaves nothing behind and
does not spoil its neighbours), commits them all with one fsync, and only then,
back on the event loop, completes the jobs' futures and hands the batch's
events to `on_commit` (live state and the bus, in seq order) in the same
callback: whoever hears "done" finds live state already up to date.

Why one writer thread rather than async drivers: a group costs one thread hop in
and one out however many statements it runs, where an async SQLite driver pays
a hop per statement; and one writer per process makes commit order equal seq
order, which is what lets consoles trust `seq` (docs/decisions.md).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, select

from dispatch_server.clock import Clock
from dispatch_server.domain.events import Event, EventType, NewEvent
from dispatch_server.store.sql import HotSql, to_json
from dispatch_server.store.tables import EVENT

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class Tx:
    """What a job sees: the open transaction (as a SQLAlchemy connection, and as the raw
    cursor of that same connection for the hot path), the time of the write, and the log."""

    conn: Connection
    cursor: Any
    sql: HotSql
    now: float
    events: list[Event] = field(default_factory=list)

    def append(self, new: NewEvent) -> Event:
        params = {
            "incident_id": new.incident_id,
            "roll_call_id": new.roll_call_id,
            "type": new.type.value,
            "at": self.now,
            "actor": new.actor,
            "data": to_json(new.data),
        }
        seq = self.cursor.execute(self.sql.insert_event, params).fetchone()[0]
        event = Event(
            seq, new.type, self.now, new.actor, new.incident_id, new.data, new.roll_call_id
        )
        self.events.append(event)
        return event


Job = Callable[[Tx], T]
Outcome = tuple["asyncio.Future[Any]", Any, BaseException | None]  # future, result, error
_STOP = object()


class LogWriter:
    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        on_commit: Callable[[list[Event]], None],
        batch_max: int = 256,
    ) -> None:
        self._engine = engine
        self._sql = HotSql.for_paramstyle(engine.dialect.paramstyle)
        self._clock = clock
        self._on_commit = on_commit
        self._batch_max = batch_max
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self.batches = 0  # counters, for benchmarks and /api/health
        self.jobs_done = 0

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._main, name="log-writer", daemon=True)
        self._thread.start()

    async def stop(self) -> None:
        """Finish every job already queued, then stop: nothing accepted is dropped."""
        if self._thread is None:
            return
        self._jobs.put(_STOP)
        await asyncio.to_thread(self._thread.join)
        self._thread = None

    async def run(self, job: Job[T]) -> T:
        if self._thread is None or self._loop is None:
            raise RuntimeError("the log writer is not running")
        fut: asyncio.Future[T] = self._loop.create_future()
        self._jobs.put((job, fut))
        return await fut

    def _main(self) -> None:
        # One connection for the writer's life: a pool checkout per batch costs more than
        # the statements of a sequential alarm.
        with self._engine.connect() as conn:
            stopping = False
            while not stopping:
                batch = [self._jobs.get()]
                while len(batch) < self._batch_max:
                    try:
                        batch.append(self._jobs.get_nowait())
                    except queue.Empty:
                        break
                if _STOP in batch:
                    stopping = True
                    batch = [item for item in batch if item is not _STOP]
                if batch:
                    self._commit(conn, batch)

    def _commit(self, conn: Connection, batch: list[tuple[Job[Any], asyncio.Future[Any]]]) -> None:
        outcomes: list[Outcome] = []
        events: list[Event] = []
        try:
            with conn.begin():
                cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
                for job, fut in batch:
                    if fut.cancelled():
                        continue  # its caller gave up before it ran: nothing to write
                    tx = Tx(conn, cursor, self._sql, self._clock())
                    # A raw savepoint: SQLAlchemy's begin_nested() compiles one afresh each time.
                    cursor.execute("SAVEPOINT job")
                    try:
                        result = job(tx)
                    except Exception as exc:  # the job's own failure: undo just it
                        cursor.execute("ROLLBACK TO SAVEPOINT job")
                        cursor.execute("RELEASE SAVEPOINT job")
                        outcomes.append((fut, None, exc))
                        continue
                    cursor.execute("RELEASE SAVEPOINT job")
                    outcomes.append((fut, result, None))
                    events.extend(tx.events)
        except Exception as failure:  # the commit itself failed: nothing in the batch happened
            log.exception("group commit of %d jobs failed", len(batch))
            outcomes = [(fut, None, failure) for _, fut in batch]
            events = []
        self.batches += 1
        self.jobs_done += len(batch)
        assert self._loop is not None
        # FIFO from this one thread: batches complete in commit order, so in seq order.
        self._loop.call_soon_threadsafe(self._complete, outcomes, events)

    def _complete(
        self,
        outcomes: list[tuple[asyncio.Future[Any], Any, BaseException | None]],
        events: list[Event],
    ) -> None:
        """On the loop. Resolving a future only schedules its caller, so live state (updated
        by on_commit, synchronously, right after) is current before any caller runs; and the
        callers, scheduled first, answer their handhelds before the consoles are fed."""
        for fut, result, error in outcomes:
            if fut.cancelled():
                continue
            if error is None:
                fut.set_result(result)
            else:
                fut.set_exception(error)
        if events:
            try:
                self._on_commit(events)
            except Exception:
                log.exception("on_commit failed for seq %d..%d", events[0].seq, events[-1].seq)


def row_to_event(row: Any) -> Event:
    return Event(
        row.seq, EventType(row.type), row.at, row.actor, row.incident_id, row.data, row.roll_call_id
    )


def events_after(conn: Connection, since: int, limit: int) -> list[Event]:
    rows = conn.execute(
        select(EVENT).where(EVENT.c.seq > since).order_by(EVENT.c.seq).limit(limit)
    ).all()
    return [row_to_event(r) for r in rows]


def incident_events(conn: Connection, incident_id: int) -> list[Event]:
    rows = conn.execute(
        select(EVENT).where(EVENT.c.incident_id == incident_id).order_by(EVENT.c.seq)
    ).all()
    return [row_to_event(r) for r in rows]


def roll_call_events(conn: Connection, roll_call_id: int) -> list[Event]:
    rows = conn.execute(
        select(EVENT).where(EVENT.c.roll_call_id == roll_call_id).order_by(EVENT.c.seq)
    ).all()
    return [row_to_event(r) for r in rows]


def last_seq(conn: Connection) -> int:
    from sqlalchemy import func

    return int(conn.execute(select(func.coalesce(func.max(EVENT.c.seq), 0))).scalar_one())
