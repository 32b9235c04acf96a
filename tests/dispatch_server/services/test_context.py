"""The context's own helpers: reads off the event loop, who a token belongs to, and a
member added to live state with their home and lone-worker rule."""

from __future__ import annotations

import math
import threading

from sqlalchemy import Connection, select

from dispatch_server.domain.check_ins import Rule
from dispatch_server.domain.skills import Skill, mask
from dispatch_server.services import people
from dispatch_server.services.auth import Kind, Principal
from dispatch_server.services.context import Context
from dispatch_server.store.tables import GRID
from tests.support.servers import ADMIN


async def test_read_runs_off_the_event_loop_with_its_arguments(ctx: Context) -> None:
    loop_thread = threading.get_ident()

    def grid_names(conn: Connection, prefix: str) -> tuple[int, list[str]]:
        rows = conn.execute(select(GRID.c.id).where(GRID.c.id.like(prefix + "%")))
        return threading.get_ident(), sorted(rows.scalars())

    thread, ids = await ctx.read(grid_names, "G0")
    assert thread != loop_thread, "a blocking read must not hold the event loop"
    assert ids == sorted(g for g in ctx.grids.grids if g.startswith("G0")) and ids


async def test_authenticate_knows_the_admin_and_issued_tokens(ctx: Context) -> None:
    assert await ctx.authenticate(ADMIN) == Principal(Kind.ADMIN, 0)
    dispatcher_id, token = await people.create_dispatcher(ctx, "Zhou")
    assert await ctx.authenticate(token) == Principal(Kind.DISPATCHER, dispatcher_id)
    assert await ctx.authenticate(ADMIN[:-1]) is None
    assert await ctx.authenticate("nobody's token") is None


async def test_add_member_puts_them_at_home_with_their_grid_rule(ctx: Context) -> None:
    grid_rule, own_rule = Rule(600.0, 120.0), Rule(300.0, 60.0)
    ctx.check_in_rules = ({8: own_rule}, {"G03": grid_rule})
    ctx.add_member(7, "Li", "G03", ["first_aid"])
    ctx.add_member(8, "Wang", "G03", [])
    ctx.add_member(9, "Chen", "G01", [])
    roster = ctx.roster
    i = roster.row[7]
    assert roster.name(7) == "Li" and roster.grids[i] == "G03"
    assert (roster.home_x[i], roster.home_y[i]) == ctx.grids.representative_xy("G03")
    assert roster.skills[i] == mask([Skill("first_aid")])
    assert roster.check_in_period[i] == 600.0, "the grid's rule"
    assert roster.check_in_period[roster.row[8]] == 300.0, "a member's own rule wins"
    assert math.isnan(roster.check_in_period[roster.row[9]]), "no rule in G01"
    assert not roster.on_shift[i] and not roster.connected[i]
