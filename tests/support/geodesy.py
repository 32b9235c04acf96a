"""Independent references for tests: true geodesic distances and point-in-polygon on lon/lat,
computed without the server's projection or index."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from geographiclib.geodesic import Geodesic
from shapely.geometry import Point, shape

from dispatch_server.settings import SAMPLE_GRIDS

SAMPLE = SAMPLE_GRIDS / "changsha_sample.geojson"


def geodesic_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    result: dict[str, float] = Geodesic.WGS84.Inverse(lat1, lon1, lat2, lon2)
    return result["s12"]


def sample_shapes(path: Path = SAMPLE) -> dict[str, Any]:
    features = json.loads(path.read_text())["features"]
    return {str(f["id"]): shape(f["geometry"]) for f in features}


def random_point_in(
    polygon: Any, rng: random.Random, margin: float = 0.00005
) -> tuple[float, float]:
    """Rejection sampling, keeping clear of the edges so the expected grid is unambiguous."""
    minx, miny, maxx, maxy = polygon.bounds
    while True:
        p = Point(rng.uniform(minx, maxx), rng.uniform(miny, maxy))
        if polygon.contains(p.buffer(margin)):
            return p.x, p.y
