"""The runtime: the one module that knows every component. It builds them, starts every
background duty under the supervisor, hands the context to the handlers as lifespan
state, and tears it all down in reverse order.

Who owns what:
- the log writer (store/log.py) owns every write; the observer (services/observer.py)
  folds each committed batch into live state before any caller hears "done";
- the scheduler (duties/scheduler.py) owns the clocks: roll calls, supervision,
  check-ins and escalation are clock sources registered here; anything that adds a
  deadline calls `ctx.scheduler.wake(at)`;
- the supervisor (duties/supervisor.py) owns every background duty: it restarts a
  failed one with backoff, watches progress, and reports to health, consoles and log;
- leadership (services/leader.py) says whether this instance keeps the clocks.

A new clock source goes in `clock_sources`; a new background duty in `_start_duties`;
a new socket in sockets.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial

import httpx
from sqlalchemy import Engine, select

from dispatch_server.bus.link import link_for
from dispatch_server.bus.memory import MemoryBus
from dispatch_server.bus.presence import Cluster
from dispatch_server.clock import Clock
from dispatch_server.domain.responders import RankPolicy
from dispatch_server.domain.roster import Roster
from dispatch_server.duties.scheduler import Scheduler, Source
from dispatch_server.duties.supervisor import WATCHDOG, Supervisor
from dispatch_server.geo.index import GridIndex
from dispatch_server.live.hub import PatrolHub
from dispatch_server.services import (
    check_ins,
    cluster,
    coverage,
    drills,
    duty_room,
    escalation,
    grid_sets,
    observer,
    people,
    roll_calls,
    shifts,
    supervision,
    team_watch,
)
from dispatch_server.services.cluster import consoles_open
from dispatch_server.services.context import Context
from dispatch_server.services.deliveries import DELIVERIES, run_deliveries
from dispatch_server.services.duty_log import DUTY_LOG
from dispatch_server.services.leader import Leadership, while_leading
from dispatch_server.services.metrics import LOOP_LAG, Live, Metrics, probe_loop_lag, registry
from dispatch_server.services.retention import RETENTION, Retention
from dispatch_server.settings import Settings
from dispatch_server.store import inuse
from dispatch_server.store.engine import (
    Checkpointer,
    is_sqlite,
    make_engine,
    sqlite_file,
    write_lock_sql,
)
from dispatch_server.store.log import LogWriter
from dispatch_server.store.schema import check_current
from dispatch_server.store.tables import MEMBER

CHECKPOINTS = "checkpoints"
LOG_WRITER = "log_writer"
log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def running(settings: Settings, admin_token: str, clock: Clock) -> AsyncIterator[Context]:
    """Build the context, run its background duties under supervision, and tear it all down
    in reverse order; a start that fails half-way closes what it had opened."""
    async with assembled(settings, admin_token, clock) as ctx:
        tasks = _start_duties(ctx)
        try:
            yield ctx
        finally:
            await _cancel(tasks)


@contextlib.asynccontextmanager
async def assembled(settings: Settings, admin_token: str, clock: Clock) -> AsyncIterator[Context]:
    """The components built and the writer running, but no background duty: what a unit
    test of a service drives by hand (it calls `apply_due(now)` itself, with its own clock)."""
    async with contextlib.AsyncExitStack() as stack:
        yield await _build(stack, settings, admin_token, clock)


def policy_from(settings: Settings) -> RankPolicy:
    return RankPolicy(
        listed=settings.responders_listed,
        fresh_fix_s=settings.fresh_fix_s,
        offline_after_s=settings.offline_after_s,
        skill_bonus_m=settings.skill_bonus_m,
    )


def _prepare_database(
    engine: Engine, grids: GridIndex, now: float
) -> list[tuple[int, str, str, list[str]]]:
    """Data the server keeps in step on start (grids, default escalation rules), and the
    members to load. The schema is the migrations' business (store/schema.py)."""
    with engine.begin() as conn:
        # The grid table follows the map chosen; grids it lacks are retired, never deleted.
        grid_sets.keep_grids(conn, list(grids.grids.values()), now)
        escalation.seed_rules(conn)
        rows = conn.execute(
            select(
                MEMBER.c.id,
                MEMBER.c.name,
                MEMBER.c.grid_id,
                MEMBER.c.skills,
                MEMBER.c.deactivated_at,
            ).order_by(MEMBER.c.id)
        ).all()
    missing = sorted({r.grid_id for r in rows if r.deactivated_at is None} - set(grids.grids))
    if missing:
        raise RuntimeError(
            f"members belong to grids that the map no longer has: {', '.join(missing)}"
        )
    return [(r.id, r.name, r.grid_id, list(r.skills)) for r in rows]


