"""The team watch and coverage gaps over real sockets, with grace times of a second or two.

A team of three in G05: one walks 400 m away and stays; the console sees `team_drift` once,
the handheld gets the check prompt; no answer opens an incident (source `team_watch`);
walking back clears it (`team_rejoined`). A drift shorter than the grace time says nothing.
A grid planned for three with one on shift is a coverage gap once; a second on shift
restores it.
"""

from __future__ import annotations

import asyncio
import math
from datetime import UTC, datetime
from typing import Any

from tests.support.clients import Console, Handheld
from tests.support.geodesy import sample_shapes
from tests.support.servers import ADMIN, Running, in_process, settings_for

G05 = sample_shapes()["G05"].representative_point()
M_PER_DEG_LAT = 111_320.0
GRACE_S = 2.0


def north(metres: float) -> dict[str, float]:
    """A position `metres` north of G05's representative point."""
    return {"lon": G05.x, "lat": G05.y + metres / M_PER_DEG_LAT}


async def walk(h: Handheld, metres: float) -> None:
    await h.send({"type": "position", **north(metres), "accuracy_m": 5.0})


async def team_of_three(server: Running) -> list[Handheld]:
    team = []
    for k, name in enumerate(("甲", "乙", "丙")):
        h = await server.handheld((await server.api.member(name, "G05"))["token"]).connect()
        await h.start_shift()
        await walk(h, 5.0 * k)
        team.append(h)
    return team


async def quiet(console: Console, seconds: float) -> list[dict[str, Any]]:
    """Every event the console gets in the next `seconds`."""
    got: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while (left := end - loop.time()) > 0:
        try:
            got.append(await console.event(left))
        except TimeoutError:
            break
    return got


def of(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] == kind]


async def test_a_member_who_drifts_is_asked_then_an_incident_opens_then_rejoins(
    database_url: str,
) -> None:
    settings = settings_for(
        database_url,
        team_drift_grace_s=GRACE_S,
        check_in_overdue_after_s=1.5,
        fresh_fix_s=600.0,
    )
    async with in_process(settings) as server:
        a, b, c = await team_of_three(server)
        console = await server.console(ADMIN).connect()
        c_id = c.welcome["member_id"]

        # A drift shorter than the grace time (but longer than the clocks' 1 s beat, so the
        # watch sees it): nothing.
        await walk(c, 400.0)
        await asyncio.sleep(1.3)
        await walk(c, 15.0)
        events = await quiet(console, GRACE_S + 0.5)
        assert of(events, "team_drift") == [] and not any(
            f["type"] == "team_check" for f in c.inbox
        )

        # Away and staying: one warning, the prompt, then overdue and an incident.
        await walk(c, 400.0)
        prompt = await c.expect("team_check", timeout=5)
        assert prompt["reason"] == "drift" and prompt["state"] == "warning"
        overdue = await c.expect("team_check", timeout=5)
        assert overdue["state"] == "overdue"
        events += await quiet(console, 1.5)
        [drift] = of(events, "team_drift")
        assert drift["member_id"] == c_id and drift["grid_id"] == "G05"
        assert math.isclose(drift["distance_m"], 390.0, abs_tol=5.0)
        [late] = of(events, "team_check_overdue")
        assert late["member_id"] == c_id and late["reason"] == "drift"
        [opened] = of(events, "incident_opened")
        assert opened["incident_id"] == late["incident_id"]
        assert opened["source"] == "team_watch" and opened["reporter_id"] == c_id
        watch = await server.api.get("/api/watch")
        assert [(t["member_id"], t["reason"], t["overdue"]) for t in watch["team"]] == [
            (c_id, "drift", True)
        ]

        # Walking back (inside 0.8 x 300 m) clears it, once.
        await walk(c, 200.0)
        clear = await c.expect("team_check", timeout=5)
        assert clear["state"] == "clear"
        events += await quiet(console, 1.5)
        [back] = of(events, "team_rejoined")
        assert back["member_id"] == c_id and back["reason"] == "drift"
        assert len(of(events, "team_drift")) == 1 and len(of(events, "incident_opened")) == 1
        assert (await server.api.get("/api/watch"))["team"] == []
        for h in (a, b):
            assert not any(f["type"] == "team_check" for f in h.inbox)


