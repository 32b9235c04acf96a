from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine

from dispatch_server.store.engine import make_engine

Engines = Callable[..., Engine]


@pytest.fixture
def engines(database_url: str) -> Iterator[Engines]:
    """make_engine on the test's database; every engine made is disposed after the test."""
    made: list[Engine] = []

    def make(*, writer: bool = False) -> Engine:
        made.append(make_engine(database_url, writer=writer))
        return made[-1]

    yield make
    for engine in made:
        engine.dispose()
