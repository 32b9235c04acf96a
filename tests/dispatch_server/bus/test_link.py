"""The link between instances, chosen by URL; the in-memory twin behaves as Redis does for
what the cluster relies on (everyone subscribed hears each notice, the sender included,
as JSON), so cluster logic is tested without Redis."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from dispatch_server.bus.link import MemoryBroker, MemoryLink, link_for
from dispatch_server.bus.redis import RedisLink


def test_the_url_scheme_chooses_the_link() -> None:
    assert isinstance(link_for(None, "d"), MemoryLink)
    assert isinstance(link_for("memory://", "d"), MemoryLink)
    assert isinstance(link_for("redis://127.0.0.1:6379/0", "d"), RedisLink)
    with pytest.raises(ValueError, match="DISPATCH_BUS_URL"):
        link_for("nats://127.0.0.1:4222", "d")


async def test_every_link_on_a_broker_hears_each_notice_as_json_the_sender_too() -> None:
    broker = MemoryBroker()
    a, b = MemoryLink(broker), MemoryLink(broker)
    other_deployment = MemoryLink(broker, prefix="elsewhere")
    heard: dict[str, list[dict[str, Any]]] = {"a": [], "b": [], "elsewhere": []}
    a.on("log", heard["a"].append)
    b.on("log", heard["b"].append)
    other_deployment.on("log", heard["elsewhere"].append)
    a.publish("log", {"from": "a", "seq": 7})
    assert heard["b"] == [], "delivered later, never inside the publisher's call"
    await asyncio.sleep(0)
    assert heard["a"] == heard["b"] == [{"from": "a", "seq": 7}]
    assert heard["elsewhere"] == [], "another prefix is another deployment"
    b.publish("reload", {"what": "partners"})  # nobody listens on that channel: nothing
    await asyncio.sleep(0)


async def test_a_lone_link_hears_only_itself() -> None:
    lone = MemoryLink()
    got: list[dict[str, Any]] = []
    lone.on("presence", got.append)
    MemoryLink().publish("presence", {"from": "x"})  # another broker: not heard
    lone.publish("presence", {"from": "me"})
    await asyncio.sleep(0)
    assert got == [{"from": "me"}] and lone.connected
