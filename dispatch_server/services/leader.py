"""Which instance keeps the cluster's clocks: deadlines (roll calls, supervision, check-ins,
escalation) and webhook deliveries run on one instance at a time.

On PostgreSQL the leader is whoever holds a session advisory lock on a
connection of its own. The database frees the lock the moment that connection
ends, so a leader that is killed (SIGKILL, power cut: the kernel closes its
socket) hands over within a second, with no lease to expire and no extra
service to run; TCP keepalives bound the wait when a network silently drops it.
On SQLite there is one instance, and it leads.

Leadership saves work; it is not what keeps deadlines from firing twice. Every
deadline action re-checks the log inside the writer's transaction, and writers
are serialised cluster-wide (store/log.py), so two instances that both believed
they led for a moment would still write each step once (docs/decisions.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import Engine, create_engine
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)

# pg_advisory_lock keys are cluster-wide numbers: this one is "dispatch leader".
LEADER_KEY = 0x44495350_4C454144 & 0x7FFFFFFFFFFFFFFF
KEEPALIVE = {"keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2, "keepalives_count": 3}


class Leadership:
    def __init__(self, url: str | None, every_s: float = 1.0) -> None:
        """`url`: the PostgreSQL URL to elect on; None (SQLite) leads at once."""
        self._url = url
        self.elects = url is not None  # False: the only instance, leading from the start
        self._every_s = every_s
        self.leading = url is None
        self._cond = asyncio.Condition()
        self._engine: Engine | None = None
        self._conn: Any = None  # the DBAPI connection that holds the lock

    async def run(self, beat: Callable[[], None] = lambda: None) -> None:
        """Elect until cancelled, calling `beat` after each look (progress, for the watchdog)."""
        if self._url is None:
            return
        try:
            while True:
                await self.look()
                beat()
                await asyncio.sleep(self._every_s)
        finally:
            await self.close()

    async def look(self) -> bool:
        """One round of the election: keep holding the lock, or try for it. Whoever waits
        on a change (`wait_for`, `while_leading`) hears of it."""
        if self._url is None:
            return self.leading
        leading = await asyncio.to_thread(self._check)
        if leading != self.leading:
            log.info("this instance %s the leader", "is now" if leading else "is no longer")
            await self._announce(leading)
        return leading

    async def close(self) -> None:
        """Stop leading and free the lock (the next look elsewhere takes it over)."""
        if self.leading:
            await self._announce(False)
        await asyncio.to_thread(self._release)
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    async def _announce(self, leading: bool) -> None:
        async with self._cond:
            self.leading = leading
            self._cond.notify_all()

    def _check(self) -> bool:
        """In a thread: keep holding the lock (and prove the connection alive), or try for it."""
        if self._engine is None:
            # NullPool: closing the connection must really end the session (and free the lock).
            self._engine = create_engine(
                self._url or "", poolclass=NullPool, connect_args=KEEPALIVE
            )
        try:
            if self._conn is None:
                self._conn = self._engine.raw_connection()
                self._conn.driver_connection.autocommit = True
            cur = self._conn.cursor()
            if self.leading:
                cur.execute("SELECT 1")
                return True
            cur.execute(f"SELECT pg_try_advisory_lock({LEADER_KEY})")
            return bool(cur.fetchone()[0])
        except Exception as exc:  # the connection is gone: so is any lock it held
            log.warning("leader election connection failed: %s", exc)
            self._release()
            return False

    def _release(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None

    async def wait_for(self, leading: bool) -> None:
        async with self._cond:
            await self._cond.wait_for(lambda: self.leading == leading)


async def while_leading(leader: Leadership, duty: Callable[[], Awaitable[None]]) -> None:
    """Run `duty` whenever this instance leads; cancel it when it stops leading."""
    while True:
        await leader.wait_for(True)
        task = asyncio.ensure_future(duty())
        lost = asyncio.ensure_future(leader.wait_for(False))
        try:
            done, _ = await asyncio.wait({task, lost}, return_when=asyncio.FIRST_COMPLETED)
            if task in done:
                task.result()  # a duty that ended by itself has failed: say how
        finally:
            for t in (task, lost):
                t.cancel()
            await asyncio.gather(task, lost, return_exceptions=True)
