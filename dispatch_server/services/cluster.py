"""This instance's part in a cluster (DISPATCH_BUS_URL=redis://...): what it tells the
others, and what it takes from them.

- The log: after each commit, "the log has grown to seq N". The others read the
  new events from the database (LogWriter.tail), in seq order, whoever wrote
  them; a notice lost on the way costs at most the once-a-second look at the log.
- Presence: twice a second, which members are connected here, when each was last
  heard and where, and how many duty consoles are open here. Every instance
  ranks responders and supervises patrols from the same picture, and an alarm
  is "unattended" only when no console is open anywhere.
- Reloads: settings kept in memory (members, escalation rules, partners,
  check-in rules) changed through one instance are reloaded by the others.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, select

from dispatch_server.bus.redis import RedisLink
from dispatch_server.domain.roster import Fix, Roster
from dispatch_server.store.tables import MEMBER

if TYPE_CHECKING:
    from dispatch_server.services.context import Context

log = logging.getLogger(__name__)

PRESENCE_EVERY_S = 0.5
TAIL_EVERY_S = 1.0
# A peer not heard from for this long has gone: its consoles no longer count.
PEER_TIMEOUT_S = 3.0
RELOAD_EVERY_S = 30.0
RELOADABLE = ("members", "escalation_rules", "partners", "check_in_rules")


@dataclass
class Peer:
    consoles: int
    seen: float
    members: set[int] = field(default_factory=set)


class Cluster:
    def __init__(self, url: str, prefix: str = "dispatch") -> None:
        self.instance = secrets.token_hex(4)
        self.link = RedisLink(url, prefix)
        self.peers: dict[str, Peer] = {}
        self.reloads: asyncio.Queue[str] = asyncio.Queue(100)

    def consoles_elsewhere(self, now: float) -> int:
        return sum(p.consoles for p in self.peers.values() if now - p.seen < PEER_TIMEOUT_S)


def log_grew(ctx: Context, seq: int) -> None:
    """After a local commit: tell the others to read the log up to `seq`."""
    if ctx.cluster is not None:
        ctx.cluster.link.publish("log", {"from": ctx.cluster.instance, "seq": seq})


def reload(ctx: Context, what: str) -> None:
    """After an administrator's change kept in memory: the others reload it too."""
    if ctx.cluster is not None:
        ctx.cluster.link.publish("reload", {"from": ctx.cluster.instance, "what": what})


def consoles_open(ctx: Context) -> int:
    """Duty consoles open anywhere in the cluster."""
    if ctx.cluster is None:
        return int(ctx.consoles)
    return int(ctx.consoles) + ctx.cluster.consoles_elsewhere(ctx.clock())


def presence(ctx: Context) -> dict[str, Any]:
    """What this instance knows first-hand: its consoles, and the handhelds connected here."""
    roster = ctx.roster
    members = []
    for member_id in ctx.hub.members():
        if member_id not in roster:
            continue
        i = roster.row[member_id]
        fix = roster.fix(member_id)
        entry: list[Any] = [member_id, float(roster.last_seen[i])]
        if fix is not None:
            entry += [fix.x, fix.y, fix.accuracy_m, fix.at]
        members.append(entry)
    assert ctx.cluster is not None
    return {"from": ctx.cluster.instance, "consoles": ctx.consoles, "members": members}


def merge_presence(
    cluster: Cluster,
    roster: Roster,
    here: Callable[[int], bool],
    now: float,
    message: dict[str, Any],
) -> None:
    """Another instance's first-hand picture into ours: newer than ours wins, member by
    member; a member connected `here` is ours to report, not theirs."""
    sender = message["from"]
    if sender == cluster.instance:
        return
    peer = cluster.peers.setdefault(sender, Peer(0, 0.0))
    peer.consoles = int(message["consoles"])
    peer.seen = now
    there: set[int] = set()
    for entry in message["members"]:
        member_id = int(entry[0])
        if member_id not in roster or here(member_id):
            continue  # unknown yet (a reload will bring it), or connected here
        there.add(member_id)
        i = roster.row[member_id]
        roster.connected[i] = True
        roster.last_seen[i] = max(float(roster.last_seen[i]), float(entry[1]))
        if len(entry) > 2 and not float(entry[5]) <= float(roster.fix_at[i]):
            roster.set_fix(
                member_id, Fix(float(entry[2]), float(entry[3]), entry[4], float(entry[5]))
            )
    for member_id in peer.members - there:
        if member_id in roster and not here(member_id):
            roster.connected[roster.row[member_id]] = False  # gone from there; last_seen stays
    peer.members = there


def apply_presence(ctx: Context, message: dict[str, Any]) -> None:
    assert ctx.cluster is not None
    merge_presence(ctx.cluster, ctx.roster, ctx.hub.has, ctx.clock(), message)
    ctx.scheduler.wake()  # someone silent may be heard again, or the reverse


def _members(conn: Connection) -> list[Any]:
    return list(conn.execute(select(MEMBER.c.id, MEMBER.c.name, MEMBER.c.grid_id, MEMBER.c.skills)))


async def reload_now(ctx: Context, what: str) -> None:
    """Bring one in-memory setting up to date with the database."""
    from dispatch_server.services import check_ins, escalation

    if what == "members":
        for row in await ctx.read(_members):
            if row.id not in ctx.roster:
                ctx.add_member(row.id, row.name, row.grid_id, list(row.skills))
    elif what == "escalation_rules":
        await escalation.refresh_rules(ctx)
    elif what == "partners":
        await escalation.refresh_partners(ctx)
    elif what == "check_in_rules":
        await check_ins.refresh_rules(ctx)
    else:
        log.warning("unknown reload %r", what)


async def look_at_the_log(ctx: Context, duty: str = "cluster") -> None:
    """Once a second, whatever the notices say: a lost notice delays, never loses."""
    while True:
        await asyncio.sleep(TAIL_EVERY_S)
        ctx.writer.tail()
        ctx.supervisor.beat(duty)


async def run(ctx: Context) -> None:
    """Listen, publish presence, look at the log now and then, reload what others changed:
    until cancelled."""
    cluster = ctx.cluster
    assert cluster is not None
    link = cluster.link

    def on_reload(message: dict[str, Any]) -> None:
        if message["from"] != cluster.instance and not cluster.reloads.full():
            cluster.reloads.put_nowait(str(message["what"]))

    def on_log(message: dict[str, Any]) -> None:
        if message["from"] != cluster.instance:
            ctx.writer.tail()

    link.on("log", on_log)
    link.on("presence", lambda m: apply_presence(ctx, m))
    link.on("reload", on_reload)

    async def heartbeat() -> None:
        while True:
            link.publish("presence", presence(ctx))
            ctx.supervisor.beat("cluster")
            await asyncio.sleep(PRESENCE_EVERY_S)

    async def reloading() -> None:
        while True:
            # A notice, or every RELOAD_EVERY_S anyway: a notice lost while Redis was down
            # delays a change by that much, never forever.
            try:
                async with asyncio.timeout(RELOAD_EVERY_S):
                    wanted = [await cluster.reloads.get()]
            except TimeoutError:
                wanted = list(RELOADABLE)
            for what in wanted:
                try:
                    await reload_now(ctx, what)
                except Exception:  # the database may be away; the next round reloads again
                    log.exception("reload of %s failed", what)

    async with asyncio.TaskGroup() as tasks:
        tasks.create_task(link.run())
        tasks.create_task(heartbeat())
        tasks.create_task(look_at_the_log(ctx))
        tasks.create_task(reloading())
