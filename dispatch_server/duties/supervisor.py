"""Every background duty is supervised: a duty that fails or stops making progress is seen.

In a safety product a clock that has stopped and says nothing is worse than no
clock (issue 10: one failed escalation once ended every deadline for good while
health said ok). So each duty, in the spirit of an Erlang/OTP supervisor:
- runs under `keep`, which logs a failure at ERROR with its traceback, counts
  it, and restarts the duty with backoff, forever;
- reports progress with `beat`; the watchdog marks a duty that is expected to
  beat every `expected_s` and has not as *failing* ("no progress");
- is *failing* from its first failure until it makes progress again.

Every change of state goes to `on_change` (the runtime writes `duty_failed` /
`duty_recovered` to the log and the consoles show a banner); `/api/health`
shows `snapshot()` and answers 503 while any duty fails.

Nothing here knows what a duty does: the runtime registers them.
"""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from dispatch_server.clock import Clock, iso

log = logging.getLogger(__name__)


@dataclass
class Duty:
    name: str
    # Progress is expected at least this often while the duty is active (None: never checked).
    expected_s: float | None
    # Whether the duty should be running now (a follower does not keep the clocks).
    active: Callable[[], bool]
    last_beat: float = 0.0  # time.monotonic()
    failing_since: float | None = None  # wall-clock time, for people
    last_error: str | None = None
    failures: int = 0  # in all, for people
    streak: int = 0  # since the last progress: what the backoff grows with

    def view(self) -> dict[str, Any]:
        return {
            "state": "failing" if self.failing_since is not None else "running",
            "active": self.active(),
            "failing_since": iso(self.failing_since) if self.failing_since is not None else None,
            "last_error": self.last_error,
            "failures": self.failures,
        }


Change = Callable[[Duty, bool], None]  # (duty, failing now)
WATCHDOG = "watchdog"


def _always() -> bool:
    return True


class Supervisor:
    def __init__(
        self,
        clock: Clock,
        *,
        backoff_s: float = 0.5,
        backoff_max_s: float = 30.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self._monotonic = monotonic
        self._backoff_s = backoff_s
        self._backoff_max_s = backoff_max_s
        self.duties: dict[str, Duty] = {}
        self._listeners: list[Change] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    # --- registering and listening -------------------------------------------------------

    def register(
        self, name: str, expected_s: float | None = None, active: Callable[[], bool] = _always
    ) -> Duty:
        duty = Duty(name, expected_s, active, last_beat=self._monotonic())
        self.duties[name] = duty
        return duty

    def on_change(self, listener: Change) -> None:
        self._listeners.append(listener)

    # --- what duties report -----------------------------------------------------------------

    def beat(self, name: str) -> None:
        """Progress: the duty did its work. A failing duty that makes progress has recovered."""
        duty = self.duties[name]
        duty.last_beat = self._monotonic()
        duty.streak = 0
        if duty.failing_since is not None:
            duty.failing_since = None
            log.warning("duty %s recovered after %d failure(s)", name, duty.failures)
            self._tell(duty, False)

    def failed(self, name: str, error: BaseException | str) -> None:
        """A failure: logged with its traceback by the caller (`keep` and the scheduler do)."""
        duty = self.duties[name]
        duty.failures += 1
        duty.streak += 1
        duty.last_error = error[:500] if isinstance(error, str) else describe(error)
        if duty.failing_since is None:
            duty.failing_since = self._clock()
            self._tell(duty, True)

    def failed_from_thread(self, name: str, error: BaseException | str) -> None:
        """For a duty that runs in a thread of its own (the WAL checkpoints)."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self.failed, name, error)

    def beat_from_thread(self, name: str) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self.beat, name)

    # --- what people see ----------------------------------------------------------------------

    @property
    def failing(self) -> list[Duty]:
        return [d for d in self.duties.values() if d.failing_since is not None]

    def snapshot(self) -> dict[str, dict[str, Any]]:
        return {name: duty.view() for name, duty in sorted(self.duties.items())}

    # --- running duties -------------------------------------------------------------------------

    def backoff(self, streak: int) -> float:
        """The wait before the next try, after `streak` failures in a row."""
        return float(min(self._backoff_max_s, self._backoff_s * 2 ** max(0, streak - 1)))

    async def keep(self, name: str, run: Callable[[], Awaitable[None]]) -> None:
        """Run a duty forever: a failure, or an end by itself, is logged, counted, shown and
        followed by a restart after a backoff. Only cancellation ends it."""
        self._loop = asyncio.get_running_loop()
        while True:
            try:
                await run()
                raise RuntimeError("the duty ended by itself")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.exception("duty %s failed; restarting it", name)
                self.failed(name, exc)
            await asyncio.sleep(self.backoff(self.duties[name].streak))

    async def watch(self, every_s: float = 1.0) -> None:
        """The watchdog: a duty expected to make progress that has not is failing."""
        self._loop = asyncio.get_running_loop()
        while True:
            self.check_progress()
            self.beat(WATCHDOG)
            await asyncio.sleep(every_s)

    def check_progress(self) -> None:
        now = self._monotonic()
        for duty in self.duties.values():
            if duty.expected_s is None or duty.failing_since is not None:
                continue
            if not duty.active():
                duty.last_beat = now  # a duty that need not run is not late
                continue
            late = now - duty.last_beat
            if late > duty.expected_s:
                log.error(
                    "duty %s made no progress for %.1f s (expected every %.1f s)",
                    duty.name,
                    late,
                    duty.expected_s,
                )
                self.failed(duty.name, f"no progress for {late:.0f} s")

    def _tell(self, duty: Duty, failing: bool) -> None:
        for listener in self._listeners:
            try:
                listener(duty, failing)
            except Exception:
                log.exception("telling of duty %s's state failed", duty.name)


def describe(exc: BaseException) -> str:
    """One line for a log event: the exception and where it was raised."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno}" if frames else ""
    return f"{type(exc).__name__}: {exc}{where}"[:500]
