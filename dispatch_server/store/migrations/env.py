"""Alembic's entry point: how a migration reaches the database.

`dispatch-server migrate` (store/schema.py) passes the connection it opened, inside the
transaction it began, so the whole upgrade commits or rolls back as one (SQLite and
PostgreSQL both have transactional DDL; on SQLite our engine issues the BEGIN itself).
The `alembic` command (alembic.ini, for writing a new revision) gets no connection and
connects to `DISPATCH_DATABASE_URL`, as the server would.

`render_as_batch` on SQLite: SQLite's ALTER TABLE cannot change or drop most things, so
Alembic's batch mode copies the table instead ("move and copy").
"""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import Connection
from sqlmodel import SQLModel
from sqlmodel.sql.sqltypes import AutoString

from dispatch_server.settings import Settings
from dispatch_server.store import tables  # noqa: F401  (registers the tables)
from dispatch_server.store.engine import make_engine


def render_item(kind: str, obj: Any, _autogen: AutogenContext) -> str | Literal[False]:
    """New revisions say `sa.String()` for SQLModel's str columns (the same VARCHAR), so
    migrations never import SQLModel's internals."""
    if kind == "type" and isinstance(obj, AutoString):
        return "sa.String()"
    return False


def configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=render_item,
        # Both are transactional: on SQLite our engine turns pysqlite's own transaction
        # handling off and issues BEGIN itself (store/engine.py), so DDL rolls back too.
        transactional_ddl=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def main() -> None:
    given: Connection | None = context.config.attributes.get("connection")
    if given is not None:
        configure(given)
        return
    # The alembic command: connect as the server would.
    engine = make_engine(Settings().database_url, writer=True)
    try:
        with engine.begin() as connection:
            configure(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported: run dispatch-server migrate")
main()
