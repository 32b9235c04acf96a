"""Lone-worker check-ins on the server: rules, check-ins, and the warning/overdue steps.

An overdue member opens an incident at their last position, in the same
transaction as the `check_in_overdue` event, with an alert_id made from the
member and the missed check-in, so it can never be opened twice.
"""

from __future__ import annotations

import uuid
from functools import partial
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from dispatch_server.clock import iso
from dispatch_server.domain import check_ins as domain
from dispatch_server.domain.check_ins import CheckIn, Rule
from dispatch_server.domain.events import Event, EventType, NewEvent
from dispatch_server.domain.incidents import Source
from dispatch_server.protocol.frames import Alert, Category, CheckInDue
from dispatch_server.services import cluster
from dispatch_server.services.context import Context
from dispatch_server.services.effects import Deliver, Effect, Wake
from dispatch_server.services.intake import open_incident, opening_data
from dispatch_server.store.log import Tx
from dispatch_server.store.tables import CHECK_IN_RULE, MEMBER

OVERDUE_IDS = uuid.UUID("0b8f3a4e-51c2-4a55-9d2f-3e7c1a9b6d20")
STEP = {CheckIn.WARNING: EventType.CHECK_IN_WARNING, CheckIn.OVERDUE: EventType.CHECK_IN_OVERDUE}


# --- rules --------------------------------------------------------------------------


def load_rules(conn: Connection) -> tuple[dict[int, Rule], dict[str, Rule]]:
    by_member: dict[int, Rule] = {}
    by_grid: dict[str, Rule] = {}
    for r in conn.execute(select(CHECK_IN_RULE)).all():
        rule = Rule(r.period_s, r.overdue_after_s)
        if r.member_id is not None:
            by_member[r.member_id] = rule
        else:
            by_grid[r.grid_id] = rule
    return by_member, by_grid


def apply_rules(ctx: Context) -> None:
    """Copy each member's effective rule into the roster, where the deadline check reads it."""
    roster = ctx.roster
    by_member, by_grid = ctx.check_in_rules
    for i, member_id in enumerate(roster.ids):
        rule = domain.rule_for(member_id, roster.grids[i], by_member, by_grid)
        domain.set_rule(roster, member_id, rule)
    ctx.scheduler.wake()


def _set_rule(
    tx: Tx, grid_id: str | None, member_id: int | None, rule: Rule | None, who: str
) -> None:
    key = (
        CHECK_IN_RULE.c.member_id == member_id
        if member_id is not None
        else CHECK_IN_RULE.c.grid_id == grid_id
    )
    tx.conn.execute(delete(CHECK_IN_RULE).where(key))
    if rule is not None:
        row = {"grid_id": grid_id, "member_id": member_id, **rule.__dict__}
        tx.conn.execute(insert(CHECK_IN_RULE), row)
    target = {"member_id": member_id} if member_id is not None else {"grid_id": grid_id}
    data = {
        **target,
        "period_s": None if rule is None else rule.period_s,
        "overdue_after_s": None if rule is None else rule.overdue_after_s,
    }
    tx.append(NewEvent(EventType.CHECK_IN_RULE_SET, who, None, data))


async def refresh_rules(ctx: Context) -> None:
    """The rules as stored, copied onto every member's roster row."""
    ctx.check_in_rules = await ctx.read(load_rules)
    apply_rules(ctx)


async def set_rule(
    ctx: Context,
    grid_id: str | None,
    member_id: int | None,
    rule: Rule | None,
    who: str = "admin:0",
) -> None:
    """Set (None: remove) one grid's or member's rule, logged as `check_in_rule_set`."""
    await ctx.writer.run(lambda tx: _set_rule(tx, grid_id, member_id, rule, who))
    await refresh_rules(ctx)
    cluster.reload(ctx, "check_in_rules")


def rules_view(ctx: Context) -> list[dict[str, Any]]:
    by_member, by_grid = ctx.check_in_rules
    return [{"grid_id": g, **r.__dict__} for g, r in sorted(by_grid.items())] + [
        {"member_id": m, **r.__dict__} for m, r in sorted(by_member.items())
    ]


