"""Who could go now: responders ranked from live state, for an incident already open.

The incident's `responders` are the record of what the console saw at the alarm;
`suggested` is the same ranking done again now, as members move, come on shift,
go offline or become busy (issue 12: a list frozen at the alarm once said "nobody
to dispatch" for good while two members came on shift a few hundred metres away).
"""

from __future__ import annotations

from typing import Any

from dispatch_server.domain.incidents import Incident
from dispatch_server.domain.responders import Point, rank
from dispatch_server.protocol.frames import Category
from dispatch_server.services.context import Context


def suggest(ctx: Context, inc: Incident) -> list[dict[str, Any]]:
    x, y = ctx.grids.projection.to_xy(inc.lon, inc.lat)
    ranked = rank(
        ctx.roster,
        Point(x, y, inc.point_source),
        inc.reporter_id,
        Category(inc.category),
        ctx.clock(),
        ctx.policy,
    )
    return [r.to_wire() for r in ranked]
