"""Patrol supervision with a hand-moved clock: a member on shift silent past the grace time is
marked offline, heard again marked online, each crossing written once."""

from __future__ import annotations

import math

import pytest

from dispatch_server.services import observer, people, supervision
from dispatch_server.services.context import Context
from tests.dispatch_server.services.conftest import Hands, head, logged

NEVER_HEARD_BUG = (
    "BUG: supervision writes silent_s = now - last_seen = inf for a member never heard here; "
    "json.dumps makes it `Infinity`, which PostgreSQL refuses (the supervision clock then "
    "fails on every try) and SQLite stores as JSON no browser can parse"
)


async def _on_shift(ctx: Context, hands: Hands, name: str = "Li", on: bool = True) -> int:
    member_id, _ = await people.create_member(ctx, name, "G03", [])
    ctx.roster.link_up(member_id, hands.now)  # the handheld connects, then starts its shift
    await people.set_shift(ctx, member_id, on)
    return member_id


async def _crossings(ctx: Context, since: int) -> list[tuple[str, int, float]]:
    return [
        (e.type.value, e.data["member_id"], e.data["silent_s"])
        for e in await logged(ctx, since)
        if e.type.value in ("member_offline", "member_online")
    ]


async def test_offline_after_the_grace_time_once(ctx: Context, hands: Hands) -> None:
    grace = ctx.policy.offline_after_s
    li = await _on_shift(ctx, hands)
    assert supervision.next_check(ctx) == hands.now + grace
    seen = await head(ctx)
    hands.now += grace
    await supervision.apply_due(ctx, hands.now)
    assert await _crossings(ctx, seen) == [], "a drop as long as the grace time is tolerated"
    hands.now += 1
    await supervision.apply_due(ctx, hands.now)
    await supervision.apply_due(ctx, hands.now)
    hands.now += 60
    await supervision.apply_due(ctx, hands.now)
    assert await _crossings(ctx, seen) == [("member_offline", li, grace + 1)]
    assert ctx.roster.marked_offline[ctx.roster.row[li]]
    assert supervision.next_check(ctx) is None, "nobody else to watch"


async def test_online_when_heard_again_once(ctx: Context, hands: Hands) -> None:
    li = await _on_shift(ctx, hands)
    hands.now += ctx.policy.offline_after_s + 10
    await supervision.apply_due(ctx, hands.now)
    seen = await head(ctx)
    ctx.roster.link_up(li, hands.now)  # a heartbeat
    await supervision.apply_due(ctx, hands.now)
    await supervision.apply_due(ctx, hands.now)
    assert await _crossings(ctx, seen) == [("member_online", li, 0.0)]
    assert not ctx.roster.marked_offline[ctx.roster.row[li]]


async def test_off_shift_is_never_offline(ctx: Context, hands: Hands) -> None:
    await _on_shift(ctx, hands, on=False)
    seen = await head(ctx)
    hands.now += 3600
    await supervision.apply_due(ctx, hands.now)
    assert await _crossings(ctx, seen) == [] and supervision.next_check(ctx) is None


async def test_live_state_that_lags_the_log_writes_no_second_crossing(
    ctx: Context, hands: Hands
) -> None:
    li = await _on_shift(ctx, hands)
    wang = await _on_shift(ctx, hands, "Wang")
    hands.now += ctx.policy.offline_after_s + 1
    await supervision.apply_due(ctx, hands.now)
    seen = await head(ctx)
    ctx.roster.set_marked_offline(li, False)  # as if the event had not reached live state
    await supervision.apply_due(ctx, hands.now)
    assert await _crossings(ctx, seen) == [], "the member row already says offline"
    assert ctx.roster.marked_offline[ctx.roster.row[li]], "and live state is put right"
    assert ctx.roster.marked_offline[ctx.roster.row[wang]]


async def test_a_member_on_shift_never_heard_here_goes_offline(ctx: Context, hands: Hands) -> None:
    """A member registered and put on shift through another instance, with no presence heard
    from it (Redis away): this instance has never heard the handheld (last_seen is -inf, as
    `people.live_members` knows: "None: never, this run")."""
    li, _ = await people.create_member(ctx, "Li", "G03", [])
    await people.set_shift(ctx, li, True)
    seen = await head(ctx)
    try:
        await supervision.apply_due(ctx, hands.now)
    except Exception as exc:
        pytest.fail(f"{NEVER_HEARD_BUG} ({type(exc).__name__}: {str(exc).splitlines()[0]})")
    [(kind, member_id, silent_s)] = await _crossings(ctx, seen)
    assert (kind, member_id) == ("member_offline", li)
    assert silent_s is None or math.isfinite(silent_s), NEVER_HEARD_BUG


async def test_a_restart_keeps_an_offline_member_offline_until_heard(
    ctx: Context, hands: Hands
) -> None:
    """Found by the duty-day simulation: on start every member got the full grace time, so a
    member the log had offline was marked online at once, with no frame from them, and
    offline again a grace later."""
    li = await _on_shift(ctx, hands)
    hands.now += ctx.policy.offline_after_s + 1
    await supervision.apply_due(ctx, hands.now)
    seen = await head(ctx)
    await observer.load_live(ctx)  # what a restarted server does first
    for _ in range(3):
        hands.now += ctx.policy.offline_after_s
        await supervision.apply_due(ctx, hands.now)
    assert await _crossings(ctx, seen) == [], "no crossing without a frame from them"
    ctx.roster.link_up(li, hands.now)  # now they are heard
    await supervision.apply_due(ctx, hands.now)
    assert [c[:2] for c in await _crossings(ctx, seen)] == [("member_online", li)]
