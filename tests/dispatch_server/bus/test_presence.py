"""Presence from other instances, merged into this one's roster: plain data, no Redis."""

from __future__ import annotations

from typing import Any

from dispatch_server.bus.link import MemoryLink
from dispatch_server.bus.presence import PEER_TIMEOUT_S, Cluster, merge_presence
from dispatch_server.domain.roster import Roster


def roster_of(*member_ids: int) -> Roster:
    roster = Roster(8)
    for m in member_ids:
        roster.add(m, f"m{m}", "G01", 0, (0.0, 0.0))
    return roster


def message(sender: str, consoles: int, *members: list[Any]) -> dict[str, Any]:
    return {"from": sender, "consoles": consoles, "members": list(members)}


def test_newer_wins_member_by_member_and_ours_stay_ours() -> None:
    cluster = Cluster(MemoryLink())
    roster = roster_of(1, 2, 3)
    here = {3}.__contains__  # member 3 is connected to this instance
    roster.link_up(3, 50.0)
    merge_presence(
        cluster,
        roster,
        here,
        100.0,
        message(
            "peer", 1, [1, 90.0, 10.0, 20.0, 5.0, 89.0], [2, 95.0], [3, 99.0, 1.0, 1.0, 1.0, 99.0]
        ),
    )
    fix = roster.fix(1)
    assert fix is not None and (fix.x, fix.y, fix.at) == (10.0, 20.0, 89.0)
    assert roster.connected[roster.row[1]] and roster.last_seen[roster.row[1]] == 90.0
    assert roster.fix(2) is None and roster.last_seen[roster.row[2]] == 95.0
    assert roster.fix(3) is None and roster.last_seen[roster.row[3]] == 50.0  # ours, untouched

    # An older report does not overwrite a newer fix; a member gone from the peer's list is
    # no longer connected there, but when it was last heard stays.
    merge_presence(
        cluster, roster, here, 101.0, message("peer", 1, [1, 80.0, 0.0, 0.0, None, 70.0])
    )
    fix = roster.fix(1)
    assert fix is not None and fix.at == 89.0 and roster.last_seen[roster.row[1]] == 90.0
    assert not roster.connected[roster.row[2]] and roster.last_seen[roster.row[2]] == 95.0


def test_consoles_count_while_the_peer_is_heard_from() -> None:
    cluster = Cluster(MemoryLink())
    roster = roster_of()
    merge_presence(cluster, roster, lambda _: False, 100.0, message("a", 2))
    merge_presence(cluster, roster, lambda _: False, 100.5, message("b", 1))
    merge_presence(cluster, roster, lambda _: False, 100.5, message(cluster.instance, 7))
    assert cluster.consoles_elsewhere(101.0) == 3  # our own echo is not a peer
    assert cluster.consoles_elsewhere(100.0 + PEER_TIMEOUT_S + 0.1) == 1  # "a" went quiet
    assert cluster.consoles_elsewhere(200.0) == 0