async def _build(
    stack: contextlib.AsyncExitStack, settings: Settings, admin_token: str, clock: Clock
) -> Context:
    # First, before anything connects: a refusal must not leave an empty SQLite file behind.
    await asyncio.to_thread(check_current, settings.database_url)
    if (database := sqlite_file(settings.database_url)) is not None:
        # Says "live" to `restore`, and refuses to start while a restore is copying in.
        stack.enter_context(inuse.serving(database))
    writer_engine = make_engine(settings.database_url, writer=True)
    stack.callback(writer_engine.dispose)
    reader = make_engine(settings.database_url)
    stack.callback(reader.dispose)
    chosen = await asyncio.to_thread(grid_sets.choose_grids, reader, settings)
    grids = chosen.grids
    members = await asyncio.to_thread(_prepare_database, writer_engine, grids, clock())
    # On PostgreSQL other instances may share the log: the writer takes the cluster-wide
    # write lock and reads what they wrote (store/log.py); one instance leads the deadlines.
    shared = not is_sqlite(settings.database_url)
    supervisor = Supervisor(clock)
    leader = Leadership(settings.database_url if shared else None)
    http = httpx.AsyncClient(timeout=settings.webhook_timeout_s)
    stack.push_async_callback(http.aclose)
    metrics = Metrics()  # before the context: the writer's thread reports to it directly
    ctx = Context(
        settings=settings,
        admin_token=admin_token,
        clock=clock,
        grids=grids,
        reader=reader,
        writer=LogWriter(
            writer_engine,
            clock,
            lambda events: observer.committed(ctx, events),
            settings.commit_batch_max,
            lock_sql=write_lock_sql(settings.database_url),
            shared=shared,
            on_local_commit=lambda seq: cluster.log_grew(ctx, seq),
            on_batch=lambda failure: _writer_progress(supervisor, failure),
            on_timed=metrics.batch,
        ),
        bus=MemoryBus(),
        roster=Roster(max(64, len(members))),
        hub=PatrolHub(),
        policy=policy_from(settings),
        supervisor=supervisor,
        scheduler=Scheduler(clock, supervisor, active=lambda: leader.leading),
        http=http,
        cluster=Cluster(link_for(settings.bus_url, settings.bus_prefix)),
        leader=leader,
        grid_set_id=chosen.grid_set_id,
        metrics=metrics,
    )
    ctx.registry = registry(
        Live(
            ctx.metrics,
            handhelds=ctx.hub.connected,
            on_shift=lambda: int(ctx.roster.on_shift[: len(ctx.roster)].sum()),
            consoles=lambda: consoles_open(ctx),
            duties=lambda: [
                (d.name, d.failing_since is not None, d.failures)
                for d in sorted(supervisor.duties.values(), key=lambda d: d.name)
            ],
        )
    )
    ctx.reloads.update(
        members=partial(people.reload_members, ctx),
        escalation_rules=partial(escalation.refresh_rules, ctx),
        partners=partial(escalation.refresh_partners, ctx),
        check_in_rules=partial(check_ins.refresh_rules, ctx),
        grids=partial(grid_sets.reload_grids, ctx),
        roster_plan=partial(shifts.refresh_plan, ctx),
    )
    await shifts.refresh_plan(ctx)
    await escalation.refresh_rules(ctx)
    await escalation.refresh_partners(ctx)
    for member_id, name, grid_id, skills in members:
        ctx.add_member(member_id, name, grid_id, skills)
    # Before the writer starts: it hands on what follows `head`.
    head = await observer.load_live(ctx)
    supervisor.register(LOG_WRITER, expected_s=30.0, active=lambda: ctx.writer.pending > 0)
    supervisor.register(observer.LIVE_STATE)
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
    """The clocks, each stepped in a guard of its own by the scheduler."""
    retention = Retention(ctx)
    room = duty_room.RoomWatch(ctx)
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
        Source(RETENTION, retention.next_check, retention.apply_due),
        Source(duty_room.NAME, room.next_check, room.apply_due),
        Source("drills", lambda: drills.next_check(ctx), partial(drills.apply_due, ctx)),
        Source(
            coverage.COVERAGE, lambda: coverage.next_check(ctx), partial(coverage.apply_due, ctx)
        ),
        Source(
            team_watch.TEAM_WATCH,
            lambda: team_watch.next_check(ctx),
            partial(team_watch.apply_due, ctx),
        ),
    ]


def _start_duties(ctx: Context) -> list[asyncio.Task[None]]:
    """Every background duty, each under the supervisor: restarted with backoff when it fails,
    watched for progress, and shown in health, on the consoles and in the log."""
    sup, leader = ctx.supervisor, ctx.leader
    for source in clock_sources(ctx):
        ctx.scheduler.register(source)
    sup.register(DELIVERIES, expected_s=60.0, active=lambda: leader.leading)
    sup.register(DUTY_LOG)
    sup.register(WATCHDOG)
    sup.register(LOOP_LAG)
    sup.on_change(ctx.duty_log.tell)
    duties: dict[str, Callable[[], Awaitable[None]]] = {
        WATCHDOG: sup.watch,
        LOOP_LAG: lambda: probe_loop_lag(ctx.metrics, lambda: sup.beat(LOOP_LAG)),
        "scheduler": lambda: while_leading(leader, ctx.scheduler.run),
        DELIVERIES: lambda: while_leading(leader, lambda: run_deliveries(ctx)),
        DUTY_LOG: lambda: ctx.duty_log.run(ctx.writer, lambda: sup.beat(DUTY_LOG)),
    }
    if ctx.leader.elects:
        sup.register("leadership", expected_s=15.0)
        duties["leadership"] = lambda: leader.run(lambda: sup.beat("leadership"))
    if ctx.settings.bus_url is not None:  # others to hear and tell
        sup.register("cluster", expected_s=15.0)
        duties["cluster"] = lambda: cluster.run(ctx)
    elif ctx.leader.elects:
        sup.register("log_tail", expected_s=15.0)
        duties["log_tail"] = lambda: cluster.look_at_the_log(ctx, "log_tail")
    return [asyncio.create_task(sup.keep(name, run), name=name) for name, run in duties.items()]


async def _cancel(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
