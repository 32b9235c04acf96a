"""Everything a request or socket handler needs, built once in the app's lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
from sqlalchemy import Connection, Engine, select

from dispatch_server.bus.base import Bus
from dispatch_server.bus.memory import MemoryBus
from dispatch_server.clock import Clock
from dispatch_server.domain.check_ins import Rule, rule_for
from dispatch_server.domain.check_ins import set_rule as set_check_in_rule
from dispatch_server.domain.escalation import Rule as EscalationRule
from dispatch_server.domain.incidents import Incident
from dispatch_server.domain.responders import RankPolicy
from dispatch_server.domain.roll_calls import RollCall
from dispatch_server.domain.roster import Roster
from dispatch_server.domain.skills import Skill, mask
from dispatch_server.geo.grids import load_grids
from dispatch_server.geo.index import GridIndex
from dispatch_server.live.hub import PatrolHub
from dispatch_server.services.auth import Kind as PrincipalKind
from dispatch_server.services.auth import Principal, is_admin, lookup
from dispatch_server.services.cluster import Cluster, log_grew
from dispatch_server.services.leader import Leadership, while_leading
from dispatch_server.settings import Settings
from dispatch_server.store.engine import Checkpointer, is_sqlite, make_engine, write_lock_sql
from dispatch_server.store.log import LogWriter
from dispatch_server.store.schema import check_current
from dispatch_server.store.tables import GRID, MEMBER

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class Context:
    settings: Settings
    admin_token: str
    clock: Clock
    grids: GridIndex
    reader: Engine
    writer: LogWriter
    bus: Bus
    roster: Roster
    hub: PatrolHub
    policy: RankPolicy
    # Open incidents, folded from the log and kept in step by the observer.
    active: dict[int, Incident] = field(default_factory=dict)
    # Open roll calls, kept in step the same way.
    roll_calls: dict[int, RollCall] = field(default_factory=dict)
    # Set when a deadline is added, so the deadline task recomputes its sleep; and the
    # time that task will wake by itself (a later deadline need not wake it).
    deadlines_changed: asyncio.Event = field(default_factory=asyncio.Event)
    deadline_wake: float = 0.0
    # Lone-worker check-in rules: (by member, by grid).
    check_in_rules: tuple[dict[int, Rule], dict[str, Rule]] = field(
        default_factory=lambda: ({}, {})
    )
    # Escalation: rules, partners, the client for webhooks, and a wake-up for deliveries.
    escalation_rules: list[EscalationRule] = field(default_factory=list)
    # Each open incident's next escalation step (absent: none), kept by the observer for the
    # incident an event touched, so the deadline check compares floats, not rules.
    escalation_next: dict[int, float] = field(default_factory=dict)
    partners: dict[int, Any] = field(default_factory=dict)
    http: httpx.AsyncClient = field(default_factory=httpx.AsyncClient)
    deliveries_changed: asyncio.Event = field(default_factory=asyncio.Event)
    # Duty consoles connected to this instance now: none means the centre is unattended.
    consoles: int = 0
    # Times a console fell behind and was brought up to date from the log.
    console_resyncs: int = 0
    # With DISPATCH_BUS_URL: notices to and from the other instances (services/cluster.py).
    cluster: Cluster | None = None
    # Whether this instance keeps the deadlines (always, on SQLite: services/leader.py).
    leader: Leadership = field(default_factory=lambda: Leadership(None))

    async def read(self, fn: Callable[..., T], *args: object) -> T:
        """Run a read off the event loop, on a pooled connection."""

        def call() -> T:
            with self.reader.connect() as conn:
                return fn(conn, *args)

        return await asyncio.to_thread(call)

    async def authenticate(self, token: str) -> Principal | None:
        if is_admin(token, self.admin_token):
            return Principal(PrincipalKind.ADMIN, 0)
        return await self.read(lookup, token)

    def add_member(self, member_id: int, name: str, grid_id: str, skills: list[str]) -> None:
        home = self.grids.representative_xy(grid_id)
        self.roster.add(member_id, name, grid_id, mask([Skill(s) for s in skills]), home)
        set_check_in_rule(
            self.roster, member_id, rule_for(member_id, grid_id, *self.check_in_rules)
        )


def policy_from(settings: Settings) -> RankPolicy:
    return RankPolicy(
        listed=settings.responders_listed,
        fresh_fix_s=settings.fresh_fix_s,
        offline_after_s=settings.offline_after_s,
        skill_bonus_m=settings.skill_bonus_m,
    )


def _sync_grids(conn: Connection, grids: GridIndex) -> None:
    """Keep the grid table in step with the files: the files are the source of grid geometry."""
    have = set(conn.execute(select(GRID.c.id)).scalars())
    for grid_id, grid in grids.grids.items():
        row = {
            "name_zh": grid.name_zh,
            "name_en": grid.name_en,
            "kind": grid.kind,
            "feature": grid.feature,
        }
        if grid_id in have:
            conn.execute(GRID.update().where(GRID.c.id == grid_id), row)
        else:
            conn.execute(GRID.insert(), {"id": grid_id, **row})


def _prepare_database(engine: Engine, grids: GridIndex) -> list[tuple[int, str, str, list[str]]]:
    """Data the server keeps in step on start (grids, default escalation rules), and the
    members to load. The schema is the migrations' business (store/schema.py)."""
    from dispatch_server.services.escalation import seed_rules

    with engine.begin() as conn:
        _sync_grids(conn, grids)
        seed_rules(conn)
        rows = conn.execute(
            select(MEMBER.c.id, MEMBER.c.name, MEMBER.c.grid_id, MEMBER.c.skills).order_by(
                MEMBER.c.id
            )
        ).all()
    missing = sorted({r.grid_id for r in rows} - set(grids.grids))
    if missing:
        raise RuntimeError(
            f"members belong to grids that the grid files no longer have: {', '.join(missing)}"
        )
    return [(r.id, r.name, r.grid_id, list(r.skills)) for r in rows]


