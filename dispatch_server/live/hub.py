"""Which handhelds are connected to this instance, so targeted frames reach them."""

from __future__ import annotations

from typing import Protocol

from dispatch_server.protocol.frames import ToHandheld


class Sender(Protocol):
    def send(self, frame: ToHandheld) -> None: ...


class PatrolHub:
    def __init__(self) -> None:
        self._links: dict[int, Sender] = {}

    def attach(self, member_id: int, link: Sender) -> None:
        """The newest connection wins: a handheld that reconnects replaces its stale socket."""
        self._links[member_id] = link

    def detach(self, member_id: int, link: Sender) -> bool:
        """True when this was the member's current link (so the member's link is now down)."""
        if self._links.get(member_id) is link:
            del self._links[member_id]
            return True
        return False

    def deliver(self, member_id: int, frame: ToHandheld) -> bool:
        link = self._links.get(member_id)
        if link is None:
            return False
        link.send(frame)
        return True

    def connected(self) -> int:
        return len(self._links)

    def has(self, member_id: int) -> bool:
        return member_id in self._links

    def members(self) -> list[int]:
        return list(self._links)
