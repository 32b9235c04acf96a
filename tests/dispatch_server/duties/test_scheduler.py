"""The scheduler alone, with clock sources made of plain functions: no server, no database."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

from dispatch_server.duties.scheduler import Scheduler, Source
from dispatch_server.duties.supervisor import Supervisor


class Deadlines:
    """A clock source keeping a list of times, recording when each fired."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.pending: list[float] = []
        self.fired: list[tuple[float, float]] = []  # (due, fired at)
        self.broken = False

    def next_check(self) -> float | None:
        return min(self.pending, default=None)

    async def apply_due(self, now: float) -> None:
        if self.broken:
            raise RuntimeError(f"{self.name} is broken")
        for at in [t for t in self.pending if t <= now]:
            self.pending.remove(at)
            self.fired.append((at, now))


@contextlib.asynccontextmanager
async def running(*sources: Deadlines) -> AsyncIterator[tuple[Scheduler, Supervisor]]:
    sup = Supervisor(time.time, backoff_s=0.05, backoff_max_s=0.2)
    scheduler = Scheduler(time.time, sup, idle_s=0.2)
    for source in sources:
        scheduler.register(source)
    task = asyncio.create_task(scheduler.run())
    try:
        yield scheduler, sup
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _until(check: object, timeout: float = 3.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():  # type: ignore[operator]
            await asyncio.sleep(0.01)


async def test_a_deadline_added_later_fires_on_time_after_wake() -> None:
    rolls = Deadlines("roll_calls")
    async with running(rolls) as (scheduler, _):
        await asyncio.sleep(0.05)  # asleep until its idle beat
        due = time.time() + 0.1
        rolls.pending.append(due)
        scheduler.wake(due)
        await _until(lambda: rolls.fired)
    [(at, fired)] = rolls.fired
    assert at == due and 0 <= fired - due < 0.05


async def test_one_failing_source_never_stops_the_others_and_recovers() -> None:
    broken, other = Deadlines("check_ins"), Deadlines("escalation")
    broken.broken = True
    broken.pending.append(time.time())
    async with running(broken, other) as (scheduler, sup):
        await _until(lambda: sup.failing)
        assert [d.name for d in sup.failing] == ["check_ins"]
        for delay in (0.05, 0.1, 0.15):
            other.pending.append(time.time() + delay)
        scheduler.wake()
        await _until(lambda: len(other.fired) == 3)
        assert all(fired - at < 0.05 for at, fired in other.fired)
        assert sup.duties["check_ins"].failures >= 1
        broken.broken = False
        await _until(lambda: not sup.failing)
    assert len(broken.fired) == 1, "what was due when it broke fires once it recovers"


async def test_a_source_whose_next_check_raises_is_isolated_too() -> None:
    good = Deadlines("roll_calls")

    def bad_check() -> float | None:
        raise KeyError("no such incident")

    async def nothing(now: float) -> None:
        return None

    sup = Supervisor(time.time, backoff_s=0.05, backoff_max_s=0.2)
    scheduler = Scheduler(time.time, sup, idle_s=0.2)
    scheduler.register(Source("escalation", bad_check, nothing))
    scheduler.register(good)
    task = asyncio.create_task(scheduler.run())
    try:
        good.pending.append(time.time() + 0.05)
        scheduler.wake()
        await _until(lambda: good.fired and sup.failing)
        assert [d.name for d in sup.failing] == ["escalation"]
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_a_later_wake_does_not_disturb_and_the_loop_beats_while_idle() -> None:
    rolls = Deadlines("roll_calls")
    async with running(rolls) as (scheduler, sup):
        before = sup.duties["scheduler"].last_beat
        await asyncio.sleep(0.5)
        assert sup.duties["scheduler"].last_beat > before, "an idle loop still beats"
        scheduler.wake(time.time() + 3600)  # later than its own wake: nothing to do
        assert rolls.fired == []
