"""Escalation on the server: rules and partners, the escalation step, webhook deliveries.

An `incident_escalated` event and one `delivery` row per webhook partner are
written in one transaction, so a crash cannot lose a delivery that was owed;
the delivery task sends each, signed, retries with backoff (the schedule lives
in the row, so it survives restarts), and logs every attempt as an event of
the incident. Partners see only incidents escalated to them (`incident_partner`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
from functools import partial
from typing import Any

import httpx
from sqlalchemy import Connection, delete, insert, select, update

from dispatch_server.clock import iso
from dispatch_server.domain import escalation as domain
from dispatch_server.domain import incidents as incident_domain
from dispatch_server.domain.errors import Conflict
from dispatch_server.domain.escalation import Partner, PartnerKind, Rule, Trigger
from dispatch_server.domain.events import Event, EventType, NewEvent
from dispatch_server.domain.incidents import Incident
from dispatch_server.services import cluster
from dispatch_server.services.context import Context
from dispatch_server.services.incidents import load
from dispatch_server.services.views import event_view
from dispatch_server.store.log import Tx, incident_events
from dispatch_server.store.tables import DELIVERY, ESCALATION_RULE, INCIDENT_PARTNER, PARTNER

log = logging.getLogger(__name__)
DELIVERIES = "deliveries"  # the duty's name, for the supervisor
DELIVERIES_IDLE_S = 5.0
SIGNATURE_HEADER = "X-Dispatch-Signature"
TIMESTAMP_HEADER = "X-Dispatch-Timestamp"


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
    return {
        r.id: Partner(
            r.id, r.name, PartnerKind(r.kind), frozenset(r.grids), r.webhook_url, r.webhook_secret
        )
        for r in conn.execute(select(PARTNER)).all()
    }


def _replace_rules(tx: Tx, rules: list[Rule]) -> None:
    tx.conn.execute(delete(ESCALATION_RULE))
    if rules:
        tx.conn.execute(insert(ESCALATION_RULE), [_rule_row(r) for r in rules])


async def refresh_rules(ctx: Context) -> None:
    """The rules as stored, and each open incident's next step by them."""
    ctx.escalation_rules = await ctx.read(load_rules)
    track_all(ctx)


async def refresh_partners(ctx: Context) -> None:
    ctx.partners = await ctx.read(load_partners)


