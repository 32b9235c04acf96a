"""Enrolment codes: when one expires, whether it can still be used, and the link a phone
opens. Pure: the service (services/devices.py) reads the code's row and asks here.

DESIGN.md: "a device token (single use, expiring; devices revocable)".
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Refusal(StrEnum):
    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"


MESSAGES = {
    Refusal.UNKNOWN: "no such enrolment code; ask the administrator for a new one",
    Refusal.USED: "this enrolment code was already used; ask the administrator for a new one",
    Refusal.EXPIRED: "this enrolment code has expired; ask the administrator for a new one",
}


class CodeRefused(Exception):
    """An enrolment code that cannot be exchanged for a token; nothing was written."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(MESSAGES[refusal])
        self.refusal = refusal


@dataclass(frozen=True)
class Code:
    """What the log's row says of one code."""

    member_id: int
    expires_at: float
    used_at: float | None


def expires_at(now: float, ttl_s: float) -> float:
    return now + ttl_s


def refusal(code: Code | None, now: float) -> Refusal | None:
    """Why this code cannot be used now, or None if it can. A used code says "used" even
    once it has expired too: that is what its holder needs to hear."""
    if code is None:
        return Refusal.UNKNOWN
    if code.used_at is not None:
        return Refusal.USED
    if now >= code.expires_at:
        return Refusal.EXPIRED
    return None


def enrol_url(public_base: str, code: str) -> str:
    """`<public base>/h/#enrol=<code>`: in the fragment, which a browser never sends to a
    server, so the code stays out of access logs and Referer headers."""
    return f"{public_base.rstrip('/')}/h/#enrol={code}"
