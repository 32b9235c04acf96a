from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.servers import Running, in_process, settings_for


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Running]:
    """A real server on 127.0.0.1 (ephemeral port) with a fresh SQLite file."""
    async with in_process(settings_for(tmp_path / "dispatch.sqlite3")) as running:
        yield running
