"""Close codes and error codes of the wire protocol (docs/protocol.md lists them for humans)."""

from __future__ import annotations

from enum import IntEnum, StrEnum


class CloseCode(IntEnum):
    # "a bad or missing token closes the socket with code 4401 within 5 seconds"
    UNAUTHORIZED = 4401
    # A valid token of the wrong kind for this socket (a member's token on /ws/console).
    FORBIDDEN = 4403
    # The client fell too far behind; reconnect with `since` to catch up from the log.
    RESYNC = 4409
    # RFC 6455: a frame larger than the server accepts.
    MESSAGE_TOO_BIG = 1009


class ErrorCode(StrEnum):
    BAD_JSON = "bad_json"
    UNKNOWN_TYPE = "unknown_type"
    INVALID_FRAME = "invalid_frame"
    BINARY_FRAME = "binary_frame"
    NOT_ON_SHIFT = "not_on_shift"
    NOT_ASSIGNED = "not_assigned"
    NOT_CALLED = "not_called"
    CONFLICT = "conflict"
    NOT_FOUND = "not_found"
    UNAVAILABLE = "unavailable"
