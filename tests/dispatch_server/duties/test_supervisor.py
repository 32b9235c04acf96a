"""The supervisor alone: no server, no database; a hand-moved clock where time matters."""

from __future__ import annotations

import asyncio

import pytest

from dispatch_server.duties.supervisor import Duty, Supervisor


class Hands:
    """A clock moved by hand, for both wall time and the watchdog's monotonic time."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def _supervisor(hands: Hands) -> tuple[Supervisor, list[tuple[str, bool]]]:
    sup = Supervisor(hands, backoff_s=0.01, backoff_max_s=0.04, monotonic=hands)
    told: list[tuple[str, bool]] = []
    sup.on_change(lambda duty, failing: told.append((duty.name, failing)))
    return sup, told


def test_a_failure_is_shown_once_until_progress_recovers_it() -> None:
    hands = Hands()
    sup, told = _supervisor(hands)
    sup.register("escalation")
    sup.failed("escalation", RuntimeError("boom"))
    hands.now += 5
    sup.failed("escalation", RuntimeError("boom again"))
    view = sup.snapshot()["escalation"]
    assert view["state"] == "failing" and view["failures"] == 2
    assert view["last_error"].startswith("RuntimeError: boom again")
    assert view["failing_since"] == "1970-01-01T00:16:40.000Z"  # the first failure's time
    assert [d.name for d in sup.failing] == ["escalation"]
    sup.beat("escalation")
    assert sup.failing == [] and told == [("escalation", True), ("escalation", False)]


def test_the_watchdog_flags_a_duty_without_progress_only_while_it_should_run() -> None:
    hands = Hands()
    sup, told = _supervisor(hands)
    leading = [False]
    sup.register("scheduler", expected_s=10, active=lambda: leading[0])
    sup.register("quiet")  # no progress expected: never late
    hands.now += 60
    sup.check_progress()
    assert sup.failing == [], "a follower's clocks are not late"
    leading[0] = True
    hands.now += 9
    sup.check_progress()
    assert sup.failing == []
    hands.now += 2
    sup.check_progress()
    assert [d.name for d in sup.failing] == ["scheduler"]
    assert sup.duties["scheduler"].last_error == "no progress for 11 s"
    sup.beat("scheduler")
    assert told == [("scheduler", True), ("scheduler", False)]


async def test_keep_restarts_a_failing_duty_with_backoff_and_only_cancelling_ends_it() -> None:
    hands = Hands()
    sup, told = _supervisor(hands)
    sup.register("deliveries")
    runs = 0
    healthy = asyncio.Event()

    async def duty() -> None:
        nonlocal runs
        runs += 1
        if runs < 3:
            raise ValueError(f"run {runs} failed")
        if runs == 3:
            return  # ending by itself is a failure too
        sup.beat("deliveries")
        healthy.set()
        await asyncio.Event().wait()

    task = asyncio.create_task(sup.keep("deliveries", duty))
    await asyncio.wait_for(healthy.wait(), 5)
    assert runs == 4 and sup.duties["deliveries"].failures == 3
    assert "ended by itself" in str(sup.duties["deliveries"].last_error)
    assert told == [("deliveries", True), ("deliveries", False)]
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def test_backoff_doubles_up_to_its_cap() -> None:
    sup = Supervisor(Hands(), backoff_s=0.5, backoff_max_s=30)
    assert [sup.backoff(n) for n in (1, 2, 3, 7, 20)] == [0.5, 1.0, 2.0, 30, 30]


def test_a_listener_that_fails_does_not_stop_the_others() -> None:
    hands = Hands()
    sup, told = _supervisor(hands)

    def broken(duty: Duty, failing: bool) -> None:
        raise RuntimeError("listener bug")

    sup.on_change(broken)
    later: list[str] = []
    sup.on_change(lambda duty, failing: later.append(duty.name))
    sup.register("x")
    sup.failed("x", "plain words")
    assert told == [("x", True)] and later == ["x"]


def test_the_backoff_starts_again_after_progress() -> None:
    hands = Hands()
    sup, _ = _supervisor(hands)
    sup.register("deliveries")
    for _ in range(5):
        sup.failed("deliveries", "refused")
    assert sup.backoff(sup.duties["deliveries"].streak) == 0.04  # at its cap
    sup.beat("deliveries")
    sup.failed("deliveries", "refused")
    assert sup.backoff(sup.duties["deliveries"].streak) == 0.01, "a new lapse starts short"
    assert sup.duties["deliveries"].failures == 6, "the count in all stays, for people"
