"""Bearer tokens: made here, stored hashed, looked up by hash."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import Connection, insert, select

from dispatch_server.store.tables import TOKEN


class Kind(StrEnum):
    ADMIN = "admin"
    MEMBER = "member"
    DISPATCHER = "dispatcher"
    PARTNER = "partner"


@dataclass(frozen=True)
class Principal:
    kind: Kind
    id: int  # 0 for the admin
    # A member's token made by enrolling a handheld (services/devices.py): which handheld.
    device_id: int | None = None

    @property
    def actor(self) -> str:
        return f"{self.kind.value}:{self.id}"


def new_token() -> str:
    return secrets.token_urlsafe(24)


def hash_token(token: str) -> str:
    # Tokens are 192 random bits: a plain hash is enough, no slow KDF is needed.
    return hashlib.sha256(token.encode()).hexdigest()


def is_admin(token: str, admin_token: str) -> bool:
    return hmac.compare_digest(token.encode(), admin_token.encode())


def lookup(conn: Connection, token: str) -> Principal | None:
    row = conn.execute(
        select(TOKEN.c.kind, TOKEN.c.subject_id, TOKEN.c.device_id).where(
            TOKEN.c.token_hash == hash_token(token), TOKEN.c.revoked_at.is_(None)
        )
    ).first()
    return None if row is None else Principal(Kind(row.kind), row.subject_id, row.device_id)


def issue(
    conn: Connection, kind: Kind, subject_id: int, now: float, device_id: int | None = None
) -> str:
    token = new_token()
    conn.execute(
        insert(TOKEN),
        {
            "token_hash": hash_token(token),
            "kind": kind.value,
            "subject_id": subject_id,
            "created_at": now,
            "device_id": device_id,
        },
    )
    return token
