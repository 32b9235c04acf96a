"""The log writer on a real database: group commit, isolation of a failing job, order."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from dispatch_server.domain.events import Event, EventType, NewEvent
from dispatch_server.store.log import LogWriter, Tx, events_after
from dispatch_server.store.tables import EVENT
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
