"""The observer's fold: one committed event in, live state changed, effects out. Nothing is
delivered or woken here: the effects are read, not carried out."""

from __future__ import annotations

from typing import Any

from dispatch_server.domain.events import Event, EventType
from dispatch_server.services import observer
from dispatch_server.services.context import Context
from dispatch_server.services.effects import Deliver, Wake
from tests.dispatch_server.services.conftest import Hands


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
