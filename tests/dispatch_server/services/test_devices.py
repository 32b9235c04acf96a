"""Enrolment codes and devices on the assembled runtime, with a clock moved by hand: a code
works once and until it expires, only hashes are kept, a code is never a token, and a
revoked device's token is refused and its sockets closed, here and on another instance."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import Connection, func, select

from dispatch_server.domain.enrolment import CodeRefused, Refusal
from dispatch_server.domain.errors import NotFound
from dispatch_server.protocol.codes import CloseCode
from dispatch_server.runtime import assembled
from dispatch_server.services import devices, people
from dispatch_server.services.auth import Kind, Principal, hash_token
from dispatch_server.services.context import Context
from dispatch_server.store.tables import DEVICE, ENROLMENT, TOKEN
from tests.dispatch_server.services.conftest import Hands, Link, head, logged
from tests.support.servers import ADMIN, settings_for

BASE = "https://patrol.example.org"
ADMIN_ACTOR = "admin:0"


async def _member(ctx: Context, name: str = "Li") -> int:
    member_id, _ = await people.create_member(ctx, name, "G03", [])
    return member_id


def _count(conn: Connection, table: object) -> int:
    return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


async def test_a_code_is_made_for_a_member_and_only_its_hash_is_kept(
    ctx: Context, hands: Hands
) -> None:
    li = await _member(ctx)
    since = await head(ctx)
    made = await devices.create_enrolment(ctx, li, BASE, ADMIN_ACTOR)
    assert made.url == f"{BASE}/h/#enrol={made.code}"
    assert made.expires_at == hands.now + 24 * 3600, "24 h by default"
    stored = await ctx.read(lambda c: c.execute(select(ENROLMENT)).one())
    assert stored.code_hash == devices.hash_code(made.code) and made.code not in stored.code_hash
    assert stored.code_hash != hash_token(made.code), "a code's hash is never a token's"
    [event] = await logged(ctx, since)
    assert (event.type, event.actor) == ("enrolment_created", ADMIN_ACTOR)
    assert event.data == {"member_id": li, "enrolment_id": stored.id, "expires_at": made.expires_at}
    assert made.code not in str(event.data)
    with pytest.raises(NotFound):
        await devices.create_enrolment(ctx, 999, BASE, ADMIN_ACTOR)


async def test_the_code_becomes_a_device_token_once(ctx: Context) -> None:
    li = await _member(ctx)
    made = await devices.create_enrolment(ctx, li, BASE, ADMIN_ACTOR)
    since = await head(ctx)
    done = await devices.enrol(ctx, made.code, "Li's phone")
    assert (done.member_id, done.device_name) == (li, "Li's phone")
    assert await ctx.authenticate(done.token) == Principal(Kind.MEMBER, li, done.device_id)
    [event] = await logged(ctx, since)
    assert (event.type, event.actor) == ("device_enrolled", f"device:{done.device_id}")
    assert event.data["member_id"] == li and event.data["device_id"] == done.device_id
    assert done.token not in str(event.data)

    before = await head(ctx)
    with pytest.raises(CodeRefused) as refused:
        await devices.enrol(ctx, made.code, "a second phone")
    assert refused.value.refusal is Refusal.USED
    assert await head(ctx) == before, "nothing logged"
    assert await ctx.read(_count, DEVICE) == 1, "no second device"
    assert await devices.devices(ctx, li) == [
        {
            "device_id": done.device_id,
            "member_id": li,
            "name": "Li's phone",
            "enrolled_at": (await devices.devices(ctx, li))[0]["enrolled_at"],
            "revoked_at": None,
        }
    ]


async def test_an_expired_or_unknown_code_changes_nothing(ctx: Context, hands: Hands) -> None:
    li = await _member(ctx)
    made = await devices.create_enrolment(ctx, li, BASE, ADMIN_ACTOR)
    hands.now += ctx.settings.enrolment_ttl_s - 0.001
    still = await devices.create_enrolment(ctx, li, BASE, ADMIN_ACTOR)
    hands.now += 0.001  # the first is due now
    before = await head(ctx)
    for code, why in ((made.code, Refusal.EXPIRED), ("no-such-code", Refusal.UNKNOWN)):
        with pytest.raises(CodeRefused) as refused:
            await devices.enrol(ctx, code, "phone")
        assert refused.value.refusal is why
    assert await head(ctx) == before
    assert await ctx.read(_count, DEVICE) == 0
    assert (await devices.enrol(ctx, still.code, "phone")).member_id == li, "the later one works"


async def test_many_exchanges_of_one_code_at_once_make_exactly_one_device(ctx: Context) -> None:
    li = await _member(ctx)
    made = await devices.create_enrolment(ctx, li, BASE, ADMIN_ACTOR)
    results = await asyncio.gather(
        *(devices.enrol(ctx, made.code, f"phone {n}") for n in range(20)),
        return_exceptions=True,
    )
    won = [r for r in results if isinstance(r, devices.Enrolled)]
    lost = [r for r in results if isinstance(r, CodeRefused)]
    assert len(won) == 1 and len(lost) == 19, results
    assert all(r.refusal is Refusal.USED for r in lost)
    assert await ctx.read(_count, DEVICE) == 1
    assert len([e for e in await logged(ctx) if e.type == "device_enrolled"]) == 1


async def test_a_code_is_never_a_token(ctx: Context) -> None:
    li = await _member(ctx)
    made = await devices.create_enrolment(ctx, li, BASE, ADMIN_ACTOR)
    assert await ctx.authenticate(made.code) is None
    await devices.enrol(ctx, made.code, "phone")
    assert await ctx.authenticate(made.code) is None, "not after use either"


async def test_revoking_refuses_the_token_and_closes_its_sockets(ctx: Context) -> None:
    li, wu = await _member(ctx, "Li"), await _member(ctx, "Wu")
    phone = await devices.enrol(
        ctx, (await devices.create_enrolment(ctx, li, BASE, ADMIN_ACTOR)).code, "phone"
    )
    tablet = await devices.enrol(
        ctx, (await devices.create_enrolment(ctx, li, BASE, ADMIN_ACTOR)).code, "tablet"
    )
    stale, current, by_member_token, wus = Link(), Link(), Link(), Link()
    ctx.hub.attach(li, stale, phone.device_id)  # replaced by `current`, still open
    ctx.hub.attach(li, current, phone.device_id)
    ctx.hub.attach(wu, wus)
    since = await head(ctx)
    view = await devices.revoke(ctx, li, phone.device_id, ADMIN_ACTOR)
    assert view["device_id"] == phone.device_id and view["revoked_at"] is not None
    assert await ctx.authenticate(phone.token) is None
    assert await ctx.authenticate(tablet.token) == Principal(Kind.MEMBER, li, tablet.device_id)
    assert stale.closed is not None and current.closed is not None
    assert stale.closed[0] == current.closed[0] == CloseCode.UNAUTHORIZED == 4401
    assert by_member_token.closed is None and wus.closed is None
    [event] = await logged(ctx, since)
    assert (event.type, event.actor) == ("device_revoked", ADMIN_ACTOR)
    assert event.data == {"member_id": li, "device_id": phone.device_id}
    revoked = await ctx.read(
        lambda c: c.execute(select(TOKEN.c.revoked_at).where(TOKEN.c.device_id == phone.device_id))
    )
    assert all(r.revoked_at is not None for r in revoked)

    # Again: nothing new. Another member's device, or none: 404.
    assert (await devices.revoke(ctx, li, phone.device_id, ADMIN_ACTOR)) == view
    assert await head(ctx) == since + 1
    for member_id, device_id in ((wu, tablet.device_id), (li, 999)):
        with pytest.raises(NotFound):
            await devices.revoke(ctx, member_id, device_id, ADMIN_ACTOR)
    with pytest.raises(NotFound):
        await devices.devices(ctx, 999)
    listed = await devices.devices(ctx, li)
    assert [(d["name"], d["revoked_at"] is not None) for d in listed] == [
        ("phone", True),
        ("tablet", False),
    ]

    # A hello whose token was checked just before the revocation committed is closed too.
    late = Link()
    ctx.hub.attach(li, late, phone.device_id)
    assert late.closed is not None and late.closed[0] == 4401
    ctx.hub.detach(li, late)
    ctx.hub.detach(li, current)
    ctx.hub.detach(li, stale)
    assert not ctx.hub.has(li)


@pytest.fixture
async def other(database_url: str) -> AsyncIterator[Context]:
    """A second instance on the same database."""
    async with assembled(settings_for(database_url), ADMIN, Hands()) as built:
        yield built


@pytest.mark.only_on("postgresql", "several instances share one PostgreSQL log")
async def test_a_revocation_closes_the_devices_sockets_on_another_instance(
    ctx: Context, other: Context
) -> None:
    """The other instance folds `device_revoked` as it reads the log (on the log's notice,
    or its once-a-second look), and closes the device's sockets there."""
    li = await _member(ctx)
    phone = await devices.enrol(
        ctx, (await devices.create_enrolment(ctx, li, BASE, ADMIN_ACTOR)).code, "phone"
    )
    there = Link()
    other.hub.attach(li, there, phone.device_id)
    await devices.revoke(ctx, li, phone.device_id, ADMIN_ACTOR)
    assert await other.authenticate(phone.token) is None, "refused there at once"
    # A batch of the other's own reads what this one wrote first (store/log.py), then folds it.
    await other.writer.run(lambda tx: None)
    assert there.closed is not None and there.closed[0] == 4401
