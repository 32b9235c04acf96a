"""A fresh, migrated database for each test, on SQLite or PostgreSQL.

The backend is chosen for the whole run (`pytest --backend postgresql`, or
DISPATCH_TEST_BACKEND=postgresql); `make test` runs the suite once with each.

Migrating a database with Alembic costs tens of milliseconds on SQLite and more on
PostgreSQL, for every test that starts a server. So each run migrates one template,
and every test gets a copy of it:

- SQLite: the template file is copied into the test's tmp_path.
- PostgreSQL: `CREATE DATABASE ... TEMPLATE` on the server at DISPATCH_TEST_PG_URL
  (default: the machine's own, as user postgres). Every database is named
  `dispatch_test_<pid>_<random>` and dropped after its test, failed or not, WITH (FORCE)
  because a server the test SIGKILLed may still hold a connection for a moment. A run
  that was itself killed leaves its databases behind; the next run drops those whose
  pid is no longer alive.
"""

from __future__ import annotations

import contextlib
import enum
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy.engine import URL, make_url

from dispatch_server.store.schema import upgrade

PREFIX = "dispatch_test_"
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


class Backend(enum.StrEnum):
    SQLITE = "sqlite"
    POSTGRESQL = "postgresql"


class SqliteDatabases:
    """Copies of one migrated SQLite file."""

    backend = Backend.SQLITE

    def __init__(self, workdir: Path) -> None:
        self._template = workdir / "template.sqlite3"
        upgrade(f"sqlite:///{self._template}")
        # The migration's engine is disposed, so SQLite has folded the WAL back in and
        # removed it: the one file is the whole database.
        assert not self._template.with_name(self._template.name + "-wal").exists()

    def new(self, where: Path) -> str:
        path = where / "dispatch.sqlite3"
        shutil.copyfile(self._template, path)
        return f"sqlite:///{path}"

    def empty(self, where: Path) -> str:
        return f"sqlite:///{where / 'empty.sqlite3'}"

    def drop(self, url: str) -> None:
        """Nothing to do: the file goes with the test's tmp_path."""

    def close(self) -> None:
        self._template.unlink(missing_ok=True)


class PostgresDatabases:
    """Databases made from one migrated template on a PostgreSQL server."""

    backend = Backend.POSTGRESQL

    def __init__(self, admin_url: str) -> None:
        self._url = make_url(admin_url)
        self._admin = _connect(self._url)
        self._sweep()
        self._template = self._name("template")
        self._create(self._template)
        upgrade(self.url_of(self._template))

    def _name(self, suffix: str | None = None) -> str:
        return f"{PREFIX}{os.getpid()}_{suffix or secrets.token_hex(4)}"

    def url_of(self, database: str) -> str:
        return self._url.set(database=database).render_as_string(hide_password=False)

    def _create(self, database: str, template: str | None = None) -> None:
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database))
        if template is not None:
            statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        self._admin.execute(statement)

    def _drop(self, database: str) -> None:
        self._admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
        )

    def _sweep(self) -> None:
        """Drop what killed runs left: our prefix, and a pid that is no longer alive."""
        names = self._admin.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", (PREFIX + "%",)
        ).fetchall()
        for (name,) in names:
            found = re.match(rf"{PREFIX}(\d+)_", name)
            if found and not _alive(int(found[1])):
                self._drop(name)

    def new(self, where: Path) -> str:
        database = self._name()
        self._create(database, self._template)
        return self.url_of(database)

    def empty(self, where: Path) -> str:
        database = self._name()
        self._create(database)
        return self.url_of(database)

    def drop(self, url: str) -> None:
        database = make_url(url).database
        assert database and database.startswith(PREFIX), database
        self._drop(database)

    def close(self) -> None:
        self._drop(self._template)
        self._admin.close()


Databases = SqliteDatabases | PostgresDatabases


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def admin_url() -> str:
    return os.environ.get("DISPATCH_TEST_PG_URL", DEFAULT_PG_URL)


def _connect(url: URL) -> psycopg.Connection[Any]:
    """psycopg itself (CREATE and DROP DATABASE cannot run inside a transaction)."""
    return psycopg.connect(
        host=url.host,
        port=url.port,
        user=url.username,
        password=url.password,
        dbname=url.database,
        connect_timeout=5,
        autocommit=True,
    )


def postgres_problem() -> str | None:
    """Why the PostgreSQL pass cannot run here, if it cannot."""
    url = make_url(admin_url())
    try:
        with _connect(url):
            return None
    except psycopg.Error as exc:
        return (
            f"no PostgreSQL for the tests at {url.render_as_string(hide_password=True)} "
            f"({str(exc).strip().splitlines()[0]}): start one, point DISPATCH_TEST_PG_URL at "
            "one whose user may create databases, or run `make test-sqlite`"
        )


def open_databases(backend: Backend, workdir: Path) -> Databases:
    if backend is Backend.SQLITE:
        return SqliteDatabases(workdir)
    return PostgresDatabases(admin_url())


@contextlib.contextmanager
def fresh(databases: Databases, where: Path, *, migrated: bool = True) -> Iterator[str]:
    """A database for one test, dropped after it whatever happened."""
    url = databases.new(where) if migrated else databases.empty(where)
    try:
        yield url
    finally:
        databases.drop(url)
