"""A service's world without a server: the runtime's components on a fresh database, the
writer running, no background duty, and a clock the test moves by hand."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from dispatch_server.runtime import assembled
from dispatch_server.services.context import Context
from tests.support.servers import ADMIN, settings_for

START = 1_790_000_000.0


class Hands:
    """A clock moved by hand: `hands.now += 61` and the next `apply_due` sees it."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def hands() -> Hands:
    return Hands()


@pytest.fixture
async def ctx(database_url: str, hands: Hands) -> AsyncIterator[Context]:
    async with assembled(settings_for(database_url), ADMIN, hands) as built:
        yield built