async def test_an_answer_stops_the_incident(database_url: str) -> None:
    settings = settings_for(
        database_url, team_drift_grace_s=0.5, check_in_overdue_after_s=1.5, fresh_fix_s=600.0
    )
    async with in_process(settings) as server:
        _, _, c = await team_of_three(server)
        console = await server.console(ADMIN).connect()
        await walk(c, 500.0)
        await c.expect("team_check", timeout=5, state="warning")
        await c.send({"type": "check_in"})  # "I am OK"
        await c.expect("check_in_recorded")
        events = await quiet(console, 2.5)
        assert len(of(events, "team_drift")) == 1
        assert of(events, "team_check_overdue") == [] and of(events, "incident_opened") == []
        [flag] = (await server.api.get("/api/watch"))["team"]
        assert flag["answered"] is True and flag["overdue"] is False


def _windows_now() -> dict[str, str]:
    """A morning window holding now (UTC, at least an hour either side), evening after it."""
    h = datetime.now(UTC).hour
    return {
        "timezone": "UTC",
        "shift_morning": f"{(h - 1) % 24:02d}:00-{(h + 2) % 24:02d}:00",
        "shift_evening": f"{(h + 2) % 24:02d}:00-{(h + 4) % 24:02d}:00",
    }


async def test_a_planned_grid_short_of_members_is_one_gap_until_staffed(
    database_url: str,
) -> None:
    settings = settings_for(database_url, coverage_grace_s=1.0, **_windows_now())
    async with in_process(settings) as server:
        members = [(await server.api.member(f"m{k}", "G07")) for k in range(3)]
        async with server.api.client(ADMIN) as api:
            ids = [m["member_id"] for m in members]
            r = await api.put("/api/roster/G07/morning", json={"member_ids": ids})
            assert r.status_code == 200
        console = await server.console(ADMIN).connect()
        first = await server.handheld(members[0]["token"]).connect()
        await first.start_shift()
        events = await quiet(console, 3.0)
        [gap] = of(events, "coverage_gap")
        assert {k: gap[k] for k in ("grid_id", "shift", "on_shift", "minimum")} == {
            "grid_id": "G07",
            "shift": "morning",
            "on_shift": 1,
            "minimum": 2,
        }
        watch = await server.api.get("/api/watch")
        assert watch["shift"] == "morning"
        assert [(g["grid_id"], g["on_shift"]) for g in watch["coverage_gaps"]] == [("G07", 1)]

        second = await server.handheld(members[1]["token"]).connect()
        await second.start_shift()
        events += await quiet(console, 1.5)
        assert len(of(events, "coverage_gap")) == 1
        [restored] = of(events, "coverage_restored")
        assert restored["grid_id"] == "G07" and restored["why"] == "staffed"
        assert restored["on_shift"] == 2
        assert (await server.api.get("/api/watch"))["coverage_gaps"] == []


async def _health(server: Running) -> tuple[int, dict[str, Any]]:
    async with server.api.client() as c:
        r = await c.get("/api/health")
        return r.status_code, r.json()


async def test_a_failing_watch_shows_in_health_and_recovers(database_url: str) -> None:
    async with in_process(settings_for(database_url)) as server:
        ctx = server.ctx
        for name in ("team_watch", "coverage"):
            source = ctx.scheduler.source(name)
            healthy = source.apply_due

            async def broken(now: float, name: str = name) -> None:
                raise RuntimeError(f"injected fault in {name}")

            source.apply_due = broken
            ctx.scheduler.wake()
            async with asyncio.timeout(5):
                while (got := await _health(server))[0] != 503:
                    await asyncio.sleep(0.05)
            assert got[1]["failing"] == [name]
            assert f"injected fault in {name}" in got[1]["duties"][name]["last_error"]
            source.apply_due = healthy
            async with asyncio.timeout(10):
                while (await _health(server))[0] != 200:
                    await asyncio.sleep(0.1)
