"""Suggested responders, ranked now from live state: members who come on shift after the
alarm are suggested; a member with an open alarm of their own never is."""

from __future__ import annotations

from dispatch_server.domain.roster import Fix
from dispatch_server.services import people
from dispatch_server.services.context import Context
from dispatch_server.services.intake import raise_alarm
from dispatch_server.services.suggestions import suggest
from tests.dispatch_server.services.conftest import Hands, alert

G03 = (113.041186, 28.1332667)


async def _member(ctx: Context, hands: Hands, name: str, east_m: float, on: bool) -> int:
    member_id, _ = await people.create_member(ctx, name, "G03", [])
    ctx.roster.link_up(member_id, hands.now)
    x, y = ctx.grids.projection.to_xy(*G03)
    ctx.roster.set_fix(member_id, Fix(x + east_m, y, 5.0, hands.now))
    if on:
        await people.set_shift(ctx, member_id, True)
    return member_id


async def test_suggestions_follow_live_state_and_skip_those_in_need(
    ctx: Context, hands: Hands
) -> None:
    reporter = await _member(ctx, hands, "Li", 0, on=False)
    lon, lat = G03
    accepted = await raise_alarm(ctx, reporter, alert("medical", lon=lon, lat=lat))
    inc = ctx.active[accepted.incident_id]
    assert inc.responders == () and suggest(ctx, inc) == [], "nobody on shift at the alarm"

    near = await _member(ctx, hands, "Wang", 120, on=True)
    far = await _member(ctx, hands, "Zhao", 400, on=True)
    in_need = await _member(ctx, hands, "Sun", 50, on=True)
    await raise_alarm(ctx, in_need, alert("other"))
    now = suggest(ctx, ctx.active[accepted.incident_id])
    assert [s["member_id"] for s in now] == [near, far], "ranked now; not the one in need"
    assert now[0]["distance_m"] == 120.0
    assert ctx.active[accepted.incident_id].responders == (), "the record stays as it was"
