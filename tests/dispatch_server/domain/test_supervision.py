"""Supervision as pure functions of the roster: silence, return, hysteresis."""

from __future__ import annotations

from dispatch_server.domain import supervision
from dispatch_server.domain.roster import Roster

AFTER = 45.0


def roster() -> Roster:
    r = Roster(capacity=2)
    for m in (1, 2, 3):
        r.add(m, f"m{m}", "G01", 0, (0.0, 0.0))
        r.set_shift(m, True)
        r.link_up(m, 100.0)
    return r


def test_silence_past_the_grace_time_goes_offline_once() -> None:
    r = roster()
    r.link_down(1, 100.0)  # the socket closed
    r.link_up(2, 130.0)  # heard from later
    assert supervision.next_check(r, AFTER) == 145.0
    assert supervision.gone_silent(r, 145.0, AFTER) == []  # exactly the grace time: not yet
    assert supervision.gone_silent(r, 145.1, AFTER) == [1, 3]  # 3: connected but silent
    r.set_marked_offline(1, True)
    r.set_marked_offline(3, True)
    assert supervision.gone_silent(r, 200.0, AFTER) == [2]  # marked ones are not said twice
    assert supervision.next_check(r, AFTER) == 175.0


def test_a_short_drop_changes_nothing_and_a_return_is_noticed() -> None:
    r = roster()
    r.link_down(1, 100.0)
    r.link_up(1, 101.0)  # back after one second
    assert supervision.gone_silent(r, 140.0, AFTER) == []
    r.set_marked_offline(2, True)
    assert supervision.back(r, 140.0, AFTER) == [2]  # heard at 100, within the grace time
    r.link_down(2, 100.0)
    assert supervision.back(r, 200.0, AFTER) == []  # still silent: stays offline


def test_a_closing_socket_is_not_a_frame_heard() -> None:
    r = roster()
    r.set_marked_offline(1, True)  # silent since 100, marked offline
    r.socket_closed(1, 150.0)  # then its socket closes (the server shuts down, say)
    assert not r.connected[r.row[1]]
    assert supervision.back(r, 150.0, AFTER) == [], "no frame was heard: still offline"
    r.link_up(1, 160.0)  # a frame
    assert supervision.back(r, 160.0, AFTER) == [1]
    r.socket_closed(2, 120.0)  # a live link drops: the grace time runs from the drop
    assert supervision.gone_silent(r, 165.0, AFTER) == [3]
    assert supervision.gone_silent(r, 165.1, AFTER) == [2, 3]


def test_off_shift_members_are_not_watched() -> None:
    r = roster()
    for m in (1, 2, 3):
        r.set_shift(m, False)
    assert supervision.gone_silent(r, 1000.0, AFTER) == []
    assert supervision.next_check(r, AFTER) is None
