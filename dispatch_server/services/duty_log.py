"""Duty failures on record: `duty_failed` and `duty_recovered` events in the log.

The supervisor tells of every change of a duty's state; this keeps them in
order and writes each as a system event, so a lapse is on record afterwards and
every console (on any instance) sees it in its feed. Writing is a duty of its
own: when the writer itself is what fails, the changes wait here, in order,
until it can take them.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections import deque
from collections.abc import Callable
from functools import partial
from typing import Any

from dispatch_server.domain.events import EventType, NewEvent
from dispatch_server.duties.supervisor import Duty
from dispatch_server.store.log import LogWriter, Tx

DUTY_LOG = "duty_log"
ACTOR = "system:supervisor"


class DutyLog:
    def __init__(self) -> None:
        self.instance = f"{socket.gethostname()}:{os.getpid()}"
        self._pending: deque[dict[str, Any]] = deque()
        self._changed = asyncio.Event()

    def tell(self, duty: Duty, failing: bool) -> None:
        """The supervisor's listener: called on the event loop, never waits."""
        self._pending.append(
            {
                "type": EventType.DUTY_FAILED if failing else EventType.DUTY_RECOVERED,
                "data": {
                    "duty": duty.name,
                    "error": duty.last_error,
                    "failures": duty.failures,
                    "instance": self.instance,
                },
            }
        )
        self._changed.set()

    async def run(self, writer: LogWriter, beat: Callable[[], None]) -> None:
        while True:
            self._changed.clear()
            # A restarted run first writes what an earlier run kept.
            while self._pending:
                change = self._pending[0]
                await writer.run(partial(_write, change=change))
                self._pending.popleft()  # only once it is written: nothing is lost
            beat()  # nothing owed: working (a restarted run recovers here)
            await self._changed.wait()


def _write(tx: Tx, change: dict[str, Any]) -> None:
    tx.append(NewEvent(change["type"], ACTOR, None, change["data"]))
