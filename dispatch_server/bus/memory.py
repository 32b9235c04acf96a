"""The in-process bus: the embedded default, with no other software to run."""

from __future__ import annotations

from dispatch_server.bus.base import Subscription
from dispatch_server.domain.events import Event


class MemoryBus:
    def __init__(self) -> None:
        self._subs: set[Subscription] = set()

    def publish(self, events: list[Event]) -> None:
        for sub in list(self._subs):
            for event in events:
                sub.offer(event)

    def subscribe(self, maxsize: int) -> Subscription:
        sub = Subscription(maxsize)
        self._subs.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self._subs.discard(sub)
