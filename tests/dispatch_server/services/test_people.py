"""Members, dispatchers and partners registered with their tokens; shifts on record once per
change; the live member list; members another instance registered, reloaded."""

from __future__ import annotations

from sqlalchemy import insert

from dispatch_server.domain.escalation import PartnerKind
from dispatch_server.domain.roster import Fix
from dispatch_server.services import people
from dispatch_server.services.auth import Kind, Principal
from dispatch_server.services.context import Context
from dispatch_server.store.log import Tx
from dispatch_server.store.tables import MEMBER
from tests.dispatch_server.services.conftest import Hands, head, logged


async def test_a_new_member_can_sign_in_and_is_in_live_state(ctx: Context) -> None:
    member_id, token = await people.create_member(ctx, "Li", "G03", ["first_aid"])
    assert await ctx.authenticate(token) == Principal(Kind.MEMBER, member_id)
    assert member_id in ctx.roster and ctx.roster.name(member_id) == "Li"
    other, _ = await people.create_member(ctx, "Wang", "G03", [])
    assert other != member_id
    # Decision 44: registering is on record, as the administrator's, with no token in it.
    registered = [(e.type, e.actor, e.data) for e in await logged(ctx)]
    assert registered == [
        (
            "member_registered",
            "admin:0",
            {"member_id": member_id, "name": "Li", "grid_id": "G03", "skills": ["first_aid"]},
        ),
        (
            "member_registered",
            "admin:0",
            {"member_id": other, "name": "Wang", "grid_id": "G03", "skills": []},
        ),
    ]


async def test_a_dispatcher_and_partners_with_and_without_a_webhook(ctx: Context) -> None:
    dispatcher_id, token = await people.create_dispatcher(ctx, "Zhou")
    assert await ctx.authenticate(token) == Principal(Kind.DISPATCHER, dispatcher_id)

    hooked, hooked_token, secret = await people.create_partner(
        ctx, "hotel", ["G03", "G04"], PartnerKind.SECURITY, "https://hotel.example/hook"
    )
    plain, _, no_secret = await people.create_partner(
        ctx, "station", ["G01"], PartnerKind.POLICE, None
    )
    assert secret and no_secret is None, "a secret only to sign webhooks with"
    assert await ctx.authenticate(hooked_token) == Principal(Kind.PARTNER, hooked)
    partner = ctx.partners[hooked]
    assert partner.grids == {"G03", "G04"} and partner.webhook_secret == secret
    assert ctx.partners[plain].kind is PartnerKind.POLICE


async def test_the_same_shift_change_twice_is_written_once(ctx: Context, hands: Hands) -> None:
    member_id, _ = await people.create_member(ctx, "Li", "G03", [])
    seen = await head(ctx)
    assert await people.set_shift(ctx, member_id, True)
    hands.now += 5
    assert await people.set_shift(ctx, member_id, True)  # a retry
    assert ctx.roster.on_shift[ctx.roster.row[member_id]]
    hands.now += 5
    assert not await people.set_shift(ctx, member_id, False)
    assert not await people.set_shift(ctx, member_id, False)
    events = await logged(ctx, seen)
    assert [(e.type.value, e.data) for e in events] == [
        ("shift_started", {"member_id": member_id, "grid_id": "G03"}),
        ("shift_ended", {"member_id": member_id, "grid_id": "G03"}),
    ]
    assert events[0].actor == f"member:{member_id}"
    assert not ctx.roster.on_shift[ctx.roster.row[member_id]]
    # A shift starts checked in (lone-worker mode).
    assert ctx.roster.last_check_in[ctx.roster.row[member_id]] == events[0].at


async def test_live_members_say_who_is_heard_and_where(ctx: Context, hands: Hands) -> None:
    quiet, _ = await people.create_member(ctx, "Li", "G03", [])
    heard, _ = await people.create_member(ctx, "Wang", "G03", [])
    await people.set_shift(ctx, heard, True)
    x, y = ctx.grids.representative_xy("G03")
    ctx.roster.link_up(heard, hands.now)
    ctx.roster.set_fix(heard, Fix(x, y, 8.0, hands.now))
    hands.now += 130  # past the freshness of a fix (120 s)

    by_id = {m["member_id"]: m for m in people.live_members(ctx)}
    assert by_id[quiet]["silent_s"] is None and by_id[quiet]["fix"] is None
    assert not by_id[quiet]["on_shift"] and not by_id[quiet]["connected"]
    member = by_id[heard]
    assert member["on_shift"] and member["connected"] and member["silent_s"] == 130.0
    lon, lat = ctx.grids.projection.to_lonlat(x, y)
    assert member["fix"]["lon"] == round(lon, 7) and member["fix"]["lat"] == round(lat, 7)
    assert member["fix"]["accuracy_m"] == 8.0 and member["fix"]["fresh"] is False


async def test_reload_brings_in_members_another_instance_registered(ctx: Context) -> None:
    known, _ = await people.create_member(ctx, "Li", "G03", [])

    def elsewhere(tx: Tx) -> int:
        row = {"name": "Chen", "grid_id": "G01", "skills": ["security"], "created_at": 0.0}
        return int(tx.conn.execute(insert(MEMBER).returning(MEMBER.c.id), row).scalar_one())

    added = await ctx.writer.run(elsewhere)
    assert added not in ctx.roster
    await people.reload_members(ctx)
    await people.reload_members(ctx)  # again: nothing twice
    assert ctx.roster.ids == [known, added]
    assert ctx.roster.name(added) == "Chen" and ctx.roster.grids[ctx.roster.row[added]] == "G01"
