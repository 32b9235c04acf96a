"""Which map a start serves (decision 45): the newest applied grid set, else the grid file;
a broken set refuses the start, naming it."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

import pytest
from sqlalchemy import insert

from dispatch_server.domain.grid_sets import canonical_sha256
from dispatch_server.geo.grids import GridLoadError
from dispatch_server.services.grid_sets import choose_grids
from dispatch_server.settings import SAMPLE_GRIDS
from dispatch_server.store.tables import GRID_SET
from tests.dispatch_server.conftest import Engines
from tests.support.servers import settings_for

SAMPLE = json.loads((SAMPLE_GRIDS / "changsha_sample.geojson").read_text(encoding="utf-8"))
APPLIED_AT = 1_790_000_000.0


def store(engines: Engines, document: dict[str, object]) -> int:
    engine = engines(writer=True)
    with engine.begin() as conn:
        row = {
            "geojson": document,
            "sha256": canonical_sha256(document),
            "applied_at": APPLIED_AT,
            "applied_by": "admin:0",
        }
        grid_set_id: int = conn.execute(insert(GRID_SET).returning(GRID_SET.c.id), row).scalar_one()
    return grid_set_id


def test_without_a_grid_set_the_file_is_the_map(database_url: str, engines: Engines) -> None:
    chosen = choose_grids(engines(), settings_for(database_url))
    assert chosen.grid_set_id is None and chosen.source == str(SAMPLE_GRIDS)
    assert len(chosen.grids.grid_ids) == 10


def test_the_newest_grid_set_outranks_the_file_and_the_log_says_so(
    database_url: str, engines: Engines, caplog: pytest.LogCaptureFixture
) -> None:
    store(engines, SAMPLE)
    two = {**SAMPLE, "features": SAMPLE["features"][:3]}
    newest = store(engines, two)
    with caplog.at_level(logging.INFO, logger="dispatch_server.services.grid_sets"):
        chosen = choose_grids(engines(), settings_for(database_url))
    assert chosen.grid_set_id == newest
    assert chosen.grids.grid_ids == ["G01", "G02", "G03"]
    assert chosen.source.startswith(f"grid set {newest} (applied 2026-")
    assert chosen.source.endswith("by admin:0)")
    [line] = [r.getMessage() for r in caplog.records if "is the map" in r.getMessage()]
    assert chosen.source in line and "DISPATCH_GRIDS" in line and "ignored" in line


def test_a_broken_grid_set_refuses_the_start_naming_it(database_url: str, engines: Engines) -> None:
    broken = json.loads(json.dumps(SAMPLE))
    broken["features"][4]["geometry"]["coordinates"][0].pop()
    grid_set_id = store(engines, broken)
    with pytest.raises(GridLoadError) as refused:
        choose_grids(engines(), settings_for(database_url))
    message = str(refused.value)
    assert message.startswith(f"grid set {grid_set_id} (applied ")
    assert "features[4]: invalid ring: exterior ring is not closed" in message


def test_serve_refuses_a_broken_grid_set_in_words(database_url: str, engines: Engines) -> None:
    overlapping = json.loads(json.dumps(SAMPLE))
    overlapping["features"][1]["geometry"] = overlapping["features"][0]["geometry"]
    grid_set_id = store(engines, overlapping)
    env = {**os.environ, "DISPATCH_DATABASE_URL": database_url, "DISPATCH_ADMIN_TOKEN": "x"}
    run = subprocess.run(
        [sys.executable, "-m", "dispatch_server.cli", "serve", "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 2, run.stderr
    assert f"refusing to start: grid set {grid_set_id} (applied " in run.stderr
    assert "overlap by" in run.stderr and "Traceback" not in run.stderr
