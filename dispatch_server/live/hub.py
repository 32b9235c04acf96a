"""Which handhelds are connected to this instance, so targeted frames reach them; and which
sockets each enrolled device holds, so a revoked one is closed at once."""

from __future__ import annotations

from typing import Protocol

from dispatch_server.protocol.codes import CloseCode
from dispatch_server.protocol.frames import ToHandheld

REVOKED = "this device was revoked; ask the administrator to enrol it again"


class Sender(Protocol):
    def send(self, frame: ToHandheld) -> None: ...

    def shut(self, code: int, reason: str) -> None:
        """Close the socket with this code, before anything still queued."""
        ...


class PatrolHub:
    def __init__(self) -> None:
        self._links: dict[int, Sender] = {}
        # Every socket opened with a device's token (the member's current one or not), and
        # the devices revoked since this process started.
        self._by_device: dict[int, set[Sender]] = {}
        self._device_of: dict[Sender, int] = {}
        self._revoked: set[int] = set()

    def attach(self, member_id: int, link: Sender, device_id: int | None = None) -> None:
        """The newest connection wins: a handheld that reconnects replaces its stale socket."""
        self._links[member_id] = link
        if device_id is None:
            return
        if device_id in self._revoked:
            # Revoked between its hello's token check and now: closed like the others.
            link.shut(CloseCode.UNAUTHORIZED, REVOKED)
        self._by_device.setdefault(device_id, set()).add(link)
        self._device_of[link] = device_id

    def detach(self, member_id: int, link: Sender) -> bool:
        """True when this was the member's current link (so the member's link is now down)."""
        device_id = self._device_of.pop(link, None)
        if device_id is not None:
            links = self._by_device[device_id]
            links.discard(link)
            if not links:
                del self._by_device[device_id]
        if self._links.get(member_id) is link:
            del self._links[member_id]
            return True
        return False

    def revoke(self, device_id: int) -> int:
        """Close every socket opened with this device's token with 4401; how many."""
        self._revoked.add(device_id)
        links = list(self._by_device.get(device_id, ()))
        for link in links:
            link.shut(CloseCode.UNAUTHORIZED, REVOKED)
        return len(links)

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
