"""Position sources, with the sample grids' awkward shapes."""

from __future__ import annotations

import json
import random
from pathlib import Path

from shapely.geometry import Point, shape

from patrol_client.position import FixedPoint, SimulatedWalk, TrackReplay
from tests.support.geodesy import SAMPLE


def test_walk_stays_inside_every_sample_grid() -> None:
    for feature in json.loads(SAMPLE.read_text())["features"]:
        walk = SimulatedWalk(step_m=25, rng=random.Random(feature["id"]))
        assert walk.fix() is None  # no grid yet
        walk.on_welcome({"grid": {"geometry": feature["geometry"]}})
        polygon = shape(feature["geometry"])
        fixes = [walk.fix() for _ in range(300)]
        assert all(
            f is not None and polygon.buffer(1e-7).contains(Point(f.lon, f.lat)) for f in fixes
        )
        assert len({(f.lon, f.lat) for f in fixes if f}) > 50  # it does walk


def test_track_replay_from_geojson_and_csv(tmp_path: Path) -> None:
    line = {"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[1, 2], [3, 4]]}}
    (tmp_path / "t.geojson").write_text(json.dumps(line))
    (tmp_path / "t.csv").write_text("lon,lat\n5,6\n7,8\n")
    g = TrackReplay.from_file(tmp_path / "t.geojson")
    assert [(f.lon, f.lat) for f in (g.fix(), g.fix(), g.fix()) if f] == [(1, 2), (3, 4), (1, 2)]
    c = TrackReplay.from_file(tmp_path / "t.csv")
    assert [(f.lon, f.lat) for f in (c.fix(), c.fix()) if f] == [(5, 6), (7, 8)]


def test_fixed_point() -> None:
    f = FixedPoint(113.04, 28.13).fix()
    assert f is not None and (f.lon, f.lat) == (113.04, 28.13)
