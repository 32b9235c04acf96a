"""Accounts (decision 44) without a server: what a step writes and revokes, and how an
instance folds the events, including one another instance wrote (read from the log)."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, select

from dispatch_server.domain.check_ins import Rule
from dispatch_server.domain.errors import Conflict, NotFound
from dispatch_server.domain.escalation import PartnerKind
from dispatch_server.domain.events import Event, EventType
from dispatch_server.domain.skills import Skill, mask
from dispatch_server.services import accounts, check_ins, edits, observer, people
from dispatch_server.services.auth import Kind, Principal
from dispatch_server.services.context import Context
from dispatch_server.store.tables import TOKEN
from tests.dispatch_server.services.conftest import Hands, Link, head, logged


async def test_deactivating_revokes_every_token_and_closes_every_socket(ctx: Context) -> None:
    member_id, token = await people.create_member(ctx, "Li", "G03", [])
    own, phone = Link(), Link()
    seen = ctx.sessions.revocations
    assert ctx.sessions.attach(Principal(Kind.MEMBER, member_id), own, seen)
    assert ctx.sessions.attach(Principal(Kind.MEMBER, member_id, device_id=9), phone, seen)
    await people.set_shift(ctx, member_id, True)
    since = await head(ctx)

    record = await accounts.deactivate(ctx, Kind.MEMBER, member_id, "admin:3")
    assert record["deactivated_at"] is not None and record["devices"] == 0
    assert own.closed is not None and own.closed[0] == 4401
    assert phone.closed is not None and phone.closed[0] == 4401
    assert await ctx.authenticate(token) is None
    assert not ctx.roster.on_shift[ctx.roster.row[member_id]]
    steps = [(e.type.value, e.actor, e.data) for e in await logged(ctx, since)]
    assert steps == [
        ("shift_ended", "admin:3", {"member_id": member_id, "grid_id": "G03"}),
        ("member_deactivated", "admin:3", {"member_id": member_id, "device_ids": []}),
    ]
    with pytest.raises(Conflict, match="deactivated"):
        await people.set_shift(ctx, member_id, True)
    assert await accounts.deactivate(ctx, Kind.MEMBER, member_id, "admin:3") == record
    assert len(await logged(ctx, since)) == 2, "again: nothing new"
    with pytest.raises(NotFound):
        await accounts.deactivate(ctx, Kind.DISPATCHER, 99, "admin:0")


async def test_a_new_member_token_spares_the_handhelds(ctx: Context) -> None:
    member_id, token = await people.create_member(ctx, "Li", "G03", [])
    own, phone = Link(), Link()
    seen = ctx.sessions.revocations
    ctx.sessions.attach(Principal(Kind.MEMBER, member_id), own, seen)
    ctx.sessions.attach(Principal(Kind.MEMBER, member_id, device_id=9), phone, seen)
    new = await accounts.rotate(ctx, Kind.MEMBER, member_id, "admin:0")
    assert own.closed is not None and phone.closed is None
    assert await ctx.authenticate(token) is None
    assert await ctx.authenticate(new) == Principal(Kind.MEMBER, member_id)

    def live(conn: Connection) -> int:
        q = select(TOKEN.c.token_hash).where(TOKEN.c.revoked_at.is_(None))
        return len(conn.execute(q).all())

    assert await ctx.read(live) == 1


async def test_a_socket_registered_after_a_revocation_is_checked_again(ctx: Context) -> None:
    """The hello's token was checked, then a revocation was folded, then the socket is
    registered: `attach` says so, and the caller checks the token once more."""
    dispatcher_id, _ = await people.create_dispatcher(ctx, "Zhou")
    seen = ctx.sessions.revocations
    await accounts.rotate(ctx, Kind.DISPATCHER, dispatcher_id, "admin:0")
    late = Link()
    assert ctx.sessions.attach(Principal(Kind.DISPATCHER, dispatcher_id), late, seen) is False
    assert ctx.sessions.attach(Principal(Kind.DISPATCHER, dispatcher_id), Link(), seen + 1)


async def test_another_instances_member_change_is_folded_here(ctx: Context, hands: Hands) -> None:
    """The roster follows `member_updated` as any instance folds it from the log: name,
    grid, skills, home point and the grid's check-in rule."""
    member_id, _ = await people.create_member(ctx, "Li", "G03", [])
    await check_ins.set_rule(ctx, "G01", None, Rule(300.0, 60.0))
    changes = {"name": ["Li", "Li Na"], "grid_id": ["G03", "G01"], "skills": [[], ["medical"]]}
    tailed = Event(
        10_000,
        EventType.MEMBER_UPDATED,
        hands.now,
        "admin:2",
        None,
        {"member_id": member_id, "changes": changes},
    )
    observer.committed(ctx, [tailed])
    roster = ctx.roster
    i = roster.row[member_id]
    assert (roster.names[i], roster.grids[i]) == ("Li Na", "G01")
    assert int(roster.skills[i]) == mask([Skill.MEDICAL])
    assert (roster.home_x[i], roster.home_y[i]) == ctx.grids.representative_xy("G01")
    assert float(roster.check_in_period[i]) == 300.0


async def test_a_member_edit_logs_only_what_changed(ctx: Context) -> None:
    member_id, _ = await people.create_member(ctx, "Li", "G03", ["first_aid"])
    since = await head(ctx)
    record = await edits.update_member(
        ctx, member_id, {"name": "Li", "skills": ["first_aid", "medical"]}, "admin:0"
    )
    assert record["skills"] == ["first_aid", "medical"]
    again = await edits.update_member(ctx, member_id, {"skills": record["skills"]}, "admin:0")
    assert again == record
    [event] = await logged(ctx, since)
    assert event.data == {
        "member_id": member_id,
        "changes": {"skills": [["first_aid"], ["first_aid", "medical"]]},
    }
    assert int(ctx.roster.skills[ctx.roster.row[member_id]]) == mask(
        [Skill.FIRST_AID, Skill.MEDICAL]
    )


async def test_a_deactivated_partner_leaves_the_escalation_partners(ctx: Context) -> None:
    partner_id, _, _ = await people.create_partner(
        ctx, "hotel", ["G03"], PartnerKind.SECURITY, None
    )
    feed = Link()
    ctx.sessions.attach(Principal(Kind.PARTNER, partner_id), feed, ctx.sessions.revocations)
    await accounts.deactivate(ctx, Kind.PARTNER, partner_id, "admin:0")
    assert partner_id not in ctx.partners and feed.closed is not None
    await accounts.reactivate(ctx, Kind.PARTNER, partner_id, "admin:0")
    assert partner_id in ctx.partners
    with pytest.raises(Conflict, match="active"):
        await accounts.reactivate(ctx, Kind.PARTNER, partner_id, "admin:0")
