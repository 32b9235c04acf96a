"""Supervision over real sockets: one event each way, none for a short drop."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
from typing import Any

from tests.support.clients import Console, Handheld
from tests.support.servers import Running, in_process, settings_for

GRACE = 1.0


async def _on_shift(server: Running, name: str) -> Handheld:
    m = await server.api.member(name, "G03")
    h = await server.handheld(m["token"]).connect()
    await h.start_shift()
    return h


async def _collect(console: Console, seconds: float) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            while True:
                got.append(await console.event(timeout=seconds))
    return got


async def _beat(h: Handheld, seconds: float) -> None:
    for _ in range(int(seconds / 0.25)):
        await h.send({"type": "heartbeat"})
        await asyncio.sleep(0.25)


async def test_offline_and_back_once_each_and_no_event_for_a_short_drop(
    tmp_path: Path, database_url: str
) -> None:
    async with in_process(settings_for(database_url, offline_after_s=GRACE)) as server:
        d = await server.api.dispatcher()
        console = await server.console(d["token"]).connect()
        cut = await _on_shift(server, "cut")  # its connection is cut
        flicker = await _on_shift(server, "flicker")  # drops for a moment
        mute = await _on_shift(server, "mute")  # connected, but sends nothing
        steady = await _on_shift(server, "steady")  # beats all along
        ids = {
            h.welcome["member_id"]: name
            for h, name in ((cut, "cut"), (flicker, "flicker"), (mute, "mute"), (steady, "steady"))
        }

        await cut.close()
        await flicker.close()
        flicker = await server.handheld(flicker.token).connect()  # back within the grace time
        beating = [asyncio.create_task(_beat(h, 3 * GRACE)) for h in (flicker, steady)]
        first = await _collect(console, 3 * GRACE)
        await asyncio.gather(*beating)

        back = await server.handheld(cut.token).connect()
        await mute.send({"type": "heartbeat"})
        beating = [asyncio.create_task(_beat(h, 2 * GRACE)) for h in (back, mute, flicker, steady)]
        second = await _collect(console, 2 * GRACE)
        await asyncio.gather(*beating)
        members = {m["member_id"]: m for m in await server.api.get("/api/members")}

    def crossings(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
        return sorted(
            (ids[e["member_id"]], e["type"]) for e in events if e["type"].startswith("member_o")
        )

    assert crossings(first) == [("cut", "member_offline"), ("mute", "member_offline")]
    assert crossings(second) == [("cut", "member_online"), ("mute", "member_online")]
    assert all(
        e["actor"] == "system:supervision"
        for e in first + second
        if e["type"].startswith("member_o")
    )
    assert not any(m["offline"] for m in members.values())
    assert json.dumps(members)  # silent_s is always JSON (never infinity)


async def test_a_socket_closing_is_not_a_frame_heard(tmp_path: Path, database_url: str) -> None:
    """Found by the duty-day soak (seed 20261130, SQLite): a member marked offline while
    their handheld hung connected and mute was marked back online (silent_s 0.0) the moment
    that socket closed (there, by a graceful server restart), although nothing was heard:
    a false "back online" for a silent patrol, and offline again a grace later."""
    async with in_process(settings_for(database_url, offline_after_s=GRACE)) as server:
        d = await server.api.dispatcher()
        console = await server.console(d["token"]).connect()
        mute = await _on_shift(server, "mute")  # connected, but sends nothing
        mute_id = mute.welcome["member_id"]
        first = await _collect(console, 2.5 * GRACE)
        await mute.close()  # the socket closes; still nothing heard from the member
        second = await _collect(console, 3 * GRACE)
        members = {m["member_id"]: m for m in await server.api.get("/api/members")}

    def crossings(events: list[dict[str, Any]]) -> list[tuple[int, str]]:
        return [(e["member_id"], e["type"]) for e in events if e["type"].startswith("member_o")]

    assert crossings(first) == [(mute_id, "member_offline")]
    assert crossings(second) == [], "a closing socket brought a silent member back online"
    assert members[mute_id]["offline"] is True
