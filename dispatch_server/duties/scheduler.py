"""The one loop that keeps every clock: roll calls closing, patrols going silent, lone
workers missing their check-in, incidents escalating to security partners.

Deadlines are data (STYLE.md): each clock source says when it next needs a
look (`next_check`) and does what is due (`apply_due(now)`). The scheduler owns
the wake event and the wake time; whoever adds an earlier deadline calls
`wake(at)` and nothing else.

Each source is stepped in a guard of its own (issue 10): one that raises is
logged with its traceback, reported to the supervisor (so health, consoles and
the log say so), and retried after a backoff, while every other source keeps
firing. The loop beats at least every `idle_s`, so a loop that hangs is seen
by the watchdog too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from dispatch_server.clock import Clock
from dispatch_server.duties.supervisor import Supervisor

log = logging.getLogger(__name__)
SCHEDULER = "scheduler"


class ClockSource(Protocol):
    name: str

    def next_check(self) -> float | None:
        """When this source next needs a look (None: nothing pending)."""
        ...

    def apply_due(self, now: float) -> Awaitable[None]:
        """Do what is due at `now`; anything not done must still be due next time."""
        ...


@dataclass
class Source:
    """A clock source made of two functions (the services keep theirs as plain functions)."""

    name: str
    check: Callable[[], float | None]
    apply: Callable[[float], Awaitable[None]]

    def next_check(self) -> float | None:
        return self.check()

    def apply_due(self, now: float) -> Awaitable[None]:
        return self.apply(now)


class Scheduler:
    def __init__(
        self,
        clock: Clock,
        supervisor: Supervisor,
        *,
        idle_s: float = 1.0,
        active: Callable[[], bool] = lambda: True,
    ) -> None:
        self._clock = clock
        self._supervisor = supervisor
        self._idle_s = idle_s
        self._active = active
        self._sources: list[ClockSource] = []
        self._retry_at: dict[str, float] = {}
        self._event = asyncio.Event()
        self._wake_at = -math.inf  # not sleeping yet: nothing need wake it
        supervisor.register(SCHEDULER, expected_s=max(10.0, 10 * idle_s), active=active)

    def register(self, source: ClockSource) -> None:
        self._sources.append(source)
        self._supervisor.register(source.name, expected_s=None, active=self._active)

    def source(self, name: str) -> ClockSource:
        return next(s for s in self._sources if s.name == name)

    def wake(self, at: float | None = None) -> None:
        """Something changed: look again now, or by `at` (a later time changes nothing)."""
        if at is None or at < self._wake_at:
            self._event.set()

    async def run(self) -> None:
        while True:
            self._event.clear()
            for source in self._sources:
                await self._step(source, self._clock())
            upcoming = [t for s in self._sources if (t := self._next(s)) is not None]
            now = self._clock()
            self._wake_at = min([*upcoming, now + self._idle_s])
            self._supervisor.beat(SCHEDULER)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(0.0, self._wake_at - now)):
                    await self._event.wait()

    async def _step(self, source: ClockSource, now: float) -> None:
        if self._retry_at.get(source.name, -math.inf) > now:
            return  # backing off after a failure
        try:
            await source.apply_due(now)
        except Exception as exc:
            self._failed(source, exc, now)
            return
        self._retry_at.pop(source.name, None)
        self._supervisor.beat(source.name)

    def _next(self, source: ClockSource) -> float | None:
        retry = self._retry_at.get(source.name)
        if retry is not None:
            return retry
        try:
            return source.next_check()
        except Exception as exc:
            now = self._clock()
            self._failed(source, exc, now)
            return self._retry_at[source.name]

    def _failed(self, source: ClockSource, exc: Exception, now: float) -> None:
        log.error("clock source %s failed; the other clocks go on", source.name, exc_info=exc)
        self._supervisor.failed(source.name, exc)
        streak = self._supervisor.duties[source.name].streak
        self._retry_at[source.name] = now + self._supervisor.backoff(streak)
