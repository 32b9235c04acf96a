"""Coverage gaps and the team watch with a hand-moved clock (22:13 in Shanghai: the evening
shift): each crossing written once, its incident opened once, and a restart that reads the
log says none of it again."""

from __future__ import annotations

import math

from dispatch_server.domain.roster import Fix
from dispatch_server.runtime import assembled
from dispatch_server.services import coverage, people, shifts, team_watch
from dispatch_server.services.context import Context
from dispatch_server.services.shifts import Shift
from tests.dispatch_server.services.conftest import Hands, Link, head, logged
from tests.support.servers import ADMIN, settings_for

EVENING_ENDS = 1_790_002_800.0  # 23:00 in Shanghai, 2026-09-21


async def _team(ctx: Context) -> list[int]:
    ids = [(await people.create_member(ctx, n, "G02", []))[0] for n in ("a", "b", "c")]
    await shifts.plan(ctx, "G02", Shift.EVENING, ids)
    return ids


async def test_a_gap_is_said_once_across_a_restart_and_ends_with_the_shift(
    database_url: str, hands: Hands
) -> None:
    settings = settings_for(database_url)
    async with assembled(settings, ADMIN, hands) as ctx:
        a, _, _ = await _team(ctx)
        await people.set_shift(ctx, a, True)
        seen = await head(ctx)
        await coverage.apply_due(ctx, hands.now)
        assert coverage.next_check(ctx) == hands.now + 600
        hands.now += 599
        await coverage.apply_due(ctx, hands.now)
        assert await logged(ctx, seen) == []
        hands.now += 1
        await coverage.apply_due(ctx, hands.now)
        await coverage.apply_due(ctx, hands.now)
        [gap] = await logged(ctx, seen)
        assert gap.type.value == "coverage_gap"
        assert gap.data["grid_id"] == "G02" and gap.data["shift"] == "evening"
        assert (gap.data["on_shift"], gap.data["minimum"]) == (1, 2)
        assert coverage.next_check(ctx) == EVENING_ENDS
    async with assembled(settings, ADMIN, hands) as ctx:
        seen = await head(ctx)
        assert ctx.shorts["G02"].said, "the log has the gap open"
        hands.now += 60
        await coverage.apply_due(ctx, hands.now)
        assert await logged(ctx, seen) == [], "not said again after a restart"
        hands.now = EVENING_ENDS
        await coverage.apply_due(ctx, hands.now)
        [over] = await logged(ctx, seen)
        assert over.type.value == "coverage_restored" and over.data["why"] == "shift_over"
        assert ctx.shorts == {} and coverage.view(ctx) == []


async def test_a_drift_is_asked_then_opens_one_incident_and_a_restart_says_nothing(
    database_url: str, hands: Hands
) -> None:
    settings = settings_for(database_url)
    async with assembled(settings, ADMIN, hands) as ctx:
        ids = await _team(ctx)
        phone = Link()
        ctx.hub.attach(ids[2], phone)
        for k, m in enumerate(ids):
            await people.set_shift(ctx, m, True)
            ctx.roster.set_fix(m, Fix(0.0, 500.0 if k == 2 else 10.0 * k, 5.0, hands.now))
        seen = await head(ctx)
        await team_watch.apply_due(ctx, hands.now)
        assert team_watch.next_check(ctx) == hands.now + 120
        hands.now += 120
        for m in ids:  # fixes kept fresh
            ctx.roster.fix_at[ctx.roster.row[m]] = hands.now
        await team_watch.apply_due(ctx, hands.now)
        ctx.team_scanned_at = -math.inf  # measure again at once: a retry says nothing more
        await team_watch.apply_due(ctx, hands.now)
        [drift] = await logged(ctx, seen)
        assert drift.type.value == "team_drift" and drift.data["distance_m"] == 490.0
        assert [(f["reason"], f["state"]) for f in phone.of("team_check")] == [("drift", "warning")]
        hands.now += 120  # the check-in overdue time, unanswered
        await team_watch.apply_due(ctx, hands.now)
        ctx.team_scanned_at = -math.inf  # measure again at once: a retry says nothing more
        await team_watch.apply_due(ctx, hands.now)
        opened, overdue = await logged(ctx, seen + 1)
        assert opened.data["source"] == "team_watch" and opened.data["reporter_id"] == ids[2]
        assert overdue.type.value == "team_check_overdue"
        assert overdue.data["incident_id"] == opened.incident_id
        assert phone.of("team_check")[-1]["state"] == "overdue"
        assert team_watch.next_check(ctx) is None
    async with assembled(settings, ADMIN, hands) as ctx:
        seen = await head(ctx)
        assert ctx.team_flags[ids[2]].overdue
        hands.now += 600
        await team_watch.apply_due(ctx, hands.now)
        assert await logged(ctx, seen) == [] and len(ctx.active) == 1


async def test_teams_are_measured_at_most_once_a_second_unless_a_deadline_is_due(
    ctx: Context, hands: Hands
) -> None:
    ids = await _team(ctx)
    for k, m in enumerate(ids):
        await people.set_shift(ctx, m, True)
        ctx.roster.set_fix(m, Fix(0.0, 10.0 * k, 5.0, hands.now))
    await team_watch.apply_due(ctx, hands.now)
    assert ctx.team_scanned_at == hands.now
    ctx.roster.set_fix(ids[2], Fix(0.0, 900.0, 5.0, hands.now + 0.5))
    await team_watch.apply_due(ctx, hands.now + 0.5)
    assert ctx.far_since == {}, "measured a moment ago"
    await team_watch.apply_due(ctx, hands.now + 1.0)
    assert ctx.far_since == {ids[2]: hands.now + 1.0}
