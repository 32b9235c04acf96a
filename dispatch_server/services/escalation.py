"""Escalation on the server: the rules and partners in force, and the escalation step.

An `incident_escalated` event and one `delivery` row per webhook partner are
written in one transaction, so a crash cannot lose a delivery that was owed
(services/deliveries.py sends them). The step is a clock source: the scheduler
calls `apply_due` when `next_check` says so. What partners see is in
services/partners.py.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from sqlalchemy import Connection, delete, insert, select

from dispatch_server.clock import iso
from dispatch_server.domain import drills
from dispatch_server.domain import escalation as domain
from dispatch_server.domain.escalation import Partner, PartnerKind, Rule, Trigger
from dispatch_server.domain.events import EventType, NewEvent
from dispatch_server.domain.incidents import Incident
from dispatch_server.services import cluster
from dispatch_server.services.context import Context
from dispatch_server.services.incidents import append, load
from dispatch_server.store.log import Tx
from dispatch_server.store.tables import DELIVERY, ESCALATION_RULE, INCIDENT_PARTNER, PARTNER

# --- rules and partners ------------------------------------------------------------------


def seed_rules(conn: Connection) -> None:
    """A new database starts with the default 1-3-5 rules, visible and editable."""
    if conn.execute(select(ESCALATION_RULE.c.id).limit(1)).first() is None:
        conn.execute(insert(ESCALATION_RULE), [_rule_row(r) for r in domain.DEFAULT_RULES])


def _rule_row(r: Rule) -> dict[str, Any]:
    return {
        "trigger": r.trigger.value,
        "to": r.to.value,
        "after_s": r.after_s,
        "category": r.category,
        "grid_id": r.grid_id,
    }


def load_rules(conn: Connection) -> list[Rule]:
    rows = conn.execute(select(ESCALATION_RULE).order_by(ESCALATION_RULE.c.id)).all()
    return [
        Rule(r.id, Trigger(r.trigger), PartnerKind(r.to), r.after_s, r.category, r.grid_id)
        for r in rows
    ]


def load_partners(conn: Connection) -> dict[int, Partner]:
    """The partners escalation may reach: a deactivated one never is (decision 44)."""
    return {
        r.id: Partner(
            r.id,
            r.name,
            PartnerKind(r.kind),
            frozenset(r.grids),
            r.webhook_url,
            r.webhook_secret,
            bool(r.accepts_drills),
        )
        for r in conn.execute(select(PARTNER).where(PARTNER.c.deactivated_at.is_(None))).all()
    }


def _replace_rules(tx: Tx, rules: list[Rule], who: str) -> None:
    tx.conn.execute(delete(ESCALATION_RULE))
    if rules:
        tx.conn.execute(insert(ESCALATION_RULE), [_rule_row(r) for r in rules])
    data = {"rules": [_rule_row(r) for r in rules]}
    tx.append(NewEvent(EventType.ESCALATION_RULES_REPLACED, who, None, data))


async def refresh_rules(ctx: Context) -> None:
    """The rules as stored, and each open incident's next step by them."""
    ctx.escalation_rules = await ctx.read(load_rules)
    track_all(ctx)


async def refresh_partners(ctx: Context) -> None:
    ctx.partners = await ctx.read(load_partners)


async def replace_rules(ctx: Context, rules: list[Rule], who: str = "admin:0") -> list[Rule]:
    """The whole list at once, logged as `escalation_rules_replaced` by `who`."""
    await ctx.writer.run(lambda tx: _replace_rules(tx, rules, who))
    await refresh_rules(ctx)
    cluster.reload(ctx, "escalation_rules")
    return ctx.escalation_rules


def rule_view(r: Rule) -> dict[str, Any]:
    return {"rule_id": r.rule_id, **_rule_row(r)}


def partners_for(ctx: Context, rule: Rule, inc: Incident) -> list[int]:
    return sorted(
        p.partner_id for p in ctx.partners.values() if p.kind is rule.to and inc.grid_id in p.grids
    )


# --- the escalation step --------------------------------------------------------------


