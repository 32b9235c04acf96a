"""A service's world without a server: the runtime's components on a fresh database, the
writer running, no background duty, and a clock the test moves by hand; a fake handheld
link, an alert frame, and the log read back."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from dispatch_server.domain.events import Event
from dispatch_server.protocol.frames import Alert, ToHandheld
from dispatch_server.runtime import assembled
from dispatch_server.services.context import Context
from dispatch_server.store.log import events_after, last_seq
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


class Link:
    """A handheld's socket as the hub sees it: `ctx.hub.attach(member_id, link)`, then read
    `link.frames` (or `link.of(type)`) for what reached it."""

    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []
        self.closed: tuple[int, str] | None = None  # what `shut` closed it with

    def send(self, frame: ToHandheld) -> None:
        self.frames.append(frame.wire())  # as the wire has it

    def shut(self, code: int, reason: str) -> None:
        self.closed = (code, reason)

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [f for f in self.frames if f["type"] == kind]


def alert(category: str = "theft", **fields: Any) -> Alert:
    """An `alert` frame as a handheld sends it (a fresh alert_id unless given)."""
    data = {"type": "alert", "alert_id": str(uuid.uuid4()), "category": category, **fields}
    return Alert.model_validate(data, strict=False)


async def logged(ctx: Context, since: int = 0) -> list[Event]:
    """What the log holds after `since`, read back from the database."""
    return await ctx.read(events_after, since, 10_000)


async def types(ctx: Context, since: int = 0) -> list[str]:
    return [e.type.value for e in await logged(ctx, since)]


async def head(ctx: Context) -> int:
    """The log's last seq: pass it as `since` to see only what a step wrote."""
    return await ctx.read(last_seq)
