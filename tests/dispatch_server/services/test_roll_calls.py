"""Roll calls: who is asked, answers on record (the same answer once, a late one marked),
`need_help` opening one incident however often it is sent, and the close at the deadline with
a hand-moved clock."""

from __future__ import annotations

import pytest

from dispatch_server.domain.errors import Conflict, NotFound
from dispatch_server.protocol.frames import RollCallAnswer
from dispatch_server.services import people, roll_calls
from dispatch_server.services.context import Context
from tests.dispatch_server.services.conftest import Hands, Link, head, logged

BY = "dispatcher:1"
NORMAL, HELP = RollCallAnswer.ALL_NORMAL, RollCallAnswer.NEED_HELP


async def _patrols(ctx: Context) -> tuple[int, int, int, int]:
    """Li and Wang on shift in G03, Chen on shift in G04, Zhao off shift in G03."""
    ids = []
    for name, grid, on in (("Li", "G03", True), ("Wang", "G03", True), ("Chen", "G04", True)):
        member_id, _ = await people.create_member(ctx, name, grid, [])
        await people.set_shift(ctx, member_id, on)
        ids.append(member_id)
    idle, _ = await people.create_member(ctx, "Zhao", "G03", [])
    return ids[0], ids[1], ids[2], idle


async def test_start_asks_every_member_on_shift_in_its_grids(ctx: Context, hands: Hands) -> None:
    li, wang, chen, idle = await _patrols(ctx)
    phones = {m: Link() for m in (li, wang, chen, idle)}
    for member_id, phone in phones.items():
        ctx.hub.attach(member_id, phone)
    rc = await roll_calls.start(ctx, ["G03", "G05"], 60.0, BY)
    assert rc.expected == {li: "G03", wang: "G03"} and rc.deadline == hands.now + 60
    assert [len(phones[m].of("roll_call")) for m in (li, wang, chen, idle)] == [1, 1, 0, 0]
    assert ctx.roll_calls == {rc.roll_call_id: rc}
    assert roll_calls.next_check(ctx) == hands.now + 60
    started = (await logged(ctx))[-1]
    assert started.type.value == "roll_call_started" and started.roll_call_id == rc.roll_call_id
    everywhere = await roll_calls.start(ctx, None, 60.0, BY)
    assert set(everywhere.grid_ids) == set(ctx.grids.grids)
    assert everywhere.expected == {li: "G03", wang: "G03", chen: "G04"}


async def test_answers_once_and_a_stranger_is_refused(ctx: Context) -> None:
    li, _, chen, _ = await _patrols(ctx)
    rc = await roll_calls.start(ctx, ["G03"], 60.0, BY)
    seen = await head(ctx)
    after = await roll_calls.answer(ctx, rc.roll_call_id, li, NORMAL, None)
    await roll_calls.answer(ctx, rc.roll_call_id, li, NORMAL, None)  # the handheld's retry
    [answered] = await logged(ctx, seen)
    assert answered.data["status"] == "all_normal" and answered.data["late"] is False
    assert roll_calls.view(after)["tally"]["G03"]["all_normal"] == [li]
    with pytest.raises(Conflict, match="was not called"):
        await roll_calls.answer(ctx, rc.roll_call_id, chen, NORMAL, None)
    with pytest.raises(NotFound):
        await roll_calls.answer(ctx, rc.roll_call_id + 1, li, NORMAL, None)


async def test_need_help_opens_one_incident_however_often_sent(ctx: Context, hands: Hands) -> None:
    li, _, _, _ = await _patrols(ctx)
    rc = await roll_calls.start(ctx, ["G03"], 60.0, BY)
    seen = await head(ctx)
    await roll_calls.answer(ctx, rc.roll_call_id, li, HELP, "ankle")
    await roll_calls.answer(ctx, rc.roll_call_id, li, HELP, "ankle")  # retried: nothing new
    hands.now += 5
    await roll_calls.answer(ctx, rc.roll_call_id, li, HELP, "ankle, and it's raining")
    events = await logged(ctx, seen)
    assert [e.type.value for e in events] == [
        "incident_opened",
        "roll_call_answered",
        "roll_call_answered",
    ]
    opened = events[0]
    assert opened.data["reporter_id"] == li and opened.data["grid_id"] == "G03"
    # It says what it is in data, not in an English note: the console words it (issue 12).
    assert opened.data["source"] == "roll_call" and opened.data["note"] == "ankle"
    assert opened.data["roll_call_id"] == rc.roll_call_id
    assert list(ctx.active) == [opened.incident_id]
    inc = ctx.active[opened.incident_id]
    assert (inc.source, inc.roll_call_id, inc.note) == ("roll_call", rc.roll_call_id, "ankle")


async def test_the_deadline_closes_it_once_and_names_silent_grids(
    ctx: Context, hands: Hands
) -> None:
    li, _, _, _ = await _patrols(ctx)
    rc = await roll_calls.start(ctx, ["G03", "G04", "G05"], 60.0, BY)
    await roll_calls.answer(ctx, rc.roll_call_id, li, NORMAL, None)
    hands.now += 59.9
    seen = await head(ctx)
    await roll_calls.close_due(ctx, hands.now)
    assert await logged(ctx, seen) == [] and rc.roll_call_id in ctx.roll_calls
    hands.now += 0.1
    await roll_calls.close_due(ctx, hands.now)
    await roll_calls.close_due(ctx, hands.now)
    [closed] = await logged(ctx, seen)
    assert closed.type.value == "roll_call_closed" and closed.actor == "system:deadline"
    assert closed.data["silent_grids"] == ["G04", "G05"], "G03 answered"
    assert ctx.roll_calls == {} and roll_calls.next_check(ctx) is None
    detail = await ctx.read(roll_calls.detail, rc.roll_call_id)
    assert not detail["open"] and detail["silent_grids"] == ["G04", "G05"]
    assert [r["roll_call_id"] for r in await ctx.read(roll_calls.listing, 10)] == [rc.roll_call_id]


async def test_an_answer_after_the_close_is_kept_marked_late(ctx: Context, hands: Hands) -> None:
    _, wang, _, _ = await _patrols(ctx)
    rc = await roll_calls.start(ctx, ["G03"], 60.0, BY)
    hands.now += 61
    await roll_calls.close_due(ctx, hands.now)
    after = await roll_calls.answer(ctx, rc.roll_call_id, wang, HELP, None)
    last = (await logged(ctx))[-1]
    assert last.type.value == "roll_call_answered" and last.data["late"] is True
    assert after.answers[wang].late and not after.open
    assert any(i.reporter_id == wang for i in ctx.active.values()), "a late call for help counts"
    # Found by the duty-day simulation: the late answer once broke its whole commit batch
    # in live state ("roll_call_answered before its roll call started").
    assert ctx.supervisor.failing == [] and rc.roll_call_id not in ctx.roll_calls
