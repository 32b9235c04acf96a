"""Escalation: the rules in force and each open incident's clock; the step written by
`apply_due` with a hand-moved clock (immediate, no_ack after N s, unattended), a later step
to a partner already on the incident, a step that reaches nobody, and a rule firing once."""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter
from typing import Any

from sqlalchemy import Connection, select

from dispatch_server.clock import iso
from dispatch_server.domain.escalation import DEFAULT_RULES, PartnerKind, Rule, Trigger
from dispatch_server.domain.events import Event
from dispatch_server.services import escalation, incidents, people
from dispatch_server.services.context import Context
from dispatch_server.services.intake import raise_alarm
from dispatch_server.store.tables import DELIVERY, INCIDENT_PARTNER
from tests.dispatch_server.services.conftest import Hands, alert, logged

HOOK = "https://guards.example/hook"


async def _alarm(ctx: Context, category: str = "theft", *, attended: bool = True) -> int:
    """An alarm in G03 (a console open unless `attended` is False): its incident id."""
    if not ctx.roster.ids:
        await people.create_member(ctx, "Li", "G03", [])
    ctx.consoles = 1 if attended else 0
    accepted = await raise_alarm(ctx, ctx.roster.ids[0], alert(category))
    return accepted.incident_id


async def _partner(
    ctx: Context, grids: list[str], kind: PartnerKind = PartnerKind.SECURITY, hook: bool = True
) -> int:
    partner_id, _, _ = await people.create_partner(
        ctx, f"{kind} {grids}", grids, kind, HOOK if hook else None
    )
    return partner_id


async def _steps(ctx: Context, incident_id: int) -> list[Event]:
    return [
        e
        for e in await logged(ctx)
        if e.incident_id == incident_id and e.type.value == "incident_escalated"
    ]


def _deliveries(conn: Connection) -> list[tuple[Any, ...]]:
    q = select(
        DELIVERY.c.incident_id, DELIVERY.c.partner_id, DELIVERY.c.event_seq, DELIVERY.c.state
    )
    return [tuple(r) for r in conn.execute(q.order_by(DELIVERY.c.id))]


def _on_incident(conn: Connection) -> list[tuple[Any, ...]]:
    q = select(INCIDENT_PARTNER.c.incident_id, INCIDENT_PARTNER.c.partner_id)
    return [tuple(r) for r in conn.execute(q)]


async def test_default_rules_then_replaced_and_every_clock_moves(
    ctx: Context, hands: Hands
) -> None:
    assert ctx.escalation_rules == DEFAULT_RULES, "a new database starts with the 1-3-5 rules"
    incident_id = await _alarm(ctx)
    opened = hands.now
    assert ctx.escalation_next == {incident_id: opened + 60}, "no_ack is the next step"
    assert escalation.next_check(ctx) == opened + 60
    assert escalation.clock(ctx, ctx.active[incident_id]) == {
        "next_escalation_at": iso(opened + 60)
    }

    quicker = Rule(0, Trigger.NO_ACK, PartnerKind.POLICE, after_s=30.0, grid_id="G03")
    [stored] = await escalation.replace_rules(ctx, [quicker])
    assert dataclasses.replace(stored, rule_id=0) == quicker and stored.rule_id > 0
    assert await ctx.read(escalation.load_rules) == [stored]
    assert ctx.escalation_next == {incident_id: opened + 30}

    await escalation.replace_rules(ctx, [])
    assert ctx.escalation_next == {} and escalation.next_check(ctx) is None
    hands.now += 3600
    await escalation.apply_due(ctx, hands.now)
    assert await _steps(ctx, incident_id) == [], "no rule, no step"


async def test_refresh_reads_rules_changed_in_the_database(ctx: Context) -> None:
    incident_id = await _alarm(ctx)
    ctx.escalation_rules = []
    escalation.track_all(ctx)
    assert incident_id not in ctx.escalation_next
    await escalation.refresh_rules(ctx)
    assert ctx.escalation_rules == DEFAULT_RULES and incident_id in ctx.escalation_next


async def test_partners_for_a_rule_cover_the_grid_and_are_of_its_kind(ctx: Context) -> None:
    here = await _partner(ctx, ["G03"])
    elsewhere = await _partner(ctx, ["G01"])
    police = await _partner(ctx, ["G03"], PartnerKind.POLICE)
    wide = await _partner(ctx, ["G04", "G03"], hook=False)
    incident_id = await _alarm(ctx)
    inc = ctx.active[incident_id]
    security = next(r for r in ctx.escalation_rules if r.to is PartnerKind.SECURITY)
    to_police = next(r for r in ctx.escalation_rules if r.to is PartnerKind.POLICE)
    assert escalation.partners_for(ctx, security, inc) == sorted([here, wide])
    assert escalation.partners_for(ctx, to_police, inc) == [police]
    assert elsewhere not in escalation.partners_for(ctx, security, inc)


async def test_track_follows_the_incident_and_forgets_a_closed_one(
    ctx: Context, hands: Hands
) -> None:
    incident_id = await _alarm(ctx)
    inc = ctx.active[incident_id]
    seen = dataclasses.replace(inc, acknowledged_at=hands.now + 5)
    assert escalation.track(ctx, seen) == inc.opened_at + 180, "then no_responder, at 3 min"
    assert ctx.escalation_next[incident_id] == inc.opened_at + 180
    del ctx.active[incident_id]
    assert escalation.track(ctx, inc) is None
    assert incident_id not in ctx.escalation_next