def _escalate(
    tx: Tx,
    incident_id: int,
    rule: Rule,
    partner_ids: list[int],
    webhooks: list[int],
    skipped: list[int],
) -> None:
    inc = load(tx.conn, incident_id)
    if domain.fire_at(rule, inc) is None:
        return  # fired already, or no longer due (acknowledged, resolved) since we looked
    data: dict[str, Any] = {
        "rule_id": rule.rule_id,
        "trigger": rule.trigger.value,
        "to": rule.to.value,
        # The rule's scope: with trigger and to, the step this was (domain/escalation.py).
        "rule_category": rule.category,
        "rule_grid_id": rule.grid_id,
        "partner_ids": partner_ids,
    }
    if inc.drill:
        # Decision 50: a drill skips partners that did not opt in, and the timeline says so;
        # that is no problem to ring about. While an unannounced drill is hidden, the console
        # is not shown these marks (domain/drills.py).
        data["drill_skipped"] = skipped
        if drills.hidden(inc):
            data["drill_hidden"] = True
    if not partner_ids and not skipped:
        data["problem"] = f"no {rule.to.value} partner covers grid {inc.grid_id}"
    event = append(
        tx, NewEvent(EventType.INCIDENT_ESCALATED, "system:escalation", incident_id, data)
    )
    # A partner already on the incident (an earlier step reached it) stays on it once: a later
    # step to the same partner is a normal step, with its own event and delivery.
    already = set(
        tx.conn.execute(
            select(INCIDENT_PARTNER.c.partner_id).where(
                INCIDENT_PARTNER.c.incident_id == incident_id
            )
        ).scalars()
    )
    for partner_id in partner_ids:
        if partner_id not in already:
            tx.conn.execute(
                insert(INCIDENT_PARTNER), {"incident_id": incident_id, "partner_id": partner_id}
            )
    for partner_id in webhooks:
        tx.conn.execute(
            insert(DELIVERY),
            {
                "incident_id": incident_id,
                "partner_id": partner_id,
                "event_seq": event.seq,
                "state": "pending",
                "attempts": 0,
                "next_attempt_at": tx.now,
            },
        )


def track(ctx: Context, inc: Incident) -> float | None:
    """Remember when this incident's next step falls due (called whenever it changes), and
    return it: the clocks must look by then."""
    at = domain.next_step(inc, ctx.escalation_rules) if inc.incident_id in ctx.active else None
    if at is None:
        ctx.escalation_next.pop(inc.incident_id, None)
    else:
        ctx.escalation_next[inc.incident_id] = at
    return at


def track_all(ctx: Context) -> None:
    """After the rules changed (or at start): every open incident's clock afresh."""
    ctx.escalation_next.clear()
    for inc in ctx.active.values():
        track(ctx, inc)
    ctx.scheduler.wake()


async def apply_due(ctx: Context, now: float) -> None:
    due_ids = [i for i, at in ctx.escalation_next.items() if at <= now]
    for incident_id in due_ids:
        inc = ctx.active.get(incident_id)
        if inc is None:
            continue
        accepts = {p.partner_id: p.accepts_drills for p in ctx.partners.values()}
        for rule in domain.due(inc, ctx.escalation_rules, now):
            covering = partners_for(ctx, rule, inc)
            partner_ids, skipped = drills.split_partners(inc.drill, covering, accepts)
            webhooks = [p for p in partner_ids if ctx.partners[p].webhook_url]
            job = partial(
                _escalate,
                incident_id=inc.incident_id,
                rule=rule,
                partner_ids=partner_ids,
                webhooks=webhooks,
                skipped=skipped,
            )
            await ctx.writer.run(job)
            if webhooks:
                ctx.deliveries_changed.set()


def next_check(ctx: Context) -> float | None:
    return min(ctx.escalation_next.values(), default=None)


def clock(ctx: Context, inc: Incident) -> dict[str, Any]:
    """For the console: when the next escalation step falls due, if nothing changes."""
    at = domain.next_step(inc, ctx.escalation_rules)
    return {"next_escalation_at": iso(at) if at is not None else None}
