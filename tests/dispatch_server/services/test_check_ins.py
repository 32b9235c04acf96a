"""Lone-worker check-ins with a hand-moved clock: rules by grid and by member, a check-in on
record, the warning and then the overdue step (which opens one incident), each once."""

from __future__ import annotations

import asyncio
import math

from dispatch_server.domain.check_ins import CheckIn, Rule
from dispatch_server.services import check_ins, people
from dispatch_server.services.context import Context
from tests.dispatch_server.services.conftest import Hands, Link, head, logged

RULE = Rule(period_s=300.0, overdue_after_s=120.0)


async def _lone_worker(ctx: Context) -> int:
    """Li on shift in G03, where a check-in is due every 5 minutes."""
    await check_ins.set_rule(ctx, "G03", None, RULE)
    li, _ = await people.create_member(ctx, "Li", "G03", [])
    await people.set_shift(ctx, li, True)
    return li


async def test_rules_by_grid_and_by_member(ctx: Context) -> None:
    li, _ = await people.create_member(ctx, "Li", "G03", [])
    wang, _ = await people.create_member(ctx, "Wang", "G03", [])
    await check_ins.set_rule(ctx, "G03", None, RULE)
    await check_ins.set_rule(ctx, None, wang, Rule(60.0, 30.0))
    roster = ctx.roster
    assert roster.check_in_period[roster.row[li]] == 300.0
    assert roster.check_in_period[roster.row[wang]] == 60.0, "a member's own rule wins"
    assert check_ins.rules_view(ctx) == [
        {"grid_id": "G03", "period_s": 300.0, "overdue_after_s": 120.0},
        {"member_id": wang, "period_s": 60.0, "overdue_after_s": 30.0},
    ]
    assert await ctx.read(check_ins.load_rules) == ({wang: Rule(60.0, 30.0)}, {"G03": RULE})

    await check_ins.set_rule(ctx, "G03", None, Rule(600.0, 60.0))  # replaced, not added
    await check_ins.set_rule(ctx, None, wang, None)  # removed: the grid's rule again
    assert roster.check_in_period[roster.row[wang]] == 600.0
    await check_ins.set_rule(ctx, "G03", None, None)
    assert math.isnan(roster.check_in_period[roster.row[li]]) and ctx.check_in_rules == ({}, {})


async def test_warning_then_overdue_then_back_to_normal(ctx: Context, hands: Hands) -> None:
    li = await _lone_worker(ctx)
    phone = Link()
    ctx.hub.attach(li, phone)
    started = hands.now
    assert check_ins.next_check(ctx) == started + 300
    seen = await head(ctx)

    hands.now += 300
    await check_ins.apply_due(ctx, hands.now)
    assert await logged(ctx, seen) == [], "due at 300 s, late only after"
    hands.now += 1
    await check_ins.apply_due(ctx, hands.now)
    await check_ins.apply_due(ctx, hands.now)
    [warning] = await logged(ctx, seen)
    assert warning.type.value == "check_in_warning"
    assert warning.data == {"member_id": li, "grid_id": "G03"}
    assert [f["state"] for f in phone.of("check_in_due")] == ["warning"]
    assert check_ins.next_check(ctx) == started + 420

    hands.now += 120
    await check_ins.apply_due(ctx, hands.now)
    await check_ins.apply_due(ctx, hands.now)
    opened, overdue = await logged(ctx, seen + 1)
    assert opened.type.value == "incident_opened" and opened.data["reporter_id"] == li
    assert opened.data["source"] == "check_in" and opened.data["note"] is None
    assert overdue.type.value == "check_in_overdue"
    assert overdue.data["incident_id"] == opened.incident_id
    assert list(ctx.active) == [opened.incident_id]
    assert [f["state"] for f in phone.of("check_in_due")] == ["warning", "overdue"]
    assert check_ins.next_check(ctx) is None

    await check_ins.check_in(ctx, li)
    checked = (await logged(ctx))[-1]
    assert checked.type.value == "member_checked_in" and checked.actor == f"member:{li}"
    assert ctx.roster.check_in_state[ctx.roster.row[li]] == CheckIn.OK
    assert check_ins.next_check(ctx) == hands.now + 300


async def test_live_state_that_lags_the_log_opens_no_second_incident(
    ctx: Context, hands: Hands
) -> None:
    li = await _lone_worker(ctx)
    hands.now += 421
    await check_ins.apply_due(ctx, hands.now)
    seen = await head(ctx)
    i = ctx.roster.row[li]
    ctx.roster.check_in_state[i] = CheckIn.WARNING  # as if the step had not reached live state
    await check_ins.apply_due(ctx, hands.now)
    assert await logged(ctx, seen) == [], "the member row already says overdue"
    assert ctx.roster.check_in_state[i] == CheckIn.OVERDUE and len(ctx.active) == 1


async def test_a_check_in_that_lands_first_wins(ctx: Context, hands: Hands) -> None:
    """The step was decided on live state that had not seen the check-in yet (in the duty
    day simulation, both went in one group commit and an overdue incident was opened 3 ms
    after the member checked in): the member row says checked in since, so nothing is said."""
    li = await _lone_worker(ctx)
    i = ctx.roster.row[li]
    started = float(ctx.roster.last_check_in[i])
    for late in (301, 421):  # the warning, the overdue
        hands.now = started + late
        await check_ins.check_in(ctx, li)
        seen = await head(ctx)
        ctx.roster.last_check_in[i] = started  # as if live state had not seen it yet
        await check_ins.apply_due(ctx, hands.now)
        assert await logged(ctx, seen) == [] and ctx.active == {}
        assert ctx.roster.check_in_state[i] == CheckIn.OK
        ctx.roster.last_check_in[i] = hands.now


async def test_a_check_in_while_earlier_steps_are_written_wins(ctx: Context, hands: Hands) -> None:
    """Two members due at once; the second checks in while the first one's warning is being
    written (in the soak, right after a restart): its warning, decided before, is not said."""
    li = await _lone_worker(ctx)
    wang, _ = await people.create_member(ctx, "Wang", "G03", [])
    await people.set_shift(ctx, wang, True)
    hands.now += 301
    seen = await head(ctx)
    await asyncio.gather(check_ins.apply_due(ctx, hands.now), check_ins.check_in(ctx, wang))
    kinds = [(e.type.value, e.data["member_id"]) for e in await logged(ctx, seen)]
    assert kinds == [("member_checked_in", wang), ("check_in_warning", li)] or kinds == [
        ("check_in_warning", li),
        ("member_checked_in", wang),
    ]
    assert ctx.roster.check_in_state[ctx.roster.row[wang]] == CheckIn.OK


async def test_off_shift_or_without_a_rule_nothing_is_due(ctx: Context, hands: Hands) -> None:
    li = await _lone_worker(ctx)
    free, _ = await people.create_member(ctx, "Chen", "G01", [])
    await people.set_shift(ctx, free, True)
    await people.set_shift(ctx, li, False)
    seen = await head(ctx)
    hands.now += 3600
    await check_ins.apply_due(ctx, hands.now)
    assert await logged(ctx, seen) == [] and check_ins.next_check(ctx) is None
