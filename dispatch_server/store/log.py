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

Several instances on one PostgreSQL (`shared`): each batch first takes a
transaction-scoped lock that every instance's writer takes (`lock_sql`), so
batches commit one at a time cluster-wide; seq is the log's own max + 1, taken
under that lock, so it is gap-free (a rolled-back write takes no number) and
commit order is seq order. Each batch, and each `tail()`, also reads the
events other instances committed since this one last looked, and hands them
to `on_commit` ahead of its own: every instance sees the whole log, once, in
seq order (decision 25).
"""

from __future__ import annotations

import asyncio
import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, func, select

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
_TAIL = object()


class LogWriter:
    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        on_commit: Callable[[list[Event]], None],
        batch_max: int = 256,
        *,
        lock_sql: str | None = None,
        shared: bool = False,
        on_local_commit: Callable[[int], None] | None = None,
        on_batch: Callable[[BaseException | None], None] | None = None,
        on_timed: Callable[[int, float], None] | None = None,
    ) -> None:
        """`lock_sql`: run first in every write transaction (the cluster-wide write lock);
        `shared`: other instances write to this log too, so read what they wrote;
        `on_local_commit(seq)`: after a batch of this instance's own commits (to tell the
        others);
        `on_batch(failure)`: after every batch, with the error if its commit failed (progress
        or failure, for the supervisor);
        `on_timed(size, seconds)`: in the writer's thread, each batch's size and commit time
        (for the metrics: plain adds, no lock)."""
        self._engine = engine
        self._lock_sql = lock_sql
        self._shared = shared
        self._on_local_commit = on_local_commit
        self._on_batch = on_batch
        self._on_timed = on_timed
        self.pending = 0  # jobs handed to run() and not yet done: the writer owes progress
        self.handed = 0  # the last seq given to on_commit
        self._tail_wanted = False
        self._sql = HotSql.for_paramstyle(engine.dialect.paramstyle)
        self._clock = clock
        self._on_commit = on_commit
        self._batch_max = batch_max
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self.batches = 0  # counters, for benchmarks and /api/health
        self.jobs_done = 0

    def start(self, handed: int = 0) -> None:
        """`handed`: the seq live state was loaded at; events after it go to on_commit."""
        self.handed = handed
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

    def tail(self) -> None:
        """Ask for what other instances have committed since we last looked (cheap to call
        often: one request at a time is queued)."""
        if self._shared and self._thread is not None and not self._tail_wanted:
            self._tail_wanted = True
            self._jobs.put(_TAIL)

    async def run(self, job: Job[T]) -> T:
        if self._thread is None or self._loop is None:
            raise RuntimeError("the log writer is not running")
        fut: asyncio.Future[T] = self._loop.create_future()
        self._jobs.put((job, fut))
        self.pending += 1
        try:
            return await fut
        finally:
            self.pending -= 1

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
                stopping = any(item is _STOP for item in batch)
                tail = any(item is _TAIL for item in batch)
                if tail:
                    self._tail_wanted = False
                batch = [item for item in batch if item is not _STOP and item is not _TAIL]
                if batch:
                    self._commit(conn, batch)  # reads what others wrote, too
                elif tail:
                    self._tail(conn)

    def _commit(self, conn: Connection, batch: list[tuple[Job[Any], asyncio.Future[Any]]]) -> None:
        outcomes: list[Outcome] = []
        events: list[Event] = []
        local = 0
        failed: BaseException | None = None
        started = time.perf_counter()
        try:
            with conn.begin():
                cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
                if self._lock_sql:
                    cursor.execute(self._lock_sql)  # waits for any other instance's batch
                if self._shared:
                    events.extend(self._read_after(cursor, self.handed))
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
                    local += len(tx.events)
        except Exception as failure:  # the commit itself failed: nothing in the batch happened
            log.exception("group commit of %d jobs failed", len(batch))
            outcomes = [(fut, None, failure) for _, fut in batch]
            events = []
            local = 0
            failed = failure
        self.batches += 1
        self.jobs_done += len(batch)
        if self._on_timed is not None:
            self._on_timed(len(batch), time.perf_counter() - started)
        self._hand_over(outcomes, events, events[-1].seq if local else 0, failed)

    def _tail(self, conn: Connection) -> None:
        try:
            with conn.begin():
                cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
                events = self._read_after(cursor, self.handed)
        except Exception:  # the database is away: the next tail or batch tries again
            log.exception("reading the log after seq %d failed", self.handed)
            return
        if events:
            self._hand_over([], events, 0)

    def _hand_over(
        self,
        outcomes: list[Outcome],
        events: list[Event],
        local_last: int,
        failed: BaseException | None = None,
    ) -> None:
        if events:
            self.handed = events[-1].seq
        assert self._loop is not None
        # FIFO from this one thread: batches complete in commit order, so in seq order.
        self._loop.call_soon_threadsafe(self._complete, outcomes, events, local_last, failed)

    def _read_after(self, cursor: Any, seq: int) -> list[Event]:
        cursor.execute(self._sql.events_after, {"seq": seq})
        return [
            Event(
                row[0],
                EventType(row[1]),
                row[2],
                row[3],
                row[4],
                json.loads(row[5]) if isinstance(row[5], str) else row[5],
                row[6],
            )
            for row in cursor.fetchall()
        ]

    def _complete(
        self,
        outcomes: list[tuple[asyncio.Future[Any], Any, BaseException | None]],
        events: list[Event],
        local_last: int,
        failed: BaseException | None = None,
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
            except Exception as exc:  # live state may now lag the log: that must be seen
                log.exception("on_commit failed for seq %d..%d", events[0].seq, events[-1].seq)
                failed = failed or exc
        if local_last and self._on_local_commit is not None:
            self._on_local_commit(local_last)
        if self._on_batch is not None and (outcomes or failed):
            self._on_batch(failed)


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
    return int(conn.execute(select(func.coalesce(func.max(EVENT.c.seq), 0))).scalar_one())
