"""Fan-out of committed events to everything live in this process (consoles, handhelds, roster).

The bus is a convenience, never the record: a subscriber that overflows or
misses messages is told so (`lagged`) and catches up from the log by `seq`.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Protocol

from dispatch_server.domain.events import Event


class Subscription:
    """A bounded queue toward one consumer. Full means lagged: dropped, never blocking the bus."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self.lagged = False
        self._items: deque[Event] = deque()
        self._ready = asyncio.Event()

    def offer(self, event: Event) -> None:
        if self.lagged:
            return
        if len(self._items) >= self.maxsize:
            self.lagged = True
            self._items.clear()
        else:
            self._items.append(event)
        self._ready.set()

    async def next(self) -> Event | None:
        """The next event, or None once lagged: the consumer must then catch up from the log."""
        while not self._items and not self.lagged:
            self._ready.clear()
            await self._ready.wait()
        if self.lagged:
            return None
        return self._items.popleft()

    def reset(self) -> None:
        """Forget what is queued and start again: called once the consumer has caught up."""
        self._items.clear()
        self.lagged = False


class Bus(Protocol):
    def publish(self, events: list[Event]) -> None: ...

    def subscribe(self, maxsize: int) -> Subscription: ...

    def unsubscribe(self, sub: Subscription) -> None: ...
