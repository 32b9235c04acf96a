"""Commands on an incident (acknowledge, dispatch, reply, note, resolve): each one event in the
log, the projection rows and live state in step, the handhelds told; an illegal move is a
Conflict that writes nothing, an unknown incident or member is NotFound."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Connection, select

from dispatch_server.domain.errors import Conflict, NotFound
from dispatch_server.domain.incidents import Disposition, Status
from dispatch_server.services import incidents, people
from dispatch_server.services.context import Context
from dispatch_server.services.intake import raise_alarm
from dispatch_server.store.tables import ASSIGNMENT, INCIDENT
from tests.dispatch_server.services.conftest import Hands, Link, alert, head, logged

BY = "dispatcher:1"


async def _alarm(ctx: Context) -> tuple[int, int, int]:
    """A theft alarm from Li in G03, with Wang beside her: (incident, reporter, responder)."""
    reporter, _ = await people.create_member(ctx, "Li", "G03", [])
    responder, _ = await people.create_member(ctx, "Wang", "G03", [])
    ctx.consoles = 1
    accepted = await raise_alarm(ctx, reporter, alert("theft"))
    return accepted.incident_id, reporter, responder


def _row(conn: Connection, incident_id: int) -> tuple[str, str | None]:
    row = conn.execute(
        select(INCIDENT.c.status, INCIDENT.c.disposition).where(INCIDENT.c.id == incident_id)
    ).one()
    return row.status, row.disposition


def _assignments(conn: Connection, incident_id: int) -> list[tuple[Any, ...]]:
    q = select(ASSIGNMENT.c.member_id, ASSIGNMENT.c.reply).where(
        ASSIGNMENT.c.incident_id == incident_id
    )
    return [tuple(r) for r in conn.execute(q)]


async def test_acknowledge_once_then_conflict(ctx: Context, hands: Hands) -> None:
    incident_id, reporter, _ = await _alarm(ctx)
    phone = Link()
    ctx.hub.attach(reporter, phone)
    hands.now += 4
    inc = await incidents.acknowledge(ctx, incident_id, BY)
    assert inc.status is Status.ACKNOWLEDGED and inc.acknowledged_at == hands.now
    assert ctx.active[incident_id].status is Status.ACKNOWLEDGED
    assert await ctx.read(_row, incident_id) == ("acknowledged", None)
    [update] = phone.of("alert_update")
    assert update["acknowledged"] and update["incident_id"] == incident_id

    seen = await head(ctx)
    with pytest.raises(Conflict, match="already acknowledged by dispatcher:1"):
        await incidents.acknowledge(ctx, incident_id, "dispatcher:2")
    assert await logged(ctx, seen) == [], "a refused command writes nothing"
    with pytest.raises(NotFound):
        await incidents.acknowledge(ctx, incident_id + 1, BY)


async def test_dispatch_then_accept_makes_the_responder_busy(ctx: Context) -> None:
    incident_id, reporter, responder = await _alarm(ctx)
    reporter_phone, responder_phone = Link(), Link()
    ctx.hub.attach(reporter, reporter_phone)
    ctx.hub.attach(responder, responder_phone)

    inc = await incidents.dispatch(ctx, incident_id, [responder], BY)
    assert inc.status is Status.DISPATCHED and inc.acknowledged_by == BY, "dispatch acknowledges"
    [assignment] = responder_phone.of("assignment")
    assert assignment["incident_id"] == incident_id and assignment["grid_id"] == "G03"
    assert await ctx.read(_assignments, incident_id) == [(responder, "pending")]

    inc = await incidents.reply(ctx, incident_id, responder, True)
    assert inc.status is Status.RESPONDING
    assert ctx.roster.busy[ctx.roster.row[responder]]
    assert await ctx.read(_assignments, incident_id) == [(responder, "accepted")]
    [coming] = reporter_phone.of("alert_update")[-1]["coming"]
    assert (coming["member_id"], coming["name"]) == (responder, "Wang")
    assert (coming["arrived"], coming["done"]) == (False, False)

    seen = await head(ctx)
    await incidents.reply(ctx, incident_id, responder, True)  # the handheld's retry
    assert await logged(ctx, seen) == [], "the same reply twice is one event"


async def test_dispatch_refusals(ctx: Context) -> None:
    incident_id, reporter, responder = await _alarm(ctx)
    seen = await head(ctx)
    with pytest.raises(NotFound, match="no member 999"):
        await incidents.dispatch(ctx, incident_id, [responder, 999], BY)
    with pytest.raises(Conflict, match="raised this alarm"):
        await incidents.dispatch(ctx, incident_id, [reporter], BY)
    with pytest.raises(Conflict, match="was not dispatched"):
        await incidents.reply(ctx, incident_id, responder, True)
    await incidents.dispatch(ctx, incident_id, [responder], BY)
    with pytest.raises(Conflict, match="already dispatched"):
        await incidents.dispatch(ctx, incident_id, [responder], BY)
    assert [e.type.value for e in await logged(ctx, seen)] == ["responders_dispatched"]


async def test_resolve_frees_responders_and_closes_the_incident(ctx: Context) -> None:
    incident_id, reporter, responder = await _alarm(ctx)
    await incidents.dispatch(ctx, incident_id, [responder], BY)
    await incidents.reply(ctx, incident_id, responder, True)
    phone = Link()
    ctx.hub.attach(reporter, phone)

    inc = await incidents.resolve(ctx, incident_id, Disposition.FALSE_ALARM, "cat", BY)
    assert inc.status is Status.RESOLVED and inc.disposition is Disposition.FALSE_ALARM
    assert incident_id not in ctx.active and incident_id not in ctx.escalation_next
    assert not ctx.roster.busy[ctx.roster.row[responder]]
    assert await ctx.read(_row, incident_id) == ("resolved", "false_alarm")
    assert phone.of("alert_update")[-1]["disposition"] == "false_alarm"
    last = (await logged(ctx))[-1]
    assert last.type.value == "incident_resolved"
    assert last.data == {"disposition": "false_alarm", "note": "cat"}

    seen = await head(ctx)
    with pytest.raises(Conflict, match="already resolved"):
        await incidents.resolve(ctx, incident_id, Disposition.TRUE_ALARM, None, BY)
    with pytest.raises(Conflict):
        await incidents.dispatch(ctx, incident_id, [responder], BY)
    with pytest.raises(Conflict):
        await incidents.acknowledge(ctx, incident_id, BY)
    assert await logged(ctx, seen) == []


async def test_a_note_is_kept_also_after_resolution(ctx: Context, hands: Hands) -> None:
    incident_id, _, _ = await _alarm(ctx)
    await incidents.add_note(ctx, incident_id, "caller on the phone", BY)
    await incidents.resolve(ctx, incident_id, Disposition.TRUE_ALARM, None, BY)
    hands.now += 600
    inc = await incidents.add_note(ctx, incident_id, "police report filed", "dispatcher:2")
    assert [(n["text"], n["by"]) for n in inc.notes] == [
        ("caller on the phone", BY),
        ("police report filed", "dispatcher:2"),
    ]
    assert inc.notes[-1]["at"] == hands.now
    with pytest.raises(NotFound):
        await incidents.add_note(ctx, 12345, "nowhere", BY)


async def test_detail_and_listing_read_the_log(ctx: Context) -> None:
    first, reporter, _ = await _alarm(ctx)
    second = (await raise_alarm(ctx, reporter, alert("medical"))).incident_id
    before_resolve = await head(ctx)
    await incidents.resolve(ctx, first, Disposition.TEST, None, BY)

    inc, view = await ctx.read(incidents.detail, first)
    assert inc.status is Status.RESOLVED
    assert [e["type"] for e in view["timeline"]] == ["incident_opened", "incident_resolved"]
    with pytest.raises(NotFound):
        await ctx.read(incidents.detail, 999)

    everything = await ctx.read(incidents.listing, incidents.Filters())
    assert [i["incident_id"] for i in everything["incidents"]] == [second, first]
    assert everything["last_seq"] == await head(ctx)
    open_only = await ctx.read(incidents.listing, incidents.Filters(unresolved=True))
    assert [i["incident_id"] for i in open_only["incidents"]] == [second]
    medical = await ctx.read(incidents.listing, incidents.Filters(category="medical"))
    assert [i["incident_id"] for i in medical["incidents"]] == [second]
    changed = await ctx.read(incidents.listing, incidents.Filters(since_seq=before_resolve))
    assert [i["incident_id"] for i in changed["incidents"]] == [first]
