"""The duty room watch: writes `duty_room_empty` and `duty_room_staffed` as the cluster's
count of open consoles crosses zero (domain/duty_room.py; decision 51)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Connection, select

from dispatch_server.domain import duty_room as domain
from dispatch_server.domain.events import EventType, NewEvent
from dispatch_server.services.cluster import consoles_open
from dispatch_server.services.context import Context
from dispatch_server.store.log import Tx
from dispatch_server.store.tables import EVENT

NAME = "duty_room"
ACTOR = "system:duty-room"


def last_said(conn: Connection) -> EventType | None:
    """The newest duty-room event in the log: what the room was last said to be."""
    kind = conn.execute(
        select(EVENT.c.type)
        .where(EVENT.c.type.in_([domain.EMPTY.value, domain.STAFFED.value]))
        .order_by(EVENT.c.seq.desc())
        .limit(1)
    ).scalar_one_or_none()
    return None if kind is None else EventType(kind)


def _cross(tx: Tx, kind: EventType, consoles: int) -> None:
    """Once per crossing, even if two leaders overlap for a moment: the log decides."""
    if last_said(tx.conn) is not kind:
        tx.append(NewEvent(kind, ACTOR, None, {"consoles_open": consoles}))


@dataclass
class RoomWatch:
    """A clock source. The count of consoles changes without a deadline (a console closes, an
    instance's presence lapses), so each look first notes the count; the scheduler looks at
    least once a second and when a console opens or closes here."""

    ctx: Context
    watch: domain.Watch = field(default_factory=domain.Watch)
    loaded: bool = False

    def next_check(self) -> float | None:
        if not self.loaded:
            return 0.0
        domain.observe(self.watch, consoles_open(self.ctx), self.ctx.clock())
        return domain.due(self.watch, self.ctx.settings.duty_room_grace_s)

    async def apply_due(self, now: float) -> None:
        if not self.loaded:
            said = await self.ctx.read(last_said)
            self.watch.logged_empty = None if said is None else said is domain.EMPTY
            self.loaded = True
        consoles = consoles_open(self.ctx)
        domain.observe(self.watch, consoles, now)
        kind = domain.crossing(self.watch, now, self.ctx.settings.duty_room_grace_s)
        if kind is None:
            return
        await self.ctx.writer.run(lambda tx: _cross(tx, kind, consoles))
        self.watch.logged_empty = kind is domain.EMPTY
