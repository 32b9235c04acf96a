"""Names learn named administrators (decision 44); a partner still learns only partners."""

from __future__ import annotations

from dispatch_server.services import administrators, names, people
from dispatch_server.services.context import Context


async def test_an_administrators_name_and_what_a_partner_may_not_learn(ctx: Context) -> None:
    admin_id, _ = await administrators.create(ctx, "陈主任", "admin:0")
    member_id, _ = await people.create_member(ctx, "Li", "G03", [])
    who = await ctx.read(names.load)
    assert who.of(f"admin:{admin_id}") == "陈主任"
    assert who.of("admin:0") is None, "the bootstrap token has no name"
    assert who.table(["admin:0", f"admin:{admin_id}", f"member:{member_id}"]) == {
        f"admin:{admin_id}": "陈主任",
        f"member:{member_id}": "Li",
    }
    partner_view = who.partners_only()
    assert partner_view.of(f"admin:{admin_id}") is None
    assert partner_view.of(f"member:{member_id}") is None
