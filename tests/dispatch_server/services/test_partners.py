"""What a security partner sees and may do: only incidents escalated to it, where and what but
never who is where; its acknowledgement (once) and its updates go in the log."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from dispatch_server.domain.escalation import PartnerKind
from dispatch_server.services import escalation, incidents, partners, people
from dispatch_server.services.context import Context
from dispatch_server.services.intake import raise_alarm
from dispatch_server.store.tables import PARTNER
from tests.dispatch_server.services.conftest import Hands, alert, head, logged


async def _escalated(ctx: Context, hands: Hands) -> tuple[int, int, int, int]:
    """A fire in G03 escalated to the guards there, and a theft nobody escalated:
    (guards, other partner, fire incident, theft incident)."""
    guards, _, _ = await people.create_partner(ctx, "hotel", ["G03"], PartnerKind.SECURITY, None)
    other, _, _ = await people.create_partner(ctx, "campus", ["G01"], PartnerKind.SECURITY, None)
    reporter, _ = await people.create_member(ctx, "Li", "G03", [])
    ctx.consoles = 1
    fire = (await raise_alarm(ctx, reporter, alert("fire", note="kitchen"))).incident_id
    theft = (await raise_alarm(ctx, reporter, alert("theft"))).incident_id
    await escalation.apply_due(ctx, hands.now)
    return guards, other, fire, theft


async def test_a_partner_sees_only_what_was_escalated_to_it(ctx: Context, hands: Hands) -> None:
    guards, other, fire, theft = await _escalated(ctx, hands)
    assert await ctx.read(partners.visible_incidents, guards) == {fire}
    assert await ctx.read(partners.visible_incidents, other) == set()
    inc = await ctx.read(partners.check_visible, guards, fire)
    assert inc.incident_id == fire
    with pytest.raises(PermissionError, match="not escalated to you"):
        await ctx.read(partners.check_visible, guards, theft)
    with pytest.raises(PermissionError):
        await ctx.read(partners.check_visible, other, fire)


async def test_the_partner_view_says_where_and_what_not_who(ctx: Context, hands: Hands) -> None:
    guards, _, fire, _ = await _escalated(ctx, hands)
    view = partners.partner_view(await ctx.read(partners.check_visible, guards, fire), guards)
    assert view["category"] == "fire" and view["grid_id"] == "G03" and view["note"] == "kitchen"
    assert view["acknowledged_by_you"] is False
    assert not {"reporter_id", "responders", "assignments", "alert_id"} & set(view)
    [step] = [e for e in await logged(ctx) if e.type.value == "incident_escalated"]
    frame = partners.partner_frame(step)
    assert "actor" not in frame and frame["seq"] == step.seq


async def test_a_partners_map_has_the_grids_it_covers_and_those_of_its_incidents(
    ctx: Context, hands: Hands
) -> None:
    guards, other, _, _ = await _escalated(ctx, hands)
    assert await ctx.read(partners.partner_grid_ids, guards) == {"G03"}
    assert await ctx.read(partners.partner_grid_ids, other) == {"G01"}
    # Its cover moved on (G03 to G02): the grid of the incident it still has stays drawn.
    moved = update(PARTNER).where(PARTNER.c.id == guards).values(grids=["G02"])
    await ctx.writer.run(lambda tx: tx.conn.execute(moved))
    assert await ctx.read(partners.partner_grid_ids, guards) == {"G02", "G03"}


async def test_a_partner_acknowledges_once(ctx: Context, hands: Hands) -> None:
    guards, other, fire, theft = await _escalated(ctx, hands)
    seen = await head(ctx)
    inc = await ctx.writer.run(lambda tx: partners.partner_acknowledge(tx, guards, fire))
    assert inc.partner_acks == {guards}
    assert partners.partner_view(inc, guards)["acknowledged_by_you"] is True
    assert partners.partner_view(inc, other)["acknowledged_by_you"] is False
    await ctx.writer.run(lambda tx: partners.partner_acknowledge(tx, guards, fire))
    [ack] = await logged(ctx, seen)
    assert ack.type.value == "partner_acknowledged" and ack.actor == f"partner:{guards}"
    assert ack.data == {"partner_id": guards}
    assert ctx.active[fire].partner_acks == {guards}
    with pytest.raises(PermissionError):
        await ctx.writer.run(lambda tx: partners.partner_acknowledge(tx, other, fire))
    with pytest.raises(PermissionError):
        await ctx.writer.run(lambda tx: partners.partner_acknowledge(tx, guards, theft))
    assert len(await logged(ctx, seen)) == 1


async def test_a_partner_update_is_a_signed_note(ctx: Context, hands: Hands) -> None:
    guards, other, fire, _ = await _escalated(ctx, hands)
    seen = await head(ctx)
    await ctx.writer.run(lambda tx: partners.partner_update(tx, guards, fire, "two guards sent"))
    [update] = await logged(ctx, seen)
    assert update.type.value == "partner_update"
    assert update.data == {"partner_id": guards, "text": "two guards sent"}
    inc, _ = await ctx.read(incidents.detail, fire)
    assert [(n["by"], n["text"]) for n in inc.notes] == [(f"partner:{guards}", "two guards sent")]
    with pytest.raises(PermissionError):
        await ctx.writer.run(lambda tx: partners.partner_update(tx, other, fire, "not mine"))
    assert len(await logged(ctx, seen)) == 1
