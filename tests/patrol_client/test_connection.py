from __future__ import annotations

import random

from patrol_client.connection import Backoff, patrol_url


def test_patrol_url_accepts_what_people_type() -> None:
    assert patrol_url("http://h:8000") == "ws://h:8000/ws/patrol"
    assert patrol_url("https://h/") == "wss://h/ws/patrol"
    assert patrol_url("h:8000") == "ws://h:8000/ws/patrol"
    assert patrol_url("ws://h:1/ws/patrol") == "ws://h:1/ws/patrol"


def test_backoff_grows_with_jitter_and_resets_only_after_a_stable_link() -> None:
    b = Backoff(initial_s=1, maximum_s=8, stable_s=10, rng=random.Random(1))
    delays = [b.next_delay() for _ in range(6)]
    for i, d in enumerate(delays):
        ceiling = min(8, 2**i)
        assert ceiling / 2 <= d <= ceiling
    b.link_lasted(2)  # a flapping link: keep backing off
    assert b.next_delay() >= 4
    b.link_lasted(11)
    assert b.next_delay() <= 1