async def test_an_immediate_step_reaches_the_partner_and_owes_a_delivery(
    ctx: Context, hands: Hands
) -> None:
    guards = await _partner(ctx, ["G03"])
    incident_id = await _alarm(ctx, "fire")
    assert not ctx.deliveries_changed.is_set()
    await escalation.apply_due(ctx, hands.now)
    [step] = await _steps(ctx, incident_id)
    assert step.actor == "system:escalation"
    assert step.data == {
        "rule_id": 1,
        "trigger": "immediate",
        "to": "security",
        "rule_category": "fire",
        "rule_grid_id": None,
        "partner_ids": [guards],
    }
    assert await ctx.read(_deliveries) == [(incident_id, guards, step.seq, "pending")]
    assert await ctx.read(_on_incident) == [(incident_id, guards)]
    assert ctx.deliveries_changed.is_set(), "the delivery duty is told at once"
    assert ctx.active[incident_id].escalated_to == {guards}
    assert ctx.escalation_next[incident_id] == hands.now + 60, "the no_ack step is next"


async def test_no_ack_fires_after_its_time_unless_acknowledged(ctx: Context, hands: Hands) -> None:
    await _partner(ctx, ["G03"], hook=False)
    ignored = await _alarm(ctx)
    seen = await _alarm(ctx)
    await escalation.apply_due(ctx, hands.now)
    hands.now += 30
    await incidents.acknowledge(ctx, seen, "dispatcher:1")
    hands.now += 29.9
    await escalation.apply_due(ctx, hands.now)
    assert await _steps(ctx, ignored) == [], "not before 60 s"
    hands.now += 0.1
    await escalation.apply_due(ctx, hands.now)
    [step] = await _steps(ctx, ignored)
    assert step.data["trigger"] == "no_ack" and step.at == hands.now
    assert await _steps(ctx, seen) == [], "acknowledged in time: no step"
    assert await ctx.read(_deliveries) == [], "a partner without a webhook gets no delivery"


async def test_an_unattended_alarm_escalates_at_once(ctx: Context, hands: Hands) -> None:
    guards = await _partner(ctx, ["G03"], hook=False)
    attended = await _alarm(ctx)
    alone = await _alarm(ctx, attended=False)
    await escalation.apply_due(ctx, hands.now)
    [step] = await _steps(ctx, alone)
    assert step.data["trigger"] == "unattended" and step.data["partner_ids"] == [guards]
    assert await _steps(ctx, attended) == []


async def test_a_later_step_to_a_partner_already_on_the_incident(
    ctx: Context, hands: Hands
) -> None:
    """Issue 10: the second step to the same partner once failed on incident_partner's key."""
    guards = await _partner(ctx, ["G03"])
    incident_id = await _alarm(ctx, "fire")
    await escalation.apply_due(ctx, hands.now)
    hands.now += 60
    await escalation.apply_due(ctx, hands.now)  # no_ack: the same security partner
    first, second = await _steps(ctx, incident_id)
    assert (first.data["trigger"], second.data["trigger"]) == ("immediate", "no_ack")
    assert second.data["partner_ids"] == [guards]
    assert await ctx.read(_deliveries) == [
        (incident_id, guards, first.seq, "pending"),
        (incident_id, guards, second.seq, "pending"),
    ]
    assert await ctx.read(_on_incident) == [(incident_id, guards)], "on the incident once"


async def test_a_step_that_reaches_nobody_records_a_problem(ctx: Context, hands: Hands) -> None:
    await _partner(ctx, ["G01"])  # not this grid
    incident_id = await _alarm(ctx)
    hands.now += 60
    await escalation.apply_due(ctx, hands.now)
    [step] = await _steps(ctx, incident_id)
    assert step.data["partner_ids"] == []
    assert step.data["problem"] == "no security partner covers grid G03"
    [problem] = ctx.active[incident_id].escalation_problems
    assert problem["problem"] == step.data["problem"] and problem["seq"] == step.seq
    assert await ctx.read(_deliveries) == [] and not ctx.deliveries_changed.is_set()


async def test_each_rule_fires_once(ctx: Context, hands: Hands) -> None:
    await _partner(ctx, ["G03"])
    incident_id = await _alarm(ctx, "fire")
    # Two steps decided from the same live state (two instances that both believe they lead):
    # the writer re-checks the log, so only one is written.
    await asyncio.gather(escalation.apply_due(ctx, hands.now), escalation.apply_due(ctx, hands.now))
    await escalation.apply_due(ctx, hands.now)
    hands.now += 3600
    for _ in range(2):
        await escalation.apply_due(ctx, hands.now)
    fired = Counter(step.data["rule_id"] for step in await _steps(ctx, incident_id))
    assert fired == {1: 1, 4: 1, 5: 1}, "immediate, no_ack, no_responder: once each"
    assert len(await ctx.read(_deliveries)) == 2, "the police rule has no partner here"
    assert incident_id not in ctx.escalation_next, "nothing left to fire"
