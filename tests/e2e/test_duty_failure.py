"""A clock source that fails is seen, and only it stops (issue 10).

A fault is injected into the check-in clock of a real server. The other clocks keep
firing (a roll call closes, an escalation step fires); /api/health answers 503 and names
the duty; every console shows a red banner naming it (in Chromium); `duty_failed`, then
`duty_recovered` once the fault is gone, are in the log.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from dispatch_server.services.context import Context
from tests.support.browser import console_page
from tests.support.servers import ADMIN, Running


async def _health(server: Running) -> tuple[int, dict[str, Any]]:
    async with httpx.AsyncClient(base_url=server.base) as c:
        r = await c.get("/api/health")
        return r.status_code, r.json()


async def test_a_failing_clock_source_is_seen_and_the_others_keep_firing(
    server: Running,
) -> None:
    ctx: Context = server.ctx
    source = ctx.scheduler.source("check_ins")
    healthy = source.apply_due

    async def broken(now: float) -> None:
        raise RuntimeError("injected fault in the check-in clock")

    d = await server.api.dispatcher("张阿姨")
    console = await server.console(d["token"]).connect()
    async with console_page(server.base) as page:
        await page.sign_in(d["token"])
        assert await page.page.locator("#duties").is_hidden()

        source.apply_due = broken  # type: ignore[method-assign]
        ctx.scheduler.wake()
        async with asyncio.timeout(5):
            while (got := await _health(server))[0] != 503:
                await asyncio.sleep(0.05)
        health = got[1]
        assert health["ok"] is False and health["failing"] == ["check_ins"]
        duty = health["duties"]["check_ins"]
        assert duty["state"] == "failing" and "injected fault" in duty["last_error"]
        assert health["duties"]["escalation"]["state"] == "running"

        banner = page.page.locator('#duties [data-duty="check_ins"]')
        await banner.wait_for(timeout=6000)
        assert "报平安计时已停止" in await banner.inner_text()
        await page.screenshot("11-duty-failing-banner")

        # The other clocks keep firing: a roll call closes on time ...
        async with server.api.client(d["token"]) as api:
            started = (await api.post("/api/roll-calls", json={"timeout_s": 1.0})).json()
        closed = await console.events_until(
            lambda got: any(e["type"] == "roll_call_closed" for e in got), timeout=6
        )
        assert any(e.get("roll_call_id") == started["roll_call_id"] for e in closed)
        # ... and an escalation step fires.
        await server.api.post(
            "/api/partners", {"name": "estate", "grids": [f"G{i:02d}" for i in range(1, 11)]}
        )
        async with server.api.client(ADMIN) as api:
            rules = [{"trigger": "no_ack", "to": "security", "after_s": 0.5}]
            assert (await api.put("/api/escalation-rules", json=rules)).status_code == 200
        h = await server.handheld((await server.api.member("Li", "G05"))["token"]).connect()
        incident_id = (await h.alarm())["incident_id"]
        escalated = await console.events_until(
            lambda got: any(
                e["type"] == "incident_escalated" and e["incident_id"] == incident_id for e in got
            ),
            timeout=6,
        )
        assert escalated

        source.apply_due = healthy  # type: ignore[method-assign]
        async with asyncio.timeout(10):
            while (got := await _health(server))[0] != 200:
                await asyncio.sleep(0.1)
        assert got[1]["ok"] is True and got[1]["duties"]["check_ins"]["state"] == "running"
        await page.page.locator("#duties").wait_for(state="hidden", timeout=6000)

    events = [*closed, *escalated]
    events += await console.events_until(
        lambda got: any(e["type"] == "duty_recovered" for e in got), timeout=5
    )
    duty_events = [
        (e["type"], e["duty"]) for e in events if e["type"] in ("duty_failed", "duty_recovered")
    ]
    assert duty_events == [("duty_failed", "check_ins"), ("duty_recovered", "check_ins")]
    failed = next(e for e in events if e["type"] == "duty_failed")
    assert "injected fault" in failed["error"] and failed["actor"] == "system:supervisor"
