"""The shift roster: the plan for every grid's morning and evening shift, replaced as a whole,
shown beside what each planned member is doing now."""

from __future__ import annotations

from typing import Any

from dispatch_server.services import people, shifts
from dispatch_server.services.context import Context
from dispatch_server.services.shifts import Shift
from tests.dispatch_server.services.conftest import Hands


def _slot(view: list[dict[str, Any]], grid_id: str, shift: Shift) -> list[dict[str, Any]]:
    [slot] = [s for s in view if s["grid_id"] == grid_id and s["shift"] == shift.value]
    return list(slot["members"])


async def test_every_grid_and_shift_is_listed_planned_or_not(ctx: Context) -> None:
    view = await shifts.view(ctx)
    assert [(s["grid_id"], s["shift"]) for s in view] == [
        (g, s.value) for g in ctx.grids.grid_ids for s in Shift
    ]
    assert all(s["members"] == [] for s in view)


async def test_a_plan_is_replaced_and_shows_live_status(ctx: Context, hands: Hands) -> None:
    li, _ = await people.create_member(ctx, "Li", "G03", [])
    wang, _ = await people.create_member(ctx, "Wang", "G03", [])
    chen, _ = await people.create_member(ctx, "Chen", "G03", [])
    await shifts.plan(ctx, "G03", Shift.MORNING, [wang, li, wang])
    await shifts.plan(ctx, "G03", Shift.EVENING, [chen])
    ctx.roster.link_up(li, hands.now)
    await people.set_shift(ctx, li, True)

    view = await shifts.view(ctx)
    assert _slot(view, "G03", Shift.MORNING) == [
        {
            "member_id": li,
            "name": "Li",
            "on_shift": True,
            "connected": True,
            "offline": False,
            "busy": False,
        },
        {
            "member_id": wang,
            "name": "Wang",
            "on_shift": False,
            "connected": False,
            "offline": False,
            "busy": False,
        },
    ], "once each, however often named"
    assert [m["member_id"] for m in _slot(view, "G03", Shift.EVENING)] == [chen]

    await shifts.plan(ctx, "G03", Shift.MORNING, [chen])
    view = await shifts.view(ctx)
    assert [m["member_id"] for m in _slot(view, "G03", Shift.MORNING)] == [chen], "replaced"
    assert [m["member_id"] for m in _slot(view, "G03", Shift.EVENING)] == [chen], "untouched"
    await shifts.plan(ctx, "G03", Shift.EVENING, [])
    assert _slot(await shifts.view(ctx), "G03", Shift.EVENING) == []
