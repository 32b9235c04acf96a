"""The press time's bounds, as a pure function (the service tests run it through intake)."""

from __future__ import annotations

from dispatch_server.domain.press import MAX_AGE_S, Clamp, PressTime, press_time

NOW = 1_790_000_000.0


def test_within_the_bounds_the_handheld_is_believed() -> None:
    assert press_time(NOW - 20, NOW, None) == PressTime(NOW - 20, None)
    assert press_time(NOW, NOW, NOW - 60) == PressTime(NOW, None)
    assert press_time(NOW - MAX_AGE_S, NOW, None) == PressTime(NOW - MAX_AGE_S, None)
    # On shift, the shift is the bound, however long ago it started.
    assert press_time(NOW - 2 * MAX_AGE_S, NOW, NOW - 3 * MAX_AGE_S).clamped is None


def test_outside_the_bounds_the_nearest_bound_and_why() -> None:
    assert press_time(NOW + 0.001, NOW, None) == PressTime(NOW, Clamp.FUTURE)
    assert press_time(NOW + 5, NOW, NOW - 60) == PressTime(NOW, Clamp.FUTURE)
    assert press_time(NOW - 61, NOW, NOW - 60) == PressTime(NOW - 60, Clamp.BEFORE_SHIFT)
    assert press_time(NOW - MAX_AGE_S - 1, NOW, None) == PressTime(NOW - MAX_AGE_S, Clamp.TOO_OLD)


def test_a_shift_start_after_now_never_puts_the_press_in_the_future() -> None:
    assert press_time(NOW - 1, NOW, NOW + 30) == PressTime(NOW, Clamp.BEFORE_SHIFT)
