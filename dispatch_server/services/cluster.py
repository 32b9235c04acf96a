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
from typing import Any

from dispatch_server.bus.presence import merge_presence
from dispatch_server.geo.projection import LocalProjection
from dispatch_server.services.context import Context

log = logging.getLogger(__name__)

PRESENCE_EVERY_S = 0.5
TAIL_EVERY_S = 1.0
RELOAD_EVERY_S = 30.0


def log_grew(ctx: Context, seq: int) -> None:
    """After a local commit: tell the others to read the log up to `seq`."""
    ctx.cluster.link.publish("log", {"from": ctx.cluster.instance, "seq": seq})


def reload(ctx: Context, what: str) -> None:
    """After an administrator's change kept in memory: the others reload it too."""
    ctx.cluster.link.publish("reload", {"from": ctx.cluster.instance, "what": what})


def consoles_open(ctx: Context) -> int:
    """Duty consoles open anywhere in the cluster."""
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
    projection = ctx.grids.projection
    return {
        "from": ctx.cluster.instance,
        "consoles": ctx.consoles,
        "members": members,
        # Fixes are in this instance's metres: the centre they are measured from.
        "origin": [projection.lon0, projection.lat0],
    }


def apply_presence(ctx: Context, message: dict[str, Any]) -> None:
    merge_presence(ctx.cluster, ctx.roster, ctx.hub.has, ctx.clock(), in_our_metres(ctx, message))
    ctx.scheduler.wake()  # someone silent may be heard again, or the reverse


def in_our_metres(ctx: Context, message: dict[str, Any]) -> dict[str, Any]:
    """A peer's presence with its fixes moved into this instance's metres. Instances swap to
    a new grid set a moment apart (decision 45), and the projection is centred on the grids:
    for that moment a peer measures from another centre."""
    origin = message.get("origin")
    ours = ctx.grids.projection
    if origin is None or (float(origin[0]), float(origin[1])) == (ours.lon0, ours.lat0):
        return message
    theirs = LocalProjection(float(origin[0]), float(origin[1]))

    def moved(entry: list[Any]) -> list[Any]:
        if len(entry) <= 2:
            return entry
        x, y = ours.to_xy(*theirs.to_lonlat(float(entry[2]), float(entry[3])))
        return [entry[0], entry[1], x, y, *entry[4:]]

    return {**message, "members": [moved(e) for e in message["members"]]}


async def reload_now(ctx: Context, what: str) -> None:
    """Bring one in-memory setting up to date with the database (the runtime registers how,
    in `ctx.reloads`: this module knows no service)."""
    refresh = ctx.reloads.get(what)
    if refresh is None:
        log.warning("unknown reload %r", what)
        return
    await refresh()


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
                wanted = list(ctx.reloads)
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
