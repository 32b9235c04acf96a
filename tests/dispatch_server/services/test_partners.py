"""What a security partner sees and may do: only incidents escalated to it, where and what but
never who is where; its acknowledgement (once) and its updates go in the log."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from dispatch_server.domain.escalation import PartnerKind
from dispatch_server.domain.incidents import Disposition
from dispatch_server.services import escalation, incidents, names, partners, people
from dispatch_server.services.context import Context
from dispatch_server.services.intake import raise_alarm
from dispatch_server.store.tables import PARTNER
from tests.dispatch_server.services.conftest import Hands, alert, head, logged

SECURITY = PartnerKind.SECURITY


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
    who = await ctx.read(names.load)
    view = partners.partner_view(await ctx.read(partners.check_visible, guards, fire), guards, who)
    assert view["category"] == "fire" and view["grid_id"] == "G03" and view["note"] == "kitchen"
    assert view["source"] == "alarm" and view["acknowledged_by_you"] is False
    assert not {"reporter_id", "responders", "assignments", "alert_id"} & set(view)
    [step] = [e for e in await logged(ctx) if e.type.value == "incident_escalated"]
    frame = partners.partner_frame(step, who)
    assert "actor" not in frame and frame["seq"] == step.seq


async def test_a_partner_sees_partners_names_and_nobody_elses(ctx: Context, hands: Hands) -> None:
    """Decision 33: a partner learns which partners acknowledged and wrote (its own name and
    the others' on the same incident), never a duty volunteer's or a member's name."""
    hotel, _, _ = await people.create_partner(ctx, "锦江酒店保安", ["G03"], SECURITY, None)
    estate, _, _ = await people.create_partner(ctx, "Estate guards", ["G03"], SECURITY, None)
    desk, _ = await people.create_dispatcher(ctx, "张阿姨")
    reporter, _ = await people.create_member(ctx, "王大爷", "G03", [])
    ctx.consoles = 1
    fire = (await raise_alarm(ctx, reporter, alert("fire"))).incident_id
    await escalation.apply_due(ctx, hands.now)
    by = f"dispatcher:{desk}"
    await incidents.acknowledge(ctx, fire, by)
    await incidents.add_note(ctx, fire, "on the phone with the hotel", by)
    await ctx.writer.run(lambda tx: partners.partner_acknowledge(tx, estate, fire))
    await ctx.writer.run(lambda tx: partners.partner_update(tx, estate, fire, "two guards sent"))
    await incidents.resolve(ctx, fire, Disposition.TRUE_ALARM, "extinguished", by)

    who = await ctx.read(names.load)
    view = partners.partner_view(await ctx.read(partners.check_visible, hotel, fire), hotel, who)
    assert view["escalated_to"] == [hotel, estate] and view["partner_acks"] == [estate]
    assert view["names"] == {
        f"partner:{hotel}": "锦江酒店保安",
        f"partner:{estate}": "Estate guards",
    }
    assert [(n["by_name"], n["text"]) for n in view["notes"]] == [
        (None, "on the phone with the hotel"),  # the centre's note: the centre's, unnamed
        ("Estate guards", "two guards sent"),
    ]
    assert view["closing_note"] == "extinguished"
    frames = [partners.partner_frame(e, who) for e in await logged(ctx) if e.incident_id == fire]
    named = {f["type"]: f.get("partner_name") for f in frames if "partner_id" in f}
    assert named["partner_acknowledged"] == named["partner_update"] == "Estate guards"
    shown = repr(view) + repr(frames)
    assert "张阿姨" not in shown and "王大爷" not in shown, "no volunteer's or member's name"


async def test_an_escalation_and_a_partners_word_mark_the_incident_changed(
    ctx: Context, hands: Hands
) -> None:
    """Found with issue 12: these events left the incident's `last_seq` behind, so
    `?since_seq=` missed them and a console's panel showed a partner's acknowledgement only
    when something else changed the incident."""
    guards, _, fire, theft = await _escalated(ctx, hands)

    async def changed_since(seq: int) -> list[int]:
        found = await ctx.read(incidents.listing, incidents.Filters(since_seq=seq))
        return [i["incident_id"] for i in found["incidents"]]

    [step] = [e for e in await logged(ctx) if e.type.value == "incident_escalated"]
    assert await changed_since(step.seq - 1) == [fire], "after the theft opened: the step"
    seen = await head(ctx)
    await ctx.writer.run(lambda tx: partners.partner_acknowledge(tx, guards, fire))
    assert await changed_since(seen) == [fire]
    seen = await head(ctx)
    await ctx.writer.run(lambda tx: partners.partner_update(tx, guards, fire, "on our way"))
    assert await changed_since(seen) == [fire]
    assert theft not in await changed_since(step.seq - 1)


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
    who = await ctx.read(names.load)
    assert partners.partner_view(inc, guards, who)["acknowledged_by_you"] is True
    assert partners.partner_view(inc, other, who)["acknowledged_by_you"] is False
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
