"""Who is who: the names of members, duty volunteers, partners and named administrators, read
from the database.

The log names people by id (`actor` is `member:7`, `dispatcher:2`, `partner:3`, `admin:2`);
views put
names beside those ids. They are read with the view, not cached, so a name registered a moment
ago (on any instance) shows at once. Only names: never a token, a secret or a webhook URL.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from sqlalchemy import Connection, Table, select

from dispatch_server.store.tables import ADMINISTRATOR, DISPATCHER, MEMBER, PARTNER


@dataclass(frozen=True)
class Names:
    members: Mapping[int, str] = field(default_factory=dict)
    dispatchers: Mapping[int, str] = field(default_factory=dict)
    partners: Mapping[int, str] = field(default_factory=dict)
    # Named administrators (decision 44); the bootstrap token's `admin:0` has no name.
    administrators: Mapping[int, str] = field(default_factory=dict)

    def of(self, key: str | None) -> str | None:
        """The name behind an actor key (`member:7`, `dispatcher:2`, `partner:3`, `admin:2`);
        None for the bootstrap administrator (`admin:0`), the system's own actors and anyone
        unknown."""
        kind, _, ident = (key or "").partition(":")
        book = {
            "member": self.members,
            "dispatcher": self.dispatchers,
            "partner": self.partners,
            "admin": self.administrators,
        }
        if kind not in book or not ident.isdigit():
            return None
        return book[kind].get(int(ident))

    def table(self, keys: Iterable[str]) -> dict[str, str]:
        """`{key: name}` for each of `keys` with a name, in key order."""
        return {k: name for k in sorted(set(keys)) if (name := self.of(k)) is not None}

    def partners_only(self) -> Names:
        """What a partner may learn: partners' names, no duty volunteer's, member's or
        administrator's (decision 33)."""
        return Names(partners=self.partners)


def load(conn: Connection) -> Names:
    """Everyone's name. A community registers hundreds of people, not millions: four small
    reads, in the same transaction as the view they go with."""
    return Names(
        _book(conn, MEMBER),
        _book(conn, DISPATCHER),
        _book(conn, PARTNER),
        _book(conn, ADMINISTRATOR),
    )


def _book(conn: Connection, table: Table) -> dict[int, str]:
    return {row.id: row.name for row in conn.execute(select(table.c.id, table.c.name))}


def member_key(member_id: int) -> str:
    return f"member:{member_id}"


def partner_key(partner_id: int) -> str:
    return f"partner:{partner_id}"
