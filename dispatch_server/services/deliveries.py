"""Webhook deliveries to security partners: signed, retried with backoff, every try logged.

An escalation step writes one `delivery` row per webhook partner in the same
transaction as its event (services/escalation.py), so a crash cannot lose a
delivery that was owed. This loop sends each, signed, retries with backoff
(the schedule lives in the row, so it survives restarts), and logs every
attempt as an event of the incident. The HTTP client is the context's
(`ctx.http`): tests give it an `httpx.MockTransport`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
from functools import partial
from typing import Any

import httpx
from sqlalchemy import Connection, select, update

from dispatch_server.clock import iso
from dispatch_server.domain.events import EventType, NewEvent
from dispatch_server.services import names
from dispatch_server.services.context import Context
from dispatch_server.services.incidents import append, load
from dispatch_server.services.partners import for_partner, partner_view
from dispatch_server.services.views import event_view
from dispatch_server.store.log import Tx, incident_events
from dispatch_server.store.tables import DELIVERY

DELIVERIES = "deliveries"  # the duty's name, for the supervisor
DELIVERIES_IDLE_S = 5.0
SIGNATURE_HEADER = "X-Dispatch-Signature"
TIMESTAMP_HEADER = "X-Dispatch-Timestamp"


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
    incident = partner_view(inc, delivery.partner_id, names.load(conn))
    frame = for_partner(event_view(event))
    return {"delivery_id": delivery.id, "event": frame, "incident": incident}


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
    append(tx, NewEvent(kind, "system:delivery", delivery.incident_id, data))


async def _attempt(ctx: Context, delivery: Any) -> None:
    partner = ctx.partners.get(delivery.partner_id)
    if partner is None or not partner.webhook_url or not partner.webhook_secret:
        job = partial(
            _record, delivery=delivery, ok=False, detail="no webhook any more", next_at=None
        )
        await ctx.writer.run(job)
        ctx.metrics.delivery(ok=False, retry=False)
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
    ctx.metrics.delivery(ok=ok, retry=next_at is not None)


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
