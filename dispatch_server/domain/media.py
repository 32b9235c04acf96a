"""Photos and clips on an incident, as pure decisions (decision 37): what may be declared,
by whom and until when, what a chunk of bytes does to an upload, and which media the
retention duty deletes.

The upload is resumable and append-only: a chunk is taken only at the offset the server
has already received, so a retry after a lost answer (or a reload) is told where to go on
from, and bytes are never written twice or out of order. The whole is checked against the
declared sha256 before anything is logged.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum

from dispatch_server.domain.incidents import Incident, Reply, Status


class Kind(StrEnum):
    PHOTO = "photo"
    CLIP = "clip"


# What the phone page may send, with the file extension an export gives each.
CONTENT_TYPES: dict[str, str] = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "video/webm": "webm",
    "video/mp4": "mp4",
}


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_per_incident: int
    chunk_bytes: int
    upload_grace_s: float


class Refused(Exception):
    """A declaration or chunk the server will not take; `status` is the HTTP status the edge
    answers with, and the message says what the limit is (in English)."""

    def __init__(self, status: int, message: str, received: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.received = received


NOT_YOURS = "only the incident's reporter or a responder who accepted it may add media"


def base_type(content_type: str) -> str:
    """`video/webm;codecs=vp8` -> `video/webm`: the parameters say nothing we check."""
    return content_type.split(";", 1)[0].strip().lower()


def may_add(inc: Incident, member_id: int) -> bool:
    """The reporter, or a member who accepted an assignment to it."""
    if member_id == inc.reporter_id:
        return True
    a = inc.assignments.get(member_id)
    return a is not None and a.reply is Reply.ACCEPTED


def check_declaration(
    inc: Incident,
    member_id: int,
    size: int,
    content_type: str,
    count: int,
    now: float,
    limits: Limits,
) -> str:
    """Whether `member_id` may declare a new media of `size` bytes on `inc`, which already
    has `count`; the content type as stored (without parameters), or Refused."""
    if not may_add(inc, member_id):
        raise Refused(403, NOT_YOURS)
    late = inc.resolved_at is not None and now > inc.resolved_at + limits.upload_grace_s
    if inc.status is Status.RESOLVED and late:
        raise Refused(
            409,
            f"incident {inc.incident_id} was resolved more than "
            f"{limits.upload_grace_s:g} s ago: no more media may be added",
        )
    if size > limits.max_bytes:
        raise Refused(413, f"a photo or clip may be at most {limits.max_bytes} bytes")
    stored = base_type(content_type)
    if stored not in CONTENT_TYPES:
        raise Refused(415, f"content_type must be one of {', '.join(CONTENT_TYPES)}")
    if count >= limits.max_per_incident:
        raise Refused(
            409, f"an incident may have at most {limits.max_per_incident} photos and clips"
        )
    return stored


def check_chunk(received: int, size: int, offset: int, length: int) -> int:
    """The new `received` after a chunk of `length` bytes at `offset`, or Refused: the chunk
    must start where the stored bytes end (409 says where that is), and may not go past the
    declared size (422)."""
    if offset != received:
        raise Refused(409, f"offset must be {received}, the bytes already received", received)
    if offset + length > size:
        raise Refused(422, f"bytes past the declared size ({size})", received)
    return received + length


def matches(chunks: list[bytes], sha256: str) -> bool:
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
    return digest.hexdigest() == sha256


def retention_cutoff(now: float, retention_days: float) -> float:
    """Media of incidents resolved before this have their bytes deleted."""
    return now - retention_days * 86400.0


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The one range `Range: bytes=...` asks of `size` bytes, as (first, last) inclusive; None
    for the whole (no header, or one we do not read: several ranges, another unit, bad
    syntax, which RFC 9110 lets a server ignore). A range that starts past the end is a
    416."""
    if header is None or not header.startswith("bytes=") or "," in header:
        return None
    first_text, dash, last_text = header[len("bytes=") :].strip().partition("-")
    if (
        not dash
        or not (first_text.isdigit() or first_text == "")
        or not (last_text.isdigit() or last_text == "")
    ):
        return None
    if first_text == "":
        if last_text == "":
            return None
        suffix = int(last_text)  # the last N bytes
        if suffix == 0:
            raise Refused(416, f"range not satisfiable: the media has {size} bytes")
        return max(0, size - suffix), size - 1
    first = int(first_text)
    last = size - 1 if last_text == "" else min(int(last_text), size - 1)
    if last_text != "" and int(last_text) < first:
        return None
    if first >= size:
        raise Refused(416, f"range not satisfiable: the media has {size} bytes")
    return first, last
