"""This instance's part in a cluster, without Redis: notices published (and none without a
cluster), presence sent and merged (a peer's consoles count while it is heard from), and
settings reloaded through `ctx.reloads`."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy import insert

from dispatch_server.bus.link import MemoryLink
from dispatch_server.bus.presence import PEER_TIMEOUT_S, Cluster
from dispatch_server.domain.roster import Fix
from dispatch_server.geo.projection import LocalProjection
from dispatch_server.services import cluster, people
from dispatch_server.services.context import Context
from dispatch_server.services.intake import raise_alarm
from dispatch_server.store.log import Tx
from dispatch_server.store.tables import ESCALATION_RULE, MEMBER
from tests.dispatch_server.services.conftest import Hands, Link, alert


@pytest.fixture
def published(ctx: Context, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    """Give ctx a cluster whose link only records what it would publish."""
    sent: list[tuple[str, Any]] = []
    ctx.cluster = Cluster(MemoryLink())
    monkeypatch.setattr(ctx.cluster.link, "publish", lambda name, m: sent.append((name, m)))
    return sent


async def test_without_a_bus_notices_reach_nobody_and_only_local_consoles_count(
    ctx: Context,
) -> None:
    assert ctx.settings.bus_url is None and isinstance(ctx.cluster.link, MemoryLink)
    assert ctx.cluster.link.broker.links == [ctx.cluster.link], "a link of its own"
    cluster.log_grew(ctx, 5)
    cluster.reload(ctx, "members")
    member_id, _ = await people.create_member(ctx, "Li", "G03", [])  # publishes a reload
    ctx.consoles = 0
    assert cluster.consoles_open(ctx) == 0
    assert (await raise_alarm(ctx, member_id, alert())).unattended
    ctx.consoles = 2
    assert cluster.consoles_open(ctx) == 2


async def test_commits_and_changes_are_announced(
    ctx: Context, published: list[tuple[str, Any]]
) -> None:
    assert ctx.cluster is not None
    me = ctx.cluster.instance
    member_id, _ = await people.create_member(ctx, "Li", "G03", [])
    await people.set_shift(ctx, member_id, True)
    assert published == [
        ("log", {"from": me, "seq": 1}),  # member_registered (decision 44)
        ("reload", {"from": me, "what": "members"}),
        ("log", {"from": me, "seq": 2}),
    ]


async def test_presence_says_who_is_connected_here(
    ctx: Context, hands: Hands, published: list[tuple[str, Any]]
) -> None:
    li, _ = await people.create_member(ctx, "Li", "G03", [])
    wang, _ = await people.create_member(ctx, "Wang", "G03", [])
    ctx.hub.attach(li, Link())
    ctx.roster.link_up(li, hands.now)
    ctx.roster.set_fix(li, Fix(10.0, 20.0, 5.0, hands.now - 1))
    ctx.consoles = 1
    assert ctx.cluster is not None
    assert cluster.presence(ctx) == {
        "from": ctx.cluster.instance,
        "consoles": 1,
        "members": [[li, hands.now, 10.0, 20.0, 5.0, hands.now - 1]],
        "origin": [ctx.grids.projection.lon0, ctx.grids.projection.lat0],
    }
    assert wang not in (m[0] for m in cluster.presence(ctx)["members"])


async def test_a_peers_presence_is_merged_and_wakes_the_clocks(
    ctx: Context, hands: Hands, published: list[tuple[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    wakes: list[float | None] = []
    monkeypatch.setattr(ctx.scheduler, "wake", lambda at=None: wakes.append(at))
    li, _ = await people.create_member(ctx, "Li", "G03", [])
    message = {
        "from": "peer",
        "consoles": 2,
        "members": [[li, hands.now, 1.0, 2.0, None, hands.now]],
    }
    cluster.apply_presence(ctx, message)
    assert wakes == [None], "someone silent may be heard again: the clocks look now"
    i = ctx.roster.row[li]
    assert ctx.roster.connected[i] and ctx.roster.last_seen[i] == hands.now
    assert ctx.roster.fix(li) == Fix(1.0, 2.0, None, hands.now)

    ctx.consoles = 0
    assert cluster.consoles_open(ctx) == 2, "consoles open on the peer count"
    hands.now += PEER_TIMEOUT_S
    assert cluster.consoles_open(ctx) == 0, "a peer not heard from has gone"

    assert ctx.cluster is not None
    cluster.apply_presence(ctx, {"from": ctx.cluster.instance, "consoles": 9, "members": []})
    assert cluster.consoles_open(ctx) == 0, "an instance ignores its own presence"


async def test_a_peers_fixes_measured_from_another_centre_are_moved_into_ours(
    ctx: Context, hands: Hands, published: list[tuple[str, Any]]
) -> None:
    """Decision 45: for the moment between two instances swapping grid sets, their
    projections differ; a fix keeps its place on the ground."""
    li, _ = await people.create_member(ctx, "Li", "G03", [])
    ours = ctx.grids.projection
    theirs = LocalProjection(ours.lon0 + 0.01, ours.lat0 - 0.005)
    lon, lat = 113.0412, 28.1333
    message = {
        "from": "peer",
        "consoles": 0,
        "members": [[li, hands.now, *theirs.to_xy(lon, lat), 4.0, hands.now]],
        "origin": [theirs.lon0, theirs.lat0],
    }
    cluster.apply_presence(ctx, message)
    fix = ctx.roster.fix(li)
    assert fix is not None and fix.accuracy_m == 4.0
    assert ours.to_lonlat(fix.x, fix.y) == pytest.approx((lon, lat), abs=1e-9)


async def test_reload_now_runs_the_registered_reload(
    ctx: Context, caplog: pytest.LogCaptureFixture
) -> None:
    def elsewhere(tx: Tx) -> int:
        """Another instance registers a member and drops every escalation rule."""
        tx.conn.execute(ESCALATION_RULE.delete())
        row = {"name": "Chen", "grid_id": "G01", "skills": [], "created_at": 0.0}
        return int(tx.conn.execute(insert(MEMBER).returning(MEMBER.c.id), row).scalar_one())

    added = await ctx.writer.run(elsewhere)
    await cluster.reload_now(ctx, "members")
    assert added in ctx.roster
    assert ctx.escalation_rules, "only what was asked for is reloaded"
    await cluster.reload_now(ctx, "escalation_rules")
    assert ctx.escalation_rules == []

    called: list[str] = []

    async def fake() -> None:
        called.append("x")

    ctx.reloads["x"] = fake
    await cluster.reload_now(ctx, "x")
    with caplog.at_level(logging.WARNING, logger=cluster.__name__):
        await cluster.reload_now(ctx, "nonsense")
    assert called == ["x"]
    assert "unknown reload 'nonsense'" in caplog.text
