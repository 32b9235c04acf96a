"""Alarm intake's write, where two transactions race for one alert_id."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import Engine, insert

from dispatch_server.services.intake import open_incident
from dispatch_server.store.log import Tx
from dispatch_server.store.sql import HotSql
from dispatch_server.store.tables import GRID, MEMBER
from tests.dispatch_server.conftest import Engines

ALERT = "7d1f0c7e-4a55-4b8e-9d0e-5d5a0f6f2a11"
DATA: dict[str, Any] = {
    "alert_id": ALERT,
    "grid_id": "G01",
    "lon": 113.0,
    "lat": 28.1,
    "category": "medical",
}


def _open(
    engine: Engine, opened: threading.Event | None = None, hold: threading.Event | None = None
) -> tuple[int, bool]:
    """open_incident in a transaction of its own, as another instance's writer would run it;
    with `hold`, the transaction stays open (and its row uncommitted) until that is set."""
    with engine.connect() as conn, conn.begin():
        raw = conn.connection.dbapi_connection
        assert raw is not None
        tx = Tx(conn, raw.cursor(), HotSql.for_paramstyle(engine.dialect.paramstyle), 1.0)
        result = open_incident(tx, 1, dict(DATA))
        if opened is not None and hold is not None:
            opened.set()
            assert hold.wait(10)
        return result


def test_a_retry_that_meets_an_uncommitted_first_try_is_a_duplicate(engines: Engines) -> None:
    """DESIGN.md: "A repeat of the same alert_id answers with the same incident_id and
    duplicate: true", also when the first try is still being committed by another writer
    (several instances on one PostgreSQL): the retry waits for it instead of failing on
    the unique index."""
    with engines(writer=True).begin() as conn:
        conn.execute(insert(GRID), {"id": "G01", "feature": {}})
        conn.execute(
            insert(MEMBER), {"id": 1, "name": "m", "grid_id": "G01", "skills": [], "created_at": 0}
        )
    first, second = engines(writer=True), engines(writer=True)
    inserted, hold = threading.Event(), threading.Event()
    with ThreadPoolExecutor(2) as pool:
        opened = pool.submit(_open, first, inserted, hold)
        assert inserted.wait(10)
        retried = pool.submit(_open, second)
        # The retry waits (on PostgreSQL at the unique index, on SQLite at BEGIN IMMEDIATE)
        # for the first try to commit.
        time.sleep(0.3)
        assert not retried.done()
        hold.set()
        incident_id, duplicate = opened.result(10)
        assert duplicate is False
        assert retried.result(10) == (incident_id, True)
