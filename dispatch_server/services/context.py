"""Everything a request or socket handler needs, built once in the app's lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
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
from dispatch_server.duties.scheduler import Scheduler, Source
from dispatch_server.duties.supervisor import Supervisor
from dispatch_server.geo.grids import load_grids
from dispatch_server.geo.index import GridIndex
from dispatch_server.live.hub import PatrolHub
from dispatch_server.services.auth import Kind as PrincipalKind
from dispatch_server.services.auth import Principal, is_admin, lookup
from dispatch_server.services.cluster import Cluster, log_grew
from dispatch_server.services.duty_log import DUTY_LOG, DutyLog
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
    # Every background duty reports here; health and the consoles show what it says.
    supervisor: Supervisor
    # The one clock loop: call `scheduler.wake(at)` after adding a deadline.
    scheduler: Scheduler
    # Open incidents, folded from the log and kept in step by the observer.
    active: dict[int, Incident] = field(default_factory=dict)
    # Open roll calls, kept in step the same way.
    roll_calls: dict[int, RollCall] = field(default_factory=dict)
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
    # Changes of duty state, on their way to the log.
    duty_log: DutyLog = field(default_factory=DutyLog)

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
    """Build the context, run its background duties under supervision, and tear it all down
    in reverse order; a start that fails half-way closes what it had opened."""
    async with contextlib.AsyncExitStack() as stack:
        ctx = await _build(stack, settings, admin_token, clock)
        tasks = _start_duties(ctx)
        stack.push_async_callback(_cancel, tasks)
        yield ctx


async def _build(
    stack: contextlib.AsyncExitStack, settings: Settings, admin_token: str, clock: Clock
) -> Context:
    from dispatch_server.services.escalation import refresh_partners, refresh_rules
    from dispatch_server.services.observer import committed, load_live

    grids = GridIndex(load_grids(settings.grids), settings.grid_overlap_tolerance_m2)
    # First, before anything connects: a refusal must not leave an empty SQLite file behind.
    await asyncio.to_thread(check_current, settings.database_url)
    writer_engine = make_engine(settings.database_url, writer=True)
    stack.callback(writer_engine.dispose)
    reader = make_engine(settings.database_url)
    stack.callback(reader.dispose)
    members = await asyncio.to_thread(_prepare_database, writer_engine, grids)
    # On PostgreSQL other instances may share the log: the writer takes the cluster-wide
    # write lock and reads what they wrote (store/log.py); one instance leads the deadlines.
    shared = not is_sqlite(settings.database_url)
    supervisor = Supervisor(clock)
    leader = Leadership(settings.database_url if shared else None)
    http = httpx.AsyncClient(timeout=settings.webhook_timeout_s)
    stack.push_async_callback(http.aclose)
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
            on_batch=lambda failure: _writer_progress(supervisor, failure),
        ),
        bus=MemoryBus(),
        roster=Roster(max(64, len(members))),
        hub=PatrolHub(),
        policy=policy_from(settings),
        supervisor=supervisor,
        scheduler=Scheduler(clock, supervisor, active=lambda: leader.leading),
        http=http,
        cluster=Cluster(settings.bus_url, settings.bus_prefix) if settings.bus_url else None,
        leader=leader,
    )
    await refresh_rules(ctx)
    await refresh_partners(ctx)
    for member_id, name, grid_id, skills in members:
        ctx.add_member(member_id, name, grid_id, skills)
    head = await load_live(ctx)  # before the writer starts: it hands on what follows `head`
    ctx.writer.start(handed=head)
    stack.push_async_callback(ctx.writer.stop)
    if is_sqlite(settings.database_url):
        supervisor.register(CHECKPOINTS, expected_s=30.0)
        checkpointer = Checkpointer(
            reader, on_done=lambda failure: _thread_progress(supervisor, CHECKPOINTS, failure)
        )
        checkpointer.start()
        stack.push_async_callback(asyncio.to_thread, checkpointer.stop)
    # What startup loaded lives as long as the process: keep it out of every full collection
    # (the benchmark saw 36-239 ms gen-2 pauses as the heap grew).
    gc.freeze()
    return ctx


CHECKPOINTS = "checkpoints"
LOG_WRITER = "log_writer"


def _writer_progress(supervisor: Supervisor, failure: BaseException | None) -> None:
    if failure is None:
        supervisor.beat(LOG_WRITER)
    else:
        supervisor.failed(LOG_WRITER, failure)


def _thread_progress(supervisor: Supervisor, name: str, failure: BaseException | None) -> None:
    if failure is None:
        supervisor.beat_from_thread(name)
    else:
        supervisor.failed_from_thread(name, failure)


def clock_sources(ctx: Context) -> list[Source]:
    """The four clocks, each stepped in a guard of its own by the scheduler."""
    from dispatch_server.services import check_ins, escalation, roll_calls, supervision

    return [
        Source(
            "roll_calls", lambda: roll_calls.next_check(ctx), partial(roll_calls.close_due, ctx)
        ),
        Source(
            "supervision", lambda: supervision.next_check(ctx), partial(supervision.apply_due, ctx)
        ),
        Source("check_ins", lambda: check_ins.next_check(ctx), partial(check_ins.apply_due, ctx)),
        Source(
            "escalation", lambda: escalation.next_check(ctx), partial(escalation.apply_due, ctx)
        ),
    ]


def _start_duties(ctx: Context) -> list[asyncio.Task[None]]:
    """Every background duty, each under the supervisor: restarted with backoff when it fails,
    watched for progress, and shown in health, on the consoles and in the log."""
    from dispatch_server.services.cluster import look_at_the_log
    from dispatch_server.services.cluster import run as cluster_run
    from dispatch_server.services.escalation import DELIVERIES, run_deliveries

    sup, leader = ctx.supervisor, ctx.leader
    for source in clock_sources(ctx):
        ctx.scheduler.register(source)
    sup.register(LOG_WRITER, expected_s=30.0, active=lambda: ctx.writer.pending > 0)
    sup.register(DELIVERIES, expected_s=60.0, active=lambda: leader.leading)
    sup.register(DUTY_LOG)
    sup.register("watchdog")
    sup.on_change(ctx.duty_log.tell)
    duties: dict[str, Callable[[], Awaitable[None]]] = {
        "watchdog": sup.watch,
        "scheduler": lambda: while_leading(leader, ctx.scheduler.run),
        DELIVERIES: lambda: while_leading(leader, lambda: run_deliveries(ctx)),
        DUTY_LOG: lambda: ctx.duty_log.run(ctx.writer, lambda: sup.beat(DUTY_LOG)),
    }
    if ctx.leader.elects:
        sup.register("leadership", expected_s=15.0)
        duties["leadership"] = lambda: leader.run(lambda: sup.beat("leadership"))
    if ctx.cluster is not None:
        sup.register("cluster", expected_s=15.0)
        duties["cluster"] = lambda: cluster_run(ctx)
    elif ctx.leader.elects:
        sup.register("log_tail", expected_s=15.0)
        duties["log_tail"] = lambda: look_at_the_log(ctx, "log_tail")
    return [asyncio.create_task(sup.keep(name, run), name=name) for name, run in duties.items()]


async def _cancel(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
