"""What a database holds, to assert that a refused input wrote nothing."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import Engine, func, select
from sqlmodel import SQLModel

import dispatch_server.store.tables  # noqa: F401  (registers the tables)
from dispatch_server.store.engine import make_engine


@dataclass(frozen=True)
class State:
    last_seq: int
    rows: dict[str, int]
    # A digest of every row of every table (None when only counted).
    digest: str | None = None


class Snapshots:
    """Reads the database a server under test writes (SQLite or PostgreSQL)."""

    def __init__(self, database_url: str) -> None:
        self.engine: Engine = make_engine(database_url)
        self.tables = list(SQLModel.metadata.sorted_tables)

    def take(self, *, digest: bool = False) -> State:
        h = hashlib.sha256()
        with self.engine.connect() as conn:
            counts = [select(func.count()).select_from(t).scalar_subquery() for t in self.tables]
            event = SQLModel.metadata.tables["event"]
            head = select(func.coalesce(func.max(event.c.seq), 0)).scalar_subquery()
            row = conn.execute(select(head, *counts)).one()
            if digest:
                for t in self.tables:
                    key = list(t.primary_key.columns) or list(t.columns)
                    for r in conn.execute(select(t).order_by(*key)):
                        h.update(repr(tuple(r)).encode())
        rows = {t.name: int(n) for t, n in zip(self.tables, row[1:], strict=True)}
        return State(int(row[0]), rows, h.hexdigest() if digest else None)

    def close(self) -> None:
        self.engine.dispose()
