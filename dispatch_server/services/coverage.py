"""Coverage gaps on the server: which shift is on, which planned grids are short, and the
`coverage_gap`/`coverage_restored` crossings written to the log (decision 48).

The observer folds both events into `ctx.shorts`, so every instance knows which gaps the
log has open, and one that takes over the clocks (or restarts) says none of them twice.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from sqlalchemy import Connection, select

from dispatch_server.clock import from_iso, iso
from dispatch_server.domain import coverage as domain
from dispatch_server.domain import shifts
from dispatch_server.domain.coverage import Gap, Short
from dispatch_server.domain.events import Event, EventType, NewEvent
from dispatch_server.domain.shifts import Shift
from dispatch_server.services.context import Context
from dispatch_server.store.log import Tx, row_to_event
from dispatch_server.store.tables import EVENT

COVERAGE = "coverage"  # the clock source's name, for the supervisor
EVENTS = (EventType.COVERAGE_GAP, EventType.COVERAGE_RESTORED)


def current_shift(ctx: Context, now: float) -> Shift | None:
    return shifts.current(now, ctx.settings.shift_windows(), ctx.settings.zone())


def _append(tx: Tx, event: NewEvent) -> None:
    tx.append(event)


def _data(gap: Gap, minimum: int) -> dict[str, Any]:
    data: dict[str, Any] = {
        "grid_id": gap.grid_id,
        "shift": gap.shift.value,
        "on_shift": gap.on_shift,
        "minimum": minimum,
        "since": iso(gap.since),
    }
    if gap.why is not None:
        data["why"] = gap.why.value
    return data


async def apply_due(ctx: Context, now: float) -> None:
    settings = ctx.settings
    shift = current_shift(ctx, now)
    planned = ctx.planned.get(shift, set()) if shift is not None else set()
    counts = domain.staffed(ctx.roster)
    minimum = settings.coverage_min_on_shift
    after, gaps = domain.step(
        ctx.shorts, shift, planned, counts, now, minimum, settings.coverage_grace_s
    )
    for gap in gaps:
        kind = EventType.COVERAGE_GAP if gap.why is None else EventType.COVERAGE_RESTORED
        event = NewEvent(kind, "system:coverage", None, _data(gap, minimum))
        await ctx.writer.run(partial(_append, event=event))
    # Only once written: a write that failed leaves every gap still to say next time.
    ctx.shorts = after


def next_check(ctx: Context) -> float | None:
    due = domain.next_due(ctx.shorts, ctx.settings.coverage_grace_s)
    edge = shifts.next_change(ctx.clock(), ctx.settings.shift_windows(), ctx.settings.zone())
    times = [t for t in (due, edge) if t is not None]
    return min(times) if times else None


def fold(shorts: dict[str, Short], event: Event) -> None:
    """A crossing from the log into the open gaps (`ctx.shorts`)."""
    d = event.data
    shift = Shift(d["shift"])
    if event.type is EventType.COVERAGE_GAP:
        shorts[d["grid_id"]] = Short(shift, from_iso(d["since"]), said=True)
    elif (short := shorts.get(d["grid_id"])) is not None and short.shift == shift:
        del shorts[d["grid_id"]]


def load(conn: Connection) -> dict[str, Short]:
    """The gaps the log has open: its coverage events, folded in order."""
    shorts: dict[str, Short] = {}
    rows = conn.execute(
        select(EVENT).where(EVENT.c.type.in_([e.value for e in EVENTS])).order_by(EVENT.c.seq)
    )
    for row in rows:
        fold(shorts, row_to_event(row))
    return shorts


def view(ctx: Context) -> list[dict[str, Any]]:
    """Open gaps, for the console."""
    minimum = ctx.settings.coverage_min_on_shift
    counts = domain.staffed(ctx.roster)
    return [
        {
            "grid_id": g,
            "shift": s.shift.value,
            "on_shift": counts.get(g, 0),
            "minimum": minimum,
            "since": iso(s.since),
        }
        for g, s in sorted(ctx.shorts.items())
        if s.said
    ]
