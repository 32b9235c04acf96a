from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.support.databases import (
    Backend,
    Databases,
    fresh,
    open_databases,
    postgres_problem,
)
from tests.support.servers import Running, in_process, settings_for

# A test that uses one of these touches a database, so it runs on every backend; the
# others (pure domain, geometry, the handheld alone) run only in the SQLite pass.
DATABASE_FIXTURES = {"databases", "database_url", "empty_database_url"}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--backend",
        choices=[b.value for b in Backend],
        default=os.environ.get("DISPATCH_TEST_BACKEND", Backend.SQLITE.value),
        help="database for the servers under test (default: DISPATCH_TEST_BACKEND or sqlite)",
    )


def backend_of(config: pytest.Config) -> Backend:
    return Backend(config.getoption("--backend"))


def pytest_report_header(config: pytest.Config) -> str:
    return f"database backend: {backend_of(config)}"


def pytest_sessionstart(session: pytest.Session) -> None:
    """No PostgreSQL to test on: one clear line instead of an error per test."""
    if backend_of(session.config) is Backend.POSTGRESQL:
        problem = postgres_problem()
        if problem is not None:
            pytest.exit(problem, returncode=pytest.ExitCode.USAGE_ERROR)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`only_on(backend, why)` skips a test on the other backend; and on PostgreSQL only
    what touches the database runs: the rest was run in the SQLite pass."""
    backend = backend_of(config)
    for item in items:
        only = item.get_closest_marker("only_on")
        if only is not None and Backend(only.args[0]) is not backend:
            item.add_marker(pytest.mark.skip(reason=f"{only.args[0]} only: {only.args[1]}"))
    if backend is Backend.SQLITE:
        return
    keep: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        uses_database = DATABASE_FIXTURES & set(getattr(item, "fixturenames", ()))
        (keep if uses_database else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


@pytest.fixture(scope="session")
def databases(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Databases]:
    """One migrated template per run (see tests/support/databases.py)."""
    made = open_databases(backend_of(request.config), tmp_path_factory.mktemp("template"))
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def database_url(databases: Databases, tmp_path: Path) -> Iterator[str]:
    """A fresh database at the schema's head, for this test only."""
    with fresh(databases, tmp_path) as url:
        yield url


@pytest.fixture
def empty_database_url(databases: Databases, tmp_path: Path) -> Iterator[str]:
    """A fresh database that no migration has touched."""
    with fresh(databases, tmp_path, migrated=False) as url:
        yield url


@pytest.fixture
async def server(database_url: str) -> AsyncIterator[Running]:
    """A real server on 127.0.0.1 (ephemeral port) with a fresh database."""
    async with in_process(settings_for(database_url)) as running:
        yield running
