"""The cluster as this instance sees it: its link to the others (bus/link.py: Redis, or
the in-memory twin), the peers heard from, and how their first-hand picture of the
handhelds merges into ours (a plain function, tested without Redis)."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dispatch_server.bus.link import Link
from dispatch_server.domain.roster import Fix, Roster

# A peer not heard from for this long has gone: its consoles no longer count.
PEER_TIMEOUT_S = 3.0


@dataclass
class Peer:
    consoles: int
    seen: float
    members: set[int] = field(default_factory=set)


class Cluster:
    def __init__(self, link: Link) -> None:
        self.instance = secrets.token_hex(4)
        self.link = link
        self.peers: dict[str, Peer] = {}
        self.reloads: asyncio.Queue[str] = asyncio.Queue(100)

    def consoles_elsewhere(self, now: float) -> int:
        return sum(p.consoles for p in self.peers.values() if now - p.seen < PEER_TIMEOUT_S)


def merge_presence(
    cluster: Cluster,
    roster: Roster,
    here: Callable[[int], bool],
    now: float,
    message: dict[str, Any],
) -> None:
    """Another instance's first-hand picture into ours: newer than ours wins, member by
    member; a member connected `here` is ours to report, not theirs."""
    sender = message["from"]
    if sender == cluster.instance:
        return
    peer = cluster.peers.setdefault(sender, Peer(0, 0.0))
    peer.consoles = int(message["consoles"])
    peer.seen = now
    there: set[int] = set()
    for entry in message["members"]:
        member_id = int(entry[0])
        if member_id not in roster or here(member_id):
            continue  # unknown yet (a reload will bring it), or connected here
        there.add(member_id)
        i = roster.row[member_id]
        roster.connected[i] = True
        roster.last_seen[i] = max(float(roster.last_seen[i]), float(entry[1]))
        if len(entry) > 2 and not float(entry[5]) <= float(roster.fix_at[i]):
            roster.set_fix(
                member_id, Fix(float(entry[2]), float(entry[3]), entry[4], float(entry[5]))
            )
    for member_id in peer.members - there:
        if member_id in roster and not here(member_id):
            roster.connected[roster.row[member_id]] = False  # gone from there; last_seen stays
    peer.members = there
