"""Webhook deliveries with an httpx.MockTransport: signing, retries with backoff, dead
letters and every attempt in the log; no server, no sleep, a hand-moved clock."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import httpx

from dispatch_server.domain.escalation import PartnerKind
from dispatch_server.domain.events import EventType
from dispatch_server.protocol.frames import Alert
from dispatch_server.services import deliveries, escalation, incidents, people
from dispatch_server.services.context import Context
from dispatch_server.services.intake import raise_alarm
from dispatch_server.store.log import incident_events, last_seq
from tests.dispatch_server.services.conftest import Hands


class Partner:
    """A webhook receiver as an httpx transport: answers from a list, records requests."""

    def __init__(self, answers: list[int | Exception]) -> None:
        self.answers = answers
        self.got: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.got.append(request)
        answer = self.answers.pop(0) if self.answers else 200
        if isinstance(answer, Exception):
            raise answer
        return httpx.Response(answer)


async def _fire_escalated(ctx: Context, hands: Hands, receiver: Partner) -> tuple[int, str]:
    """A fire alarm in G03, with a webhook partner there: the immediate step owes it one."""
    ctx.http = httpx.AsyncClient(transport=httpx.MockTransport(receiver))
    _, _, secret = await people.create_partner(
        ctx, "hotel", ["G03"], PartnerKind.SECURITY, "https://hotel.example/hook"
    )
    assert secret is not None
    member_id, _ = await people.create_member(ctx, "Li", "G03", [])
    ctx.consoles = 1  # attended: only the fire rule applies
    alert = Alert.model_validate(
        {"type": "alert", "alert_id": "1d7e5f0c-3a51-4c8e-8d1e-3b9a0c6f2e10", "category": "fire"},
        strict=False,
    )
    accepted = await raise_alarm(ctx, member_id, alert)
    await escalation.apply_due(ctx, hands.now)
    return accepted.incident_id, secret


async def _kinds(ctx: Context, incident_id: int) -> list[tuple[str, dict[str, Any]]]:
    events = await ctx.read(incident_events, incident_id)
    return [(e.type.value, e.data) for e in events if e.type.value.startswith("delivery")]


async def _round(ctx: Context) -> list[Any]:
    due, _ = await ctx.read(deliveries._due_deliveries, ctx.clock())
    for delivery in due:
        await deliveries._attempt(ctx, delivery)
    return list(due)


async def test_signed_retried_with_backoff_then_delivered(ctx: Context, hands: Hands) -> None:
    receiver = Partner([500, httpx.ConnectError("refused")])
    incident_id, secret = await _fire_escalated(ctx, hands, receiver)
    seen = await ctx.read(last_seq)
    assert len(await _round(ctx)) == 1
    # The attempt marks the incident changed, so a console's `?since_seq=` sees it.
    found = await ctx.read(incidents.listing, incidents.Filters(since_seq=seen))
    assert [i["incident_id"] for i in found["incidents"]] == [incident_id]
    assert await _round(ctx) == [], "not due again before its backoff"
    hands.now += ctx.settings.webhook_retry_s  # first retry: after retry_s
    assert len(await _round(ctx)) == 1
    hands.now += ctx.settings.webhook_retry_s  # the second waits twice as long
    assert await _round(ctx) == []
    hands.now += ctx.settings.webhook_retry_s
    assert len(await _round(ctx)) == 1
    kinds = await _kinds(ctx, incident_id)
    assert [k for k, _ in kinds] == ["delivery_failed", "delivery_failed", "delivery_succeeded"]
    assert kinds[0][1]["result"] == "HTTP 500" and "ConnectError" in kinds[1][1]["result"]
    for request in receiver.got:
        stamp = request.headers[deliveries.TIMESTAMP_HEADER]
        expected = deliveries.sign(secret, stamp, request.content)
        assert request.headers[deliveries.SIGNATURE_HEADER] == expected
        body = json.loads(request.content)
        assert body["incident"]["incident_id"] == incident_id
        assert body["event"]["type"] == EventType.INCIDENT_ESCALATED.value
        assert "responders" not in body["incident"], "a partner sees no one's whereabouts"
        assert list(body["incident"]["names"].values()) == ["hotel"], "partners' names only"


async def test_dead_lettered_after_the_last_attempt(ctx: Context, hands: Hands) -> None:
    receiver = Partner([503] * 20)
    incident_id, _ = await _fire_escalated(ctx, hands, receiver)
    for _ in range(ctx.settings.webhook_attempts):
        await _round(ctx)
        hands.now += 3600
    assert await _round(ctx) == []
    kinds = [k for k, _ in await _kinds(ctx, incident_id)]
    assert kinds == ["delivery_failed"] * (ctx.settings.webhook_attempts - 1) + [
        "delivery_dead_lettered"
    ]
    assert len(receiver.got) == ctx.settings.webhook_attempts


def test_the_signature_is_hmac_sha256_over_timestamp_and_body() -> None:
    sig = deliveries.sign("secret", "1700000000", b'{"a":1}')
    mac = hmac.new(b"secret", b'1700000000.{"a":1}', hashlib.sha256).hexdigest()
    assert sig == "sha256=" + mac
    assert deliveries.sign("other", "1700000000", b'{"a":1}') != sig
