"""The observer's fold: one committed event in, live state changed, effects out. Nothing is
delivered or woken here: the effects are read, not carried out. And the picture a restarted
instance loads from the log."""

from __future__ import annotations

from typing import Any

from dispatch_server.domain.events import Event, EventType
from dispatch_server.domain.incidents import Disposition
from dispatch_server.runtime import assembled
from dispatch_server.services import incidents, observer, people, roll_calls
from dispatch_server.services.context import Context
from dispatch_server.services.effects import Deliver, Wake
from dispatch_server.services.intake import raise_alarm
from tests.dispatch_server.services.conftest import Hands, alert
from tests.support.servers import ADMIN, settings_for


def _opened(seq: int, at: float, incident_id: int, reporter: int, **extra: Any) -> Event:
    data = {
        "alert_id": f"00000000-0000-4000-8000-{incident_id:012d}",
        "grid_id": "G03",
        "lon": 113.04,
        "lat": 28.13,
        "inside_grid": True,
        "point_source": "reporter_grid",
        "category": "theft",
        "reporter_id": reporter,
        "responders": [],
        **extra,
    }
    return Event(seq, EventType.INCIDENT_OPENED, at, f"member:{reporter}", incident_id, data)


async def test_an_alarm_sets_its_escalation_clock_and_dispatch_reaches_the_responders(
    ctx: Context, hands: Hands
) -> None:
    ctx.roster.add(7, "Li", "G03", 0, (0.0, 0.0))
    ctx.roster.add(8, "Wang", "G03", 0, (0.0, 0.0))
    effects = observer.apply(ctx, _opened(1, hands.now, 1, reporter=7))
    no_ack = next(r for r in ctx.escalation_rules if r.trigger.value == "no_ack")
    assert effects == [Wake(hands.now + no_ack.after_s)], "the no-ack step is the next one"
    assert 1 in ctx.active and ctx.escalation_next[1] == hands.now + no_ack.after_s

    ack = Event(2, EventType.INCIDENT_ACKNOWLEDGED, hands.now + 1, "dispatcher:1", 1, {})
    effects = observer.apply(ctx, ack)
    assert [type(e) for e in effects] == [Wake, Deliver]  # police step moves; reporter told
    assert isinstance(effects[1], Deliver) and effects[1].member_id == 7
    assert effects[1].frame.type == "alert_update" and effects[1].frame.acknowledged

    sent = Event(
        3, EventType.RESPONDERS_DISPATCHED, hands.now + 2, "dispatcher:1", 1, {"member_ids": [8]}
    )
    effects = observer.apply(ctx, sent)
    assignment = next(e for e in effects if isinstance(e, Deliver) and e.member_id == 8)
    assert assignment.frame.type == "assignment" and assignment.frame.incident_id == 1

    done = Event(
        4,
        EventType.INCIDENT_RESOLVED,
        hands.now + 3,
        "dispatcher:1",
        1,
        {"disposition": "true_alarm"},
    )
    effects = observer.apply(ctx, done)
    assert 1 not in ctx.active and 1 not in ctx.escalation_next
    assert not any(isinstance(e, Wake) for e in effects), "a resolved incident has no clock"


async def test_a_roll_call_asks_every_member_it_expects_and_wakes_by_its_deadline(
    ctx: Context, hands: Hands
) -> None:
    deadline = hands.now + 60
    started = Event(
        1,
        EventType.ROLL_CALL_STARTED,
        hands.now,
        "dispatcher:1",
        None,
        {
            "roll_call_id": 5,
            "grid_ids": ["G03"],
            "expected": {"7": "G03", "8": "G03"},
            "deadline": deadline,
        },
        roll_call_id=5,
    )
    effects = observer.apply(ctx, started)
    asked = sorted(e.member_id for e in effects if isinstance(e, Deliver))
    assert asked == [7, 8] and effects[-1] == Wake(deadline)
    assert 5 in ctx.roll_calls


async def test_a_late_event_of_an_incident_resolved_long_ago_changes_nothing(
    ctx: Context, hands: Hands
) -> None:
    note = Event(9, EventType.NOTE_ADDED, hands.now, "dispatcher:1", 42, {"text": "late"})
    assert observer.apply(ctx, note) == [] and ctx.active == {}


async def test_duty_events_are_on_record_and_change_no_live_state(
    ctx: Context, hands: Hands
) -> None:
    failed = Event(
        1,
        EventType.DUTY_FAILED,
        hands.now,
        "system:supervisor",
        None,
        {"duty": "escalation", "error": "x", "failures": 1, "instance": "a"},
    )
    assert observer.apply(ctx, failed) == []


async def test_a_restart_finds_live_state_in_the_log(
    ctx: Context, hands: Hands, database_url: str
) -> None:
    """load_live, as a restarted instance runs it on the same database: open incidents and
    their clocks, busy responders, shifts, open roll calls; everyone gets the grace time."""
    li, _ = await people.create_member(ctx, "Li", "G03", [])
    wang, _ = await people.create_member(ctx, "Wang", "G03", [])
    zhao, _ = await people.create_member(ctx, "Zhao", "G03", [])
    await people.set_shift(ctx, zhao, True)
    await people.set_shift(ctx, zhao, False)
    shift_start = hands.now = hands.now + 5
    for member_id in (li, wang):
        await people.set_shift(ctx, member_id, True)
    ctx.consoles = 1
    done = (await raise_alarm(ctx, li, alert())).incident_id
    await incidents.resolve(ctx, done, Disposition.TEST, None, "dispatcher:1")
    live = (await raise_alarm(ctx, li, alert())).incident_id
    await incidents.dispatch(ctx, live, [wang], "dispatcher:1")
    await incidents.reply(ctx, live, wang, True)
    call = await roll_calls.start(ctx, ["G03"], 60.0, "dispatcher:1")
    hands.now += 30

    async with assembled(settings_for(database_url), ADMIN, hands) as again:
        assert list(again.active) == [live] and again.active[live] == ctx.active[live]
        assert again.escalation_next == ctx.escalation_next
        assert list(again.roll_calls) == [call.roll_call_id]
        roster = again.roster
        assert roster.busy[roster.row[wang]] and not roster.busy[roster.row[li]]
        assert roster.on_shift[roster.row[li]] and roster.on_shift[roster.row[wang]]
        # When each shift started (it bounds a press time: domain/press.py).
        assert roster.shift_start(li) == roster.shift_start(wang) == shift_start
        assert roster.shift_start(zhao) is None and ctx.roster.shift_start(li) == shift_start
        assert roster.last_seen[roster.row[li]] == hands.now, "the full grace time to reconnect"
