"""A grid file applied through one instance is the map on the other too (decision 45): its
`/api/grids`, its consoles (`grids_changed`) and where its alarms land."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.dispatch_server.api.test_grids import INSIDE_G11, new_map
from tests.e2e.test_cluster import api, console
from tests.support.cluster import two_instances
from tests.support.servers import ADMIN

pytestmark = [
    pytest.mark.only_on("postgresql", "several instances share one PostgreSQL"),
    pytest.mark.slow,
]


async def test_a_grid_set_applied_on_a_is_the_map_on_b(database_url: str, tmp_path: Path) -> None:
    async with two_instances(database_url, tmp_path) as (a, b):
        duty = await api(b).dispatcher()
        feed = await console(b, duty["token"]).connect()
        member = await api(b).member("B 的巡逻", "G01")
        hand = await b.running.handheld(member["token"]).connect()
        await hand.start_shift()
        async with httpx.AsyncClient(
            base_url=a.base, headers={"Authorization": f"Bearer {ADMIN}"}, timeout=10
        ) as admin:
            answer = await admin.put("/api/grids", json=new_map())
        assert answer.status_code == 200, answer.text
        grid_set_id = answer.json()["grid_set_id"]
        notice = await feed.events_until(
            lambda got: any(f["type"] == "grids_changed" for f in got), timeout=10
        )
        assert {"type": "grids_changed", "grid_set_id": grid_set_id} in notice
        grids = await api(b).get("/api/grids", duty["token"])
        assert "G11" in [f["id"] for f in grids["features"]]
        opened = await hand.alarm(lon=INSIDE_G11[0], lat=INSIDE_G11[1])
        incident = await api(b).get(f"/api/incidents/{opened['incident_id']}", duty["token"])
        assert incident["grid_id"] == "G11"
