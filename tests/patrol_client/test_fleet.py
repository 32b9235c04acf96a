"""The simulated fleet and `serve --demo`: what a newcomer sees must really be alive."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import httpx

from patrol_client.fleet import FleetOptions, register_members, run_fleet
from tests.support.servers import ADMIN, Running, ServerProcess


async def test_fleet_walks_answers_and_alarms(server: Running, tmp_path: Path) -> None:
    tokens = await asyncio.to_thread(register_members, server.base, ADMIN, 6)
    options = FleetOptions(alarm_every_s=0.5, accept_rate=1.0, position_every_s=0.2, seed=3)
    fleet = asyncio.create_task(run_fleet(server.base, tokens, tmp_path, options))
    try:
        async with asyncio.timeout(20):
            while True:
                members = await server.api.get("/api/members")
                listing = await server.api.get("/api/incidents")
                if (
                    all(m["on_shift"] and m["fix"] for m in members)
                    and len(listing["incidents"]) >= 3
                ):
                    break
                await asyncio.sleep(0.1)
        for m in members:  # each walks inside its own grid
            lonlat = (m["fix"]["lon"], m["fix"]["lat"])
            assert m["grid_id"] == await _grid_at(server, *lonlat)
        # A dispatched simulated patrol accepts (accept_rate 1.0).
        incident = listing["incidents"][0]
        helper = next(
            m for m in members if m["member_id"] != incident["reporter_id"] and not m["busy"]
        )
        async with server.api.client(ADMIN) as api:
            await api.post(
                f"/api/incidents/{incident['incident_id']}/dispatch",
                json={"member_ids": [helper["member_id"]]},
            )
        async with asyncio.timeout(10):
            while (await server.api.get(f"/api/incidents/{incident['incident_id']}"))[
                "status"
            ] != "responding":
                await asyncio.sleep(0.05)
    finally:
        fleet.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await fleet


async def _grid_at(server: Running, lon: float, lat: float) -> str:
    from shapely.geometry import Point, shape

    grids = await server.api.get("/api/grids")
    return next(
        f["id"]
        for f in grids["features"]
        if shape(f["geometry"]).buffer(1e-7).contains(Point(lon, lat))
    )


async def test_serve_demo_brings_up_a_living_fleet(tmp_path: Path, database_url: str) -> None:
    proc = ServerProcess(database_url, tmp_path / "server.log", args=["--demo", "5"])
    running = proc.start()
    try:
        async with asyncio.timeout(20):
            while (await asyncio.to_thread(httpx.get, f"{running.base}/api/health")).json()[
                "handhelds_connected"
            ] < 5:
                await asyncio.sleep(0.1)
        members = await running.api.get("/api/members")
        assert len(members) == 5 and all(m["on_shift"] and m["connected"] for m in members)
        assert "Demo: 5 simulated patrols" in (tmp_path / "server.log").read_text()
    finally:
        proc.stop()


async def test_one_refused_member_does_not_stop_the_fleet(server: Running, tmp_path: Path) -> None:
    tokens = await asyncio.to_thread(register_members, server.base, ADMIN, 2)
    options = FleetOptions(alarm_every_s=0.3, position_every_s=0.2, seed=5)
    fleet = asyncio.create_task(
        run_fleet(server.base, ["revoked-token", *tokens], tmp_path, options)
    )
    try:
        async with asyncio.timeout(20):
            # The refused one is refused at once; the others go on alarming after that.
            while len((await server.api.get("/api/incidents"))["incidents"]) < 4:
                assert not fleet.done(), f"the fleet ended: {fleet.exception()!r}"
                await asyncio.sleep(0.1)
        members = await server.api.get("/api/members")
        assert all(m["on_shift"] and m["connected"] for m in members)
        assert not fleet.done()
    finally:
        fleet.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await fleet