# --- check-ins and steps ------------------------------------------------------------------


def _check_in(tx: Tx, member_id: int) -> None:
    grid_id = tx.conn.execute(select(MEMBER.c.grid_id).where(MEMBER.c.id == member_id)).scalar_one()
    data = {"member_id": member_id, "grid_id": grid_id}
    tx.append(NewEvent(EventType.MEMBER_CHECKED_IN, f"member:{member_id}", None, data))
    tx.conn.execute(
        update(MEMBER)
        .where(MEMBER.c.id == member_id)
        .values(last_check_in=tx.now, check_in_state=0)
    )


async def check_in(ctx: Context, member_id: int) -> None:
    await ctx.writer.run(lambda tx: _check_in(tx, member_id))


def _advance(
    tx: Tx, member_id: int, state: CheckIn, missed: float, incident: dict[str, Any] | None
) -> bool:
    """Write the step, decided on live state whose last check-in was `missed`; whether the
    member row now says it (written, or said already)."""
    row = tx.conn.execute(
        select(MEMBER.c.grid_id, MEMBER.c.check_in_state, MEMBER.c.last_check_in).where(
            MEMBER.c.id == member_id
        )
    ).one()
    if row.check_in_state >= state:
        return True  # already said
    if row.last_check_in is not None and row.last_check_in > missed:
        # A check-in (or a shift start) landed since live state was read, maybe in this
        # very group commit: it wins, as an acknowledgement wins over an escalation step.
        return False
    data: dict[str, Any] = {"member_id": member_id, "grid_id": row.grid_id}
    if incident is not None:
        data["incident_id"], _ = open_incident(tx, member_id, incident)
    tx.append(NewEvent(STEP[state], "system:check-in", None, data))
    tx.conn.execute(
        update(MEMBER).where(MEMBER.c.id == member_id).values(check_in_state=int(state))
    )
    return True


async def apply_due(ctx: Context, now: float) -> None:
    roster = ctx.roster
    # Each with the last check-in it was decided on, read now: live state moves on while
    # the steps before it are written.
    due = [(m, s, float(roster.last_check_in[roster.row[m]])) for m, s in domain.due(roster, now)]
    for member_id, state, missed in due:
        incident = None
        if state is CheckIn.OVERDUE:
            alert = Alert(
                type="alert",
                alert_id=uuid.uuid5(OVERDUE_IDS, f"{member_id}:{missed}"),
                category=Category.OTHER,
            )
            # `source: check_in` says what it is; the console words it (issue 12).
            incident = opening_data(ctx, member_id, alert, now, Source.CHECK_IN)
        said = await ctx.writer.run(
            partial(_advance, member_id=member_id, state=state, missed=missed, incident=incident)
        )
        # Normally the event already did this; if the log had it before, this stops a re-check.
        # Not when a check-in won: live state has it (folded before this returns).
        if said:
            i = roster.row[member_id]
            roster.check_in_state[i] = max(int(roster.check_in_state[i]), int(state))


def next_check(ctx: Context) -> float | None:
    return domain.next_due(ctx.roster)


def apply(ctx: Context, event: Event) -> list[Effect]:
    """Live state (called by the observer), and the prompt on the member's handheld."""
    member_id = event.data["member_id"]
    if member_id not in ctx.roster:
        return []
    i = ctx.roster.row[member_id]
    if event.type in (EventType.MEMBER_CHECKED_IN, EventType.SHIFT_STARTED):
        ctx.roster.last_check_in[i] = event.at
        ctx.roster.check_in_state[i] = CheckIn.OK
        return [Wake()]
    state = CheckIn.WARNING if event.type is EventType.CHECK_IN_WARNING else CheckIn.OVERDUE
    ctx.roster.check_in_state[i] = state
    return [Deliver(member_id, CheckInDue(state=state.name.lower(), since=iso(event.at)))]
