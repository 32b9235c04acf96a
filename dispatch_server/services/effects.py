"""What folding an event into live state asks the world to do, as plain data.

The observer folds each committed event into live state and returns effects
(deliver this frame to that member, wake the clocks by T) instead of doing
them: the fold is then a function you can call in a test and read the answer
of, and one place carries them out (the websockets library's sans-I/O split,
applied to the server's live state). Decision 3's order holds: the writer
folds a whole batch, carries out its effects, then publishes it, all in the
one callback that runs before any caller resumes.
"""

from __future__ import annotations

from dataclasses import dataclass

from dispatch_server.protocol.frames import ToHandheld
from dispatch_server.services.context import Context


@dataclass(frozen=True)
class Deliver:
    """A frame for one member's handheld, if it is connected to this instance."""

    member_id: int
    frame: ToHandheld


@dataclass(frozen=True)
class Wake:
    """A deadline may have moved: the clocks look again by `at` (None: now)."""

    at: float | None = None


@dataclass(frozen=True)
class Disconnect:
    """A device was revoked: close its patrol sockets here with 4401 (decision 35)."""

    device_id: int


@dataclass(frozen=True)
class CloseSessions:
    """An administrator revoked an account's tokens (all of them, or only its registration
    token): close the sockets they opened here with 4401 (decision 44)."""

    kind: str
    subject_id: int
    reason: str
    registration_only: bool = False


Effect = Deliver | Wake | Disconnect | CloseSessions


def carry_out(ctx: Context, effects: list[Effect]) -> None:
    for effect in effects:
        match effect:
            case Deliver(member_id, frame):
                ctx.hub.deliver(member_id, frame)
            case Wake(at):
                ctx.scheduler.wake(at)
            case Disconnect(device_id):
                ctx.hub.revoke(device_id)
            case CloseSessions(kind, subject_id, reason, registration_only):
                ctx.sessions.close(kind, subject_id, reason, registration_only=registration_only)
