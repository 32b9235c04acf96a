"""The duty room watch's decisions and the unwatched time, over hand-made counts and logs."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from dispatch_server.domain.duty_room import (
    EMPTY,
    STAFFED,
    Watch,
    crossing,
    due,
    observe,
    unwatched_s,
)
from dispatch_server.domain.events import Event, EventType

GRACE = 60.0


def ev(seq: int, kind: EventType, at: float, member_id: int | None = None) -> Event:
    data: dict[str, Any] = {} if member_id is None else {"member_id": member_id, "grid_id": "G01"}
    return Event(seq, kind, at, "system:test", None, data)


def test_an_empty_room_is_said_once_after_the_grace_and_a_console_back_at_once() -> None:
    w = Watch(logged_empty=False)
    observe(w, 0, 100.0)
    assert due(w, GRACE) == 160.0 and crossing(w, 159.9, GRACE) is None
    assert crossing(w, 160.0, GRACE) is EMPTY
    w.logged_empty = True  # the service writes it, then notes it
    observe(w, 0, 200.0)
    assert due(w, GRACE) is None and crossing(w, 300.0, GRACE) is None  # said once
    observe(w, 1, 301.0)
    assert crossing(w, 301.0, GRACE) is STAFFED
    w.logged_empty = False
    assert due(w, GRACE) is None


def test_a_console_reloading_within_the_grace_says_nothing() -> None:
    w = Watch(logged_empty=False)
    observe(w, 0, 100.0)
    observe(w, 1, 130.0)  # back before the grace ran out
    observe(w, 0, 140.0)  # and gone again: the grace starts over
    assert due(w, GRACE) == 200.0 and crossing(w, 190.0, GRACE) is None


def test_a_fresh_log_says_nothing_while_staffed_and_empty_after_the_grace() -> None:
    w = Watch()
    observe(w, 2, 0.0)
    assert due(w, GRACE) is None
    observe(w, 0, 10.0)
    assert crossing(w, 70.0, GRACE) is EMPTY


def test_unwatched_counts_only_empty_time_with_someone_on_shift_inside_the_period() -> None:
    log = [
        ev(1, EventType.SHIFT_STARTED, 50.0, 7),  # before the period: folded in
        ev(2, EMPTY, 80.0),
        ev(3, STAFFED, 130.0),  # 100..130: 30 s unwatched inside the period
        ev(4, EventType.SHIFT_ENDED, 200.0, 7),
        ev(5, EMPTY, 210.0),  # nobody on shift: not counted
        ev(6, EventType.SHIFT_STARTED, 250.0, 8),  # 250..300: 50 s
        ev(7, STAFFED, 320.0),  # after the period
    ]
    assert unwatched_s(log, 100.0, 300.0) == 80.0
    assert unwatched_s(log, 0.0, 1000.0) == 50.0 + 70.0
    assert unwatched_s([], 0.0, 100.0) == 0.0
    # A room never said to be empty was watched, whoever was on shift.
    assert unwatched_s([ev(1, EventType.SHIFT_STARTED, 0.0, 1)], 0.0, 100.0) == 0.0


@given(
    st.lists(
        st.tuples(
            st.sampled_from([EMPTY, STAFFED, EventType.SHIFT_STARTED, EventType.SHIFT_ENDED]),
            st.floats(0, 1000),
            st.integers(1, 3),
        ),
        max_size=30,
    ),
    st.floats(0, 1000),
    st.floats(0, 1000),
)
def test_unwatched_time_lies_within_the_period(
    steps: list[tuple[EventType, float, int]], a: float, b: float
) -> None:
    since, until = min(a, b), max(a, b)
    log = [
        ev(i, kind, at, member)
        for i, (kind, at, member) in enumerate(sorted(steps, key=lambda s: s[1]))
    ]
    got = unwatched_s(log, since, until)
    assert 0.0 <= got <= until - since + 1e-9
    # Splitting the period in two adds up.
    mid = (since + until) / 2
    assert abs(unwatched_s(log, since, mid) + unwatched_s(log, mid, until) - got) < 1e-6
