"""The one task that keeps every deadline: roll calls closing, patrols going silent,
lone workers missing their check-in, incidents escalating to security partners.

Deadlines are data (DESIGN.md, STYLE.md): pure functions say what is due at
`now` and when the next thing falls due; this task sleeps until then, acts,
and sleeps again. Anything that adds an earlier deadline sets
`ctx.deadlines_changed` to wake it.
"""

from __future__ import annotations

import asyncio
import contextlib

from dispatch_server.services import check_ins, escalation, roll_calls, supervision
from dispatch_server.services.context import Context


async def run_deadlines(ctx: Context) -> None:
    while True:
        ctx.deadlines_changed.clear()
        await roll_calls.close_due(ctx, ctx.clock())
        await supervision.apply_due(ctx, ctx.clock())
        await check_ins.apply_due(ctx, ctx.clock())
        await escalation.apply_due(ctx, ctx.clock())
        checks = (
            roll_calls.next_check(ctx),
            supervision.next_check(ctx),
            check_ins.next_check(ctx),
            escalation.next_check(ctx),
        )
        upcoming = [t for t in checks if t is not None]
        ctx.deadline_wake = min(upcoming) if upcoming else float("inf")
        wait = max(0.0, ctx.deadline_wake - ctx.clock()) if upcoming else None
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait):
                await ctx.deadlines_changed.wait()