@contextlib.asynccontextmanager
async def running(settings: Settings, admin_token: str, clock: Clock) -> AsyncIterator[Context]:
    """Build the context, run its background work, and tear it down in order."""
    from dispatch_server.services.cluster import look_at_the_log
    from dispatch_server.services.cluster import run as cluster_run
    from dispatch_server.services.deadlines import run_deadlines
    from dispatch_server.services.escalation import (
        refresh_partners,
        refresh_rules,
        run_deliveries,
    )
    from dispatch_server.services.observer import committed, load_live

    grids = GridIndex(load_grids(settings.grids), settings.grid_overlap_tolerance_m2)
    # First, before anything connects: a refusal must not leave an empty SQLite file behind.
    await asyncio.to_thread(check_current, settings.database_url)
    writer_engine = make_engine(settings.database_url, writer=True)
    reader = make_engine(settings.database_url)
    members = await asyncio.to_thread(_prepare_database, writer_engine, grids)
    # On PostgreSQL other instances may share the log: the writer takes the cluster-wide
    # write lock and reads what they wrote (store/log.py); one instance leads the deadlines.
    shared = not is_sqlite(settings.database_url)
    ctx = Context(
        settings=settings,
        admin_token=admin_token,
        clock=clock,
        grids=grids,
        reader=reader,
        writer=LogWriter(
            writer_engine,
            clock,
            lambda events: committed(ctx, events),
            settings.commit_batch_max,
            lock_sql=write_lock_sql(settings.database_url),
            shared=shared,
            on_local_commit=lambda seq: log_grew(ctx, seq),
        ),
        bus=MemoryBus(),
        roster=Roster(max(64, len(members))),
        hub=PatrolHub(),
        policy=policy_from(settings),
        http=httpx.AsyncClient(timeout=settings.webhook_timeout_s),
        cluster=Cluster(settings.bus_url, settings.bus_prefix) if settings.bus_url else None,
        leader=Leadership(settings.database_url if shared else None),
    )
    await refresh_rules(ctx)
    await refresh_partners(ctx)
    for member_id, name, grid_id, skills in members:
        ctx.add_member(member_id, name, grid_id, skills)
    head = await load_live(ctx)  # before the writer starts: it hands on what follows `head`
    checkpointer = Checkpointer(reader) if is_sqlite(settings.database_url) else None
    ctx.writer.start(handed=head)
    if checkpointer:
        checkpointer.start()
    # What startup loaded lives as long as the process: keep it out of every full collection
    # (the benchmark saw 36-239 ms gen-2 pauses as the heap grew).
    gc.freeze()
    background = [
        asyncio.create_task(ctx.leader.run(), name="leader"),
        asyncio.create_task(
            while_leading(ctx.leader, lambda: run_deadlines(ctx)), name="deadlines"
        ),
        asyncio.create_task(
            while_leading(ctx.leader, lambda: run_deliveries(ctx)), name="deliveries"
        ),
    ]
    if ctx.cluster is not None:
        background.append(asyncio.create_task(cluster_run(ctx), name="cluster"))
    elif shared:
        background.append(asyncio.create_task(look_at_the_log(ctx), name="log-tail"))
    try:
        yield ctx
    finally:
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        await ctx.http.aclose()
        await ctx.writer.stop()
        if checkpointer:
            await asyncio.to_thread(checkpointer.stop)
        writer_engine.dispose()
        reader.dispose()
