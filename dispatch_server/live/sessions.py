"""Every socket open on this instance, by the token's owner, so that revoking a token closes
what it opened (decision 44).

A device's revocation has its own path (live/hub.py). This one is for the administrator's
steps that revoke a whole account's tokens (deactivation) or its registration token (a new
token): every instance folds the step's event and closes the matching sockets here with
4401, as for a revoked device.

A socket is registered after its hello's token was checked. A revocation folded between that
check and the registration would miss it; so every revocation is counted, and a socket whose
hello saw an older count has its token checked once more (`attach` says when).
"""

from __future__ import annotations

from typing import Protocol

from dispatch_server.protocol.codes import CloseCode
from dispatch_server.services.auth import Principal


class Closable(Protocol):
    def shut(self, code: int, reason: str) -> None:
        """Close the socket with this code (the socket's own task does it)."""
        ...


class Sessions:
    """One flat map, socket to principal: a revocation (a rare step of an administrator's)
    walks every socket open here, about a millisecond for thousands, so that a connected
    handheld costs one map slot and no index of its own (memory per handheld is measured:
    docs/performance.md)."""

    def __init__(self) -> None:
        self._open: dict[Closable, Principal] = {}
        self.revocations = 0

    def attach(self, principal: Principal, socket: Closable, seen: int) -> bool:
        """Register a socket whose hello was checked when the count was `seen`. False: a
        revocation was folded since, and the caller must check its token again."""
        self._open[socket] = principal
        return self.revocations == seen

    def detach(self, principal: Principal, socket: Closable) -> None:
        self._open.pop(socket, None)

    def close(self, kind: str, subject_id: int, reason: str, *, registration_only: bool) -> int:
        """Close with 4401 the sockets of this account (only those opened with a registration
        token, not a device's, when `registration_only`); how many."""
        self.revocations += 1
        hit = [
            socket
            for socket, p in self._open.items()
            if p.kind.value == kind
            and p.id == subject_id
            and (p.device_id is None or not registration_only)
        ]
        for socket in hit:
            socket.shut(CloseCode.UNAUTHORIZED, reason)
        return len(hit)

    def count(self) -> int:
        return len(self._open)
