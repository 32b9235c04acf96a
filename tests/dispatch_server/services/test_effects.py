"""Carrying out what a fold asked for: frames to the handhelds connected here, wakes to the
scheduler, in the order given. A fake hub link and a fake scheduler; no database."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

from dispatch_server.live.hub import PatrolHub
from dispatch_server.services.context import Context
from dispatch_server.services.effects import Deliver, Wake, carry_out


class Wakes:
    def __init__(self, log: list[Any]) -> None:
        self.log = log

    def wake(self, at: float | None = None) -> None:
        self.log.append(("wake", at))


class Recorder:
    def __init__(self, log: list[Any], member_id: int) -> None:
        self.log, self.member_id = log, member_id

    def send(self, frame: dict[str, Any]) -> None:
        self.log.append(("send", self.member_id, frame["type"]))


def test_effects_are_carried_out_in_order_and_absent_handhelds_skipped() -> None:
    done: list[Any] = []
    hub = PatrolHub()
    hub.attach(7, Recorder(done, 7))
    hub.attach(8, Recorder(done, 8))
    ctx = cast(Context, SimpleNamespace(hub=hub, scheduler=Wakes(done)))
    carry_out(
        ctx,
        [
            Deliver(8, {"type": "assignment"}),
            Wake(1_790_000_060.0),
            Deliver(9, {"type": "assignment"}),  # not connected here: nothing, no error
            Deliver(7, {"type": "alert_update"}),
            Wake(),
        ],
    )
    assert done == [
        ("send", 8, "assignment"),
        ("wake", 1_790_000_060.0),
        ("send", 7, "alert_update"),
        ("wake", None),
    ]
