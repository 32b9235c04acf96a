"""Bearer tokens: issued once, stored only as a hash, looked up by kind and subject, and
refused once revoked."""

from __future__ import annotations

from sqlalchemy import Connection, select, update

from dispatch_server.services.auth import Kind, Principal, hash_token, is_admin, issue, lookup
from dispatch_server.services.context import Context
from dispatch_server.store.tables import TOKEN


async def _issue(ctx: Context, kind: Kind, subject_id: int) -> str:
    return await ctx.writer.run(lambda tx: issue(tx.conn, kind, subject_id, tx.now))


async def test_an_issued_token_finds_its_kind_and_subject(ctx: Context) -> None:
    member = await _issue(ctx, Kind.MEMBER, 7)
    partner = await _issue(ctx, Kind.PARTNER, 7)
    assert await ctx.read(lookup, member) == Principal(Kind.MEMBER, 7)
    assert await ctx.read(lookup, partner) == Principal(Kind.PARTNER, 7)
    assert member != partner
    assert await ctx.read(lookup, member + "x") is None
    assert await ctx.read(lookup, "") is None


async def test_only_the_hash_is_stored(ctx: Context) -> None:
    token = await _issue(ctx, Kind.DISPATCHER, 3)

    def stored(conn: Connection) -> list[str]:
        return list(conn.execute(select(TOKEN.c.token_hash)).scalars())

    assert await ctx.read(stored) == [hash_token(token)]
    assert token not in hash_token(token)


async def test_a_revoked_token_is_refused(ctx: Context) -> None:
    token = await _issue(ctx, Kind.MEMBER, 1)
    kept = await _issue(ctx, Kind.MEMBER, 1)
    await ctx.writer.run(
        lambda tx: tx.conn.execute(
            update(TOKEN).where(TOKEN.c.token_hash == hash_token(token)).values(revoked_at=tx.now)
        )
    )
    assert await ctx.read(lookup, token) is None
    assert await ctx.read(lookup, kept) == Principal(Kind.MEMBER, 1), "only that one token"


def test_admin_token_compare_and_actor_names() -> None:
    assert is_admin("s3cret", "s3cret")
    assert not is_admin("s3cre", "s3cret") and not is_admin("s3cret ", "s3cret")
    assert Principal(Kind.DISPATCHER, 2).actor == "dispatcher:2"
    assert Principal(Kind.ADMIN, 0).actor == "admin:0"