async def replace_rules(ctx: Context, rules: list[Rule]) -> list[Rule]:
    await ctx.writer.run(lambda tx: _replace_rules(tx, rules))
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
    tx: Tx, incident_id: int, rule: Rule, partner_ids: list[int], webhooks: list[int]
) -> None:
    inc = load(tx.conn, incident_id)
    if domain.fire_at(rule, inc) is None:
        return  # fired already, or no longer due (acknowledged, resolved) since we looked
    data = {
        "rule_id": rule.rule_id,
        "trigger": rule.trigger.value,
        "to": rule.to.value,
        "partner_ids": partner_ids,
    }
    if not partner_ids:
        data["problem"] = f"no {rule.to.value} partner covers grid {inc.grid_id}"
    event = tx.append(
        NewEvent(EventType.INCIDENT_ESCALATED, "system:escalation", incident_id, data)
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


def track(ctx: Context, inc: Incident) -> None:
    """Remember when this incident's next step falls due (called whenever it changes)."""
    at = domain.next_step(inc, ctx.escalation_rules) if inc.incident_id in ctx.active else None
    if at is None:
        ctx.escalation_next.pop(inc.incident_id, None)
        return
    ctx.escalation_next[inc.incident_id] = at
    ctx.scheduler.wake(at)


def track_all(ctx: Context) -> None:
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
        for rule in domain.due(inc, ctx.escalation_rules, now):
            partner_ids = partners_for(ctx, rule, inc)
            webhooks = [p for p in partner_ids if ctx.partners[p].webhook_url]
            job = partial(
                _escalate,
                incident_id=inc.incident_id,
                rule=rule,
                partner_ids=partner_ids,
                webhooks=webhooks,
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


# --- webhook deliveries ----------------------------------------------------------------------


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 over "<timestamp>.<body>": the receiver checks it, and rejects a
    timestamp outside its replay window (we suggest 5 minutes)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def _due_deliveries(conn: Connection, now: float) -> tuple[list[Any], float | None]:
    pending = DELIVERY.c.state == "pending"
    due = conn.execute(
        select(DELIVERY).where(pending, DELIVERY.c.next_attempt_at <= now).order_by(DELIVERY.c.id)
    ).all()
    later = conn.execute(
        select(DELIVERY.c.next_attempt_at)
        .where(pending)
        .order_by(DELIVERY.c.next_attempt_at)
        .limit(1)
    ).scalar()
    return list(due), later


def _payload(conn: Connection, delivery: Any) -> dict[str, Any]:
    inc = load(conn, delivery.incident_id)
    event = next(e for e in incident_events(conn, inc.incident_id) if e.seq == delivery.event_seq)
    return {"delivery_id": delivery.id, "event": event_view(event), "incident": partner_view(inc)}


def _record(tx: Tx, delivery: Any, ok: bool, detail: str, next_at: float | None) -> None:
    attempt = delivery.attempts + 1
    state = "delivered" if ok else ("pending" if next_at is not None else "dead")
    tx.conn.execute(
        update(DELIVERY)
        .where(DELIVERY.c.id == delivery.id)
        .values(
            attempts=attempt,
            state=state,
            next_attempt_at=next_at if next_at is not None else tx.now,
            last_error=None if ok else detail,
        )
    )
    kind = {
        "delivered": EventType.DELIVERY_SUCCEEDED,
        "pending": EventType.DELIVERY_FAILED,
        "dead": EventType.DELIVERY_DEAD_LETTERED,
    }[state]
    data: dict[str, Any] = {
        "delivery_id": delivery.id,
        "partner_id": delivery.partner_id,
        "attempt": attempt,
        "result": detail,
    }
    if next_at is not None and not ok:
        data["next_attempt_at"] = iso(next_at)
    tx.append(NewEvent(kind, "system:delivery", delivery.incident_id, data))


async def _attempt(ctx: Context, delivery: Any) -> None:
    partner = ctx.partners.get(delivery.partner_id)
    if partner is None or not partner.webhook_url or not partner.webhook_secret:
        job = partial(
            _record, delivery=delivery, ok=False, detail="no webhook any more", next_at=None
        )
        await ctx.writer.run(job)
        return
    body = json.dumps(await ctx.read(_payload, delivery), ensure_ascii=False).encode()
    stamp = str(int(ctx.clock()))
    headers = {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: stamp,
        SIGNATURE_HEADER: sign(partner.webhook_secret, stamp, body),
    }
    try:
        response = await ctx.http.post(partner.webhook_url, content=body, headers=headers)
        ok, detail = response.is_success, f"HTTP {response.status_code}"
    except httpx.HTTPError as exc:
        ok, detail = False, f"{type(exc).__name__}: {exc}"
    settings = ctx.settings
    attempt = delivery.attempts + 1
    next_at = None
    if not ok and attempt < settings.webhook_attempts:
        next_at = ctx.clock() + settings.webhook_retry_s * 2 ** (attempt - 1)
    await ctx.writer.run(partial(_record, delivery=delivery, ok=ok, detail=detail, next_at=next_at))


async def run_deliveries(ctx: Context) -> None:
    """Sleeps until the next delivery is due (the schedule is in the database), sends, repeats."""
    while True:
        ctx.deliveries_changed.clear()
        due, later = await ctx.read(_due_deliveries, ctx.clock())
        for delivery in due:
            # A failure here (not the receiver's: ours) ends this round; the supervisor logs
            # it, shows it and restarts the loop after a backoff. The row is still pending.
            await _attempt(ctx, delivery)
            ctx.supervisor.beat(DELIVERIES)
        ctx.supervisor.beat(DELIVERIES)
        if due:
            continue
        # Wake by itself now and then, so the watchdog sees this loop is alive.
        wait = DELIVERIES_IDLE_S if later is None else max(0.0, later - ctx.clock())
        wait = min(wait, DELIVERIES_IDLE_S)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait):
                await ctx.deliveries_changed.wait()


# --- what a partner may see ------------------------------------------------------------------

PARTNER_EVENTS = frozenset(
    {
        EventType.INCIDENT_ESCALATED,
        EventType.INCIDENT_ACKNOWLEDGED,
        EventType.NOTE_ADDED,
        EventType.PARTNER_ACKNOWLEDGED,
        EventType.PARTNER_UPDATE,
        EventType.INCIDENT_RESOLVED,
    }
)


def partner_view(inc: Incident) -> dict[str, Any]:
    """The incident as a partner sees it: where and what, not who is where."""
    return {
        "incident_id": inc.incident_id,
        "status": inc.status.value,
        "grid_id": inc.grid_id,
        "lon": inc.lon,
        "lat": inc.lat,
        "category": inc.category,
        "note": inc.note,
        "opened_at": iso(inc.opened_at),
        "acknowledged": inc.acknowledged_at is not None,
        "responders_coming": sum(
            a.reply is incident_domain.Reply.ACCEPTED for a in inc.assignments.values()
        ),
        "resolved_at": iso(inc.resolved_at) if inc.resolved_at else None,
        "disposition": inc.disposition.value if inc.disposition else None,
        "notes": [{**n, "at": iso(n["at"])} for n in inc.notes],
    }


def partner_frame(event: Event) -> dict[str, Any]:
    frame = event_view(event)
    frame.pop("actor", None)
    return frame


def visible_incidents(conn: Connection, partner_id: int) -> set[int]:
    q = select(INCIDENT_PARTNER.c.incident_id).where(INCIDENT_PARTNER.c.partner_id == partner_id)
    return set(conn.execute(q).scalars())


def check_visible(conn: Connection, partner_id: int, incident_id: int) -> Incident:
    if incident_id not in visible_incidents(conn, partner_id):
        raise PermissionError(f"incident {incident_id} was not escalated to you")
    return load(conn, incident_id)


def partner_acknowledge(tx: Tx, partner_id: int, incident_id: int) -> Incident:
    inc = check_visible(tx.conn, partner_id, incident_id)
    new = incident_domain.partner_acknowledge(inc, partner_id, f"partner:{partner_id}")
    if new is None:
        return inc
    return incident_domain.fold(inc, tx.append(new))


def partner_update(tx: Tx, partner_id: int, incident_id: int, text: str) -> Incident:
    inc = check_visible(tx.conn, partner_id, incident_id)
    try:
        new = incident_domain.partner_update(inc, partner_id, text, f"partner:{partner_id}")
    except Conflict as exc:
        raise PermissionError(str(exc)) from None
    return incident_domain.fold(inc, tx.append(new))
