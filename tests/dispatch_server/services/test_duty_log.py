"""Duty failures on record: every change the supervisor tells of becomes a `duty_failed` or
`duty_recovered` event, in order, and a change is kept until the writer has taken it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, cast

import pytest

from dispatch_server.duties.supervisor import Supervisor
from dispatch_server.services.context import Context
from dispatch_server.services.duty_log import DUTY_LOG, DutyLog
from dispatch_server.store.log import Job, LogWriter
from tests.dispatch_server.services.conftest import Hands, logged

KEPT_BUG = (
    "BUG: a restarted DutyLog.run waits for the next change before writing those it kept; "
    "after a second failure in a row nobody tells it again, so on a quiet system the "
    "duty_failed events (and the writer's own recovery) stay unwritten"
)


class Flaky:
    """The log writer while the database is away: its next `failures` runs fail."""

    def __init__(self, writer: LogWriter, failures: int) -> None:
        self.writer, self.failures = writer, failures

    async def run(self, job: Job[Any]) -> Any:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("the database is away")
        return await self.writer.run(job)


def _beats(n: int, also: Callable[[], None] = lambda: None) -> tuple[Callable[[], None], Any]:
    """A beat callback, and an event set once it has been called `n` times."""
    done, count = asyncio.Event(), [0]

    def beat() -> None:
        also()
        count[0] += 1
        if count[0] >= n:
            done.set()

    return beat, done


async def _run_until(duty_log: DutyLog, writer: Any, beat: Any, done: Any, why: str) -> None:
    task = asyncio.create_task(duty_log.run(cast(LogWriter, writer), beat))
    try:
        async with asyncio.timeout(2):
            await done.wait()
    except TimeoutError:
        pytest.fail(why)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_changes_are_written_in_the_order_told(ctx: Context, hands: Hands) -> None:
    supervisor = Supervisor(hands)
    duty_log = DutyLog()
    supervisor.on_change(duty_log.tell)
    supervisor.register("escalation")
    supervisor.failed("escalation", "KeyError: 3")
    supervisor.failed("escalation", "KeyError: 3")  # still failing: no new change
    supervisor.beat("escalation")
    beat, done = _beats(1)  # after the changes waiting are written
    await _run_until(duty_log, ctx.writer, beat, done, "the changes were not written")
    events = await logged(ctx)
    assert [(e.type.value, e.actor) for e in events] == [
        ("duty_failed", "system:supervisor"),
        ("duty_recovered", "system:supervisor"),
    ]
    assert events[0].data == {
        "duty": "escalation",
        "error": "KeyError: 3",
        "failures": 1,
        "instance": duty_log.instance,
    }
    assert events[1].data["failures"] == 2 and events[1].incident_id is None


async def test_a_change_is_kept_until_the_writer_takes_it(ctx: Context, hands: Hands) -> None:
    """The duty log's own runs fail while the database is away; the supervisor restarts it
    (`keep`), telling of its failure the first time only. Once the database is back, the
    restarted duty writes every change it kept, in order."""
    supervisor = Supervisor(hands)
    duty_log = DutyLog()
    supervisor.on_change(duty_log.tell)
    supervisor.register("escalation")
    supervisor.register(DUTY_LOG)
    supervisor.failed("escalation", "KeyError: 3")
    flaky = Flaky(ctx.writer, failures=2)
    for _ in range(2):
        with pytest.raises(ConnectionError):
            async with asyncio.timeout(5):
                await duty_log.run(cast(LogWriter, flaky), lambda: None)
        supervisor.failed(DUTY_LOG, "ConnectionError: the database is away")  # as keep does
    assert await logged(ctx) == [], "nothing could be written yet"

    beat, done = _beats(2, lambda: supervisor.beat(DUTY_LOG))  # its own recovery too
    await _run_until(duty_log, flaky, beat, done, KEPT_BUG)
    assert [(e.type.value, e.data["duty"]) for e in await logged(ctx)] == [
        ("duty_failed", "escalation"),
        ("duty_failed", DUTY_LOG),
        ("duty_recovered", DUTY_LOG),
    ]
