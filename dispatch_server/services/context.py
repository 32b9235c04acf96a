"""Everything a request or socket handler needs, built once by the runtime (runtime.py).

This module imports no service: every service imports it. What builds, starts and
stops the components is runtime.py, the one module that knows them all.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine

from dispatch_server.bus.base import Bus
from dispatch_server.bus.link import MemoryLink
from dispatch_server.bus.presence import Cluster
from dispatch_server.clock import Clock
from dispatch_server.domain.check_ins import Rule, rule_for
from dispatch_server.domain.check_ins import set_rule as set_check_in_rule
from dispatch_server.domain.coverage import Short
from dispatch_server.domain.escalation import Partner
from dispatch_server.domain.escalation import Rule as EscalationRule
from dispatch_server.domain.incidents import Incident
from dispatch_server.domain.responders import RankPolicy
from dispatch_server.domain.roll_calls import RollCall
from dispatch_server.domain.roster import Roster
from dispatch_server.domain.shifts import Shift
from dispatch_server.domain.skills import Skill, mask
from dispatch_server.domain.team_watch import Flag
from dispatch_server.duties.scheduler import Scheduler
from dispatch_server.duties.supervisor import Supervisor
from dispatch_server.geo.index import GridIndex
from dispatch_server.live.hub import PatrolHub
from dispatch_server.live.sessions import Sessions
from dispatch_server.services.auth import Kind as PrincipalKind
from dispatch_server.services.auth import Principal, is_admin, lookup
from dispatch_server.services.duty_log import DutyLog
from dispatch_server.services.leader import Leadership
from dispatch_server.services.metrics import Metrics
from dispatch_server.settings import Settings
from dispatch_server.store.log import LogWriter

T = TypeVar("T")
NO_HOME = (math.nan, math.nan)


@dataclass
class Context:
    settings: Settings
    admin_token: str
    clock: Clock
    # The map in service; swapped whole when a grid set is applied (services/grid_sets.py).
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
    # Coverage and the team watch (decision 48): the grids with a roster slot per shift,
    # grids short of members now, members far from their team (not yet said), and the
    # members the team watch has flagged. Kept in step with the log by the observer.
    planned: dict[Shift, set[str]] = field(default_factory=dict)
    shorts: dict[str, Short] = field(default_factory=dict)
    far_since: dict[int, float] = field(default_factory=dict)
    team_flags: dict[int, Flag] = field(default_factory=dict)
    team_scanned_at: float = -math.inf  # when the team watch last measured every team
    # Escalation: rules, partners, the client for webhooks, and a wake-up for deliveries.
    escalation_rules: list[EscalationRule] = field(default_factory=list)
    # Each open incident's next escalation step (absent: none), kept by the observer for the
    # incident an event touched, so the deadline check compares floats, not rules.
    escalation_next: dict[int, float] = field(default_factory=dict)
    partners: dict[int, Partner] = field(default_factory=dict)
    # Drills waiting for their time, by id (decision 50), kept by the observer.
    drills_due: dict[int, float] = field(default_factory=dict)
    http: httpx.AsyncClient = field(default_factory=httpx.AsyncClient)
    deliveries_changed: asyncio.Event = field(default_factory=asyncio.Event)
    # Duty consoles connected to this instance now: none means the centre is unattended.
    consoles: int = 0
    # Times a console fell behind and was brought up to date from the log.
    console_resyncs: int = 0
    # Notices to and from the other instances (services/cluster.py): over Redis with
    # DISPATCH_BUS_URL, else an in-memory link that nobody else hears.
    cluster: Cluster = field(default_factory=lambda: Cluster(MemoryLink()))
    # Whether this instance keeps the deadlines (always, on SQLite: services/leader.py).
    leader: Leadership = field(default_factory=lambda: Leadership(None))
    # Changes of duty state, on their way to the log.
    duty_log: DutyLog = field(default_factory=DutyLog)
    # How to bring each in-memory setting up to date with the database, by name (the
    # cluster reloads what another instance changed): filled in by the runtime.
    reloads: dict[str, Callable[[], Awaitable[None]]] = field(default_factory=dict)
    # Every socket open here, by its token's owner: an administrator's revocation closes
    # them (live/sessions.py).
    sessions: Sessions = field(default_factory=Sessions)
    # The applied grid set the map comes from (None: the grid file, DISPATCH_GRIDS).
    grid_set_id: int | None = None
    # Notices for the consoles open here that are not logged events (`grids_changed`).
    console_notices: set[asyncio.Queue[dict[str, Any]]] = field(default_factory=set)
    # What GET /metrics counts as it happens (services/metrics.py); the scrape reads the rest.
    metrics: Metrics = field(default_factory=Metrics)
    # This server's own Prometheus registry (no global one: tests run several servers).
    registry: CollectorRegistry | None = None

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
        # A member of a retired grid can only be a deactivated one (an active member keeps
        # a grid from being removed): no home point.
        home = self.grids.representative_xy(grid_id) if grid_id in self.grids.grids else NO_HOME
        self.roster.add(member_id, name, grid_id, mask([Skill(s) for s in skills]), home)
        set_check_in_rule(
            self.roster, member_id, rule_for(member_id, grid_id, *self.check_in_rules)
        )

    def update_member(
        self, member_id: int, name: str | None, grid_id: str | None, skills: list[str] | None
    ) -> None:
        """The live roster after an administrator's change (None: unchanged): name, grid,
        skills, the grid's home point and the check-in rule that follows from the grid."""
        roster = self.roster
        i = roster.row[member_id]
        name = roster.names[i] if name is None else name
        grid_id = roster.grids[i] if grid_id is None else grid_id
        bits = int(roster.skills[i]) if skills is None else mask([Skill(s) for s in skills])
        roster.update(member_id, name, grid_id, bits, self.grids.representative_xy(grid_id))
        set_check_in_rule(roster, member_id, rule_for(member_id, grid_id, *self.check_in_rules))
