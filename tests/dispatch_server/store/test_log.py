"""The log writer on a real database: group commit, isolation of a failing job, order."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import IntegrityError, OperationalError

from dispatch_server.domain.events import Event, EventType, NewEvent
from dispatch_server.store.engine import write_lock_sql
from dispatch_server.store.log import LogWriter, Tx, events_after
from dispatch_server.store.tables import DISPATCHER, EVENT
from tests.dispatch_server.conftest import Engines


def _append(tx: Tx, n: int) -> int:
    return tx.append(NewEvent(EventType.NOTE_ADDED, "test:1", None, {"n": n})).seq


def _fail(tx: Tx) -> None:
    tx.append(NewEvent(EventType.NOTE_ADDED, "test:1", None, {"n": -1}))
    raise ValueError("this job fails after writing")


async def test_concurrent_jobs_share_commits_and_publish_in_seq_order(engines: Engines) -> None:
    published: list[Event] = []
    writer = LogWriter(engines(writer=True), lambda: 1.0, published.extend)
    writer.start()
    try:
        seqs = await asyncio.gather(
            *(writer.run(lambda tx, n=n: _append(tx, n)) for n in range(300))
        )
    finally:
        await writer.stop()
    await asyncio.sleep(0)  # let the last publish callback run
    assert sorted(seqs) == list(range(1, 301))
    assert writer.batches < 300 / 4, f"{writer.batches} commits for 300 jobs: no grouping"
    assert [e.seq for e in published] == list(range(1, 301))


async def test_a_failing_job_leaves_nothing_and_spoils_no_neighbour(engines: Engines) -> None:
    published: list[Event] = []
    writer = LogWriter(engines(writer=True), lambda: 1.0, published.extend)
    writer.start()
    try:
        results = await asyncio.gather(
            writer.run(lambda tx: _append(tx, 1)),
            writer.run(_fail),
            writer.run(lambda tx: _append(tx, 2)),
            return_exceptions=True,
        )
    finally:
        await writer.stop()
    assert isinstance(results[1], ValueError)
    # The failed job's seq was rolled back with it: the log has no gap (decision 25).
    assert results[2] == results[0] + 1
    engine = engines()
    with engine.connect() as conn:
        rows = events_after(conn, 0, 10)
        assert [e.data["n"] for e in rows] == [1, 2]
        assert conn.execute(select(func.count()).select_from(EVENT)).scalar_one() == 2
    await asyncio.sleep(0)
    assert [e.data["n"] for e in published] == [1, 2]


async def test_stop_finishes_queued_jobs(engines: Engines) -> None:
    writer = LogWriter(engines(writer=True), lambda: 1.0, lambda events: None)
    writer.start()
    pending = [asyncio.ensure_future(writer.run(lambda tx, n=n: _append(tx, n))) for n in range(50)]
    await asyncio.sleep(0)
    await writer.stop()
    assert sorted(await asyncio.gather(*pending)) == list(range(1, 51))


def _violate(tx: Tx) -> None:
    """A constraint broken through SQLAlchemy, after an append on the raw cursor."""
    tx.append(NewEvent(EventType.NOTE_ADDED, "test:1", None, {"n": -1}))
    row = {"id": 1, "name": "twice", "created_at": 1.0}
    tx.conn.execute(insert(DISPATCHER), row)
    tx.conn.execute(insert(DISPATCHER), row)


async def test_a_constraint_violation_is_undone_alone_and_the_writer_goes_on(
    engines: Engines,
) -> None:
    """PostgreSQL refuses every statement after an error until the transaction rolls back
    to a savepoint: the violating job's savepoint must take that error with it."""
    writer = LogWriter(engines(writer=True), lambda: 1.0, lambda events: None)
    writer.start()
    try:
        results = await asyncio.gather(
            writer.run(lambda tx: _append(tx, 1)),
            writer.run(_violate),
            writer.run(lambda tx: _append(tx, 2)),
            return_exceptions=True,
        )
        later = await writer.run(lambda tx: _append(tx, 3))
    finally:
        await writer.stop()
    assert isinstance(results[1], IntegrityError)
    with engines().connect() as conn:
        assert [e.data["n"] for e in events_after(conn, 0, 10)] == [1, 2, 3]
        assert conn.execute(select(func.count()).select_from(DISPATCHER)).scalar_one() == 0
    assert results[0] < results[2] < later  # strictly increasing, gaps or not


@pytest.mark.only_on("postgresql", "a database server that can drop the writer's connection")
async def test_a_lost_connection_fails_the_batch_in_flight_and_the_next_reconnects(
    engines: Engines,
) -> None:
    """A restart or failover of PostgreSQL kills the writer's one connection. The batch that
    meets it fails (its callers hear an error, never a false "done"; a handheld resends its
    alarm); the writer does not retry it, since a commit whose answer was lost may have
    happened. The next batch runs on a new connection."""
    writer = LogWriter(engines(writer=True), lambda: 1.0, lambda events: None)
    writer.start()
    try:
        first = await writer.run(lambda tx: _append(tx, 1))
        with engines(writer=True).begin() as admin:
            admin.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
        with pytest.raises(OperationalError):
            await writer.run(lambda tx: _append(tx, 2))
        after = await writer.run(lambda tx: _append(tx, 3))
    finally:
        await writer.stop()
    with engines().connect() as conn:
        assert [e.data["n"] for e in events_after(conn, 0, 10)] == [1, 3]
    assert after > first


@pytest.mark.only_on("postgresql", "several instances' writers share one PostgreSQL log")
async def test_two_writers_share_one_gap_free_log_and_each_hands_on_all_of_it(
    engines: Engines, database_url: str
) -> None:
    """Decision 25: two writers (two instances) appending at once get seqs 1..N with no gap
    and no repeat, and each hands on the whole log, its own and the other's, in seq order."""
    heard: dict[str, list[Event]] = {"a": [], "b": []}
    writers = {
        name: LogWriter(
            engines(writer=True),
            lambda: 1.0,
            heard[name].extend,
            lock_sql=write_lock_sql(database_url),
            shared=True,
        )
        for name in heard
    }
    for w in writers.values():
        w.start()
    try:
        seqs = await asyncio.gather(
            *(writers["ab"[n % 2]].run(lambda tx, n=n: _append(tx, n)) for n in range(400)),
            *(writers["a"].run(_fail) for _ in range(20)),
            return_exceptions=True,
        )
        for w in writers.values():
            w.tail()  # what the other wrote after this one's last batch
        await asyncio.sleep(0.5)
    finally:
        for w in writers.values():
            await w.stop()
    written = [s for s in seqs if isinstance(s, int)]
    assert sorted(written) == list(range(1, 401))
    for name, events in heard.items():
        assert [e.seq for e in events] == list(range(1, 401)), name
