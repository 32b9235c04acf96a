"""The admin pages' "test webhook" button (decision 44): one signed POST to a partner's
webhook, answered with what came back. Not queued, not retried, not a delivery: only the
`webhook_tested` event records that it was tried and how it went."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from typing import Any

import httpx
from sqlalchemy import Connection

from dispatch_server.clock import iso
from dispatch_server.domain.errors import Conflict
from dispatch_server.domain.events import EventType, NewEvent
from dispatch_server.services.accounts import PARTNERS, row
from dispatch_server.services.context import Context
from dispatch_server.services.deliveries import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

BODY_CHARS = 1000
# Read no more of the answer than this: a receiver may answer with anything.
READ_BYTES = 4 * BODY_CHARS
MESSAGE = "A test from the dispatch centre's admin pages: no incident, nothing to do."


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status_code: int | None
    body: str | None
    elapsed_ms: float
    error: str | None


def _target(conn: Connection, partner_id: int) -> tuple[str, str]:
    found = row(conn, PARTNERS, partner_id)
    if not found.webhook_url or not found.webhook_secret:
        raise Conflict(f"partner {partner_id} has no webhook URL")
    return found.webhook_url, found.webhook_secret


def payload(partner_id: int, now: float) -> bytes:
    body = {"type": "test", "partner_id": partner_id, "sent_at": iso(now), "message": MESSAGE}
    return json.dumps(body, ensure_ascii=False).encode()


def _failure(exc: httpx.HTTPError, timeout_s: float) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return f"no answer within {timeout_s:g} s"
    if isinstance(exc, httpx.ConnectError):
        return f"could not connect: {exc}"[:200]
    return f"{type(exc).__name__}: {exc}"[:200]


async def _post(ctx: Context, url: str, secret: str, body: bytes, stamp: str) -> Outcome:
    headers = {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: stamp,
        SIGNATURE_HEADER: sign(secret, stamp, body),
    }
    timeout_s = ctx.settings.webhook_timeout_s
    started = time.perf_counter()
    try:
        async with ctx.http.stream(
            "POST", url, content=body, headers=headers, timeout=timeout_s
        ) as response:
            got = b""
            async for chunk in response.aiter_bytes():
                got += chunk
                if len(got) >= READ_BYTES:
                    break
    except httpx.HTTPError as exc:
        return Outcome(False, None, None, _ms(started), _failure(exc, timeout_s))
    text = got.decode(response.encoding or "utf-8", errors="replace")[:BODY_CHARS]
    return Outcome(response.is_success, response.status_code, text, _ms(started), None)


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


async def send_test(ctx: Context, partner_id: int, who: str) -> dict[str, Any]:
    """POST a signed test to the partner's webhook now; Conflict when it has none."""
    url, secret = await ctx.read(_target, partner_id)
    now = ctx.clock()
    outcome = await _post(ctx, url, secret, payload(partner_id, now), str(int(now)))
    data = {"partner_id": partner_id, "ok": outcome.ok, "status_code": outcome.status_code}
    await ctx.writer.run(lambda tx: tx.append(NewEvent(EventType.WEBHOOK_TESTED, who, None, data)))
    return asdict(outcome)
