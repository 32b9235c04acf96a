"""Where the handheld is: a simulated walk, a fixed point, a recorded track, or your GPS.

A source answers `fix()` with the newest position, or None when it has none. A
real GPS reader plugs in as any object with that method (see `CallbackSource`).
"""

from __future__ import annotations

import csv
import itertools
import json
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

METRES_PER_DEGREE_LAT = 111_320.0


@dataclass(frozen=True)
class Fix:
    lon: float
    lat: float
    accuracy_m: float | None = None


class PositionSource(Protocol):
    def fix(self) -> Fix | None: ...


class FixedPoint:
    def __init__(self, lon: float, lat: float, accuracy_m: float = 10.0) -> None:
        self._fix = Fix(lon, lat, accuracy_m)

    def fix(self) -> Fix | None:
        return self._fix


class CallbackSource:
    """The hook for a real GPS: wrap whatever function reads it."""

    def __init__(self, read: Callable[[], Fix | None]) -> None:
        self._read = read

    def fix(self) -> Fix | None:
        return self._read()


class TrackReplay:
    """Replays a recorded track, one point per call, looping at the end."""

    def __init__(self, points: Sequence[tuple[float, float]], accuracy_m: float = 8.0) -> None:
        if not points:
            raise ValueError("a track needs at least one point")
        self._points = list(points)
        self._next = 0
        self._accuracy_m = accuracy_m

    @classmethod
    def from_file(cls, path: Path) -> TrackReplay:
        """A GeoJSON LineString (bare, or in a Feature/FeatureCollection) or a CSV with lon,lat."""
        if path.suffix.lower() == ".csv":
            with path.open(newline="") as f:
                rows = list(csv.DictReader(f))
            return cls([(float(r["lon"]), float(r["lat"])) for r in rows])
        data = json.loads(path.read_text())
        if data.get("type") == "FeatureCollection":
            data = data["features"][0]
        if data.get("type") == "Feature":
            data = data["geometry"]
        if data.get("type") != "LineString":
            raise ValueError(f"{path}: expected a LineString, got {data.get('type')}")
        return cls([(float(p[0]), float(p[1])) for p in data["coordinates"]])

    def fix(self) -> Fix | None:
        lon, lat = self._points[self._next % len(self._points)]
        self._next += 1
        return Fix(lon, lat, self._accuracy_m)


class SimulatedWalk:
    """A patrol walking between random waypoints inside its grid, for demos and load.

    The grid arrives in the server's `welcome`; until then there is no fix.
    Pure Python (no shapely): a handheld stays light.
    """

    def __init__(self, step_m: float = 18.0, rng: random.Random | None = None) -> None:
        self.step_m = step_m  # about 15 s of walking
        self._rng = rng or random.Random()
        self._rings: list[list[tuple[float, float]]] = []
        self._at: tuple[float, float] | None = None
        self._goal: tuple[float, float] | None = None

    def on_welcome(self, welcome: dict[str, Any]) -> None:
        grid = welcome.get("grid") or {}
        geometry = grid.get("geometry")
        if not geometry:
            return
        polygons = (
            geometry["coordinates"]
            if geometry["type"] == "MultiPolygon"
            else [geometry["coordinates"]]
        )
        self._rings = [[(p[0], p[1]) for p in ring] for poly in polygons for ring in poly]
        if self._at is None or not self.inside(*self._at):
            self._at = self._random_point()

    def inside(self, lon: float, lat: float) -> bool:
        """Even-odd rule over every ring: holes and separate parts come out right."""
        inside = False
        for ring in self._rings:
            for (x1, y1), (x2, y2) in itertools.pairwise(ring):
                if (y1 > lat) != (y2 > lat) and lon < x1 + (lat - y1) * (x2 - x1) / (y2 - y1):
                    inside = not inside
        return inside

    def _random_point(self) -> tuple[float, float]:
        xs = [p[0] for ring in self._rings for p in ring]
        ys = [p[1] for ring in self._rings for p in ring]
        for _ in range(1000):
            p = (self._rng.uniform(min(xs), max(xs)), self._rng.uniform(min(ys), max(ys)))
            if self.inside(*p):
                return p
        return xs[0], ys[0]

    def fix(self) -> Fix | None:
        if self._at is None:
            return None
        if self._goal is None:
            self._goal = self._random_point()
        lon, lat = self._at
        glon, glat = self._goal
        m_per_deg_lon = METRES_PER_DEGREE_LAT * math.cos(math.radians(lat))
        dx, dy = (glon - lon) * m_per_deg_lon, (glat - lat) * METRES_PER_DEGREE_LAT
        dist = math.hypot(dx, dy)
        if dist <= self.step_m:
            self._at, self._goal = self._goal, None
        else:
            k = self.step_m / dist
            step = (lon + k * dx / m_per_deg_lon, lat + k * dy / METRES_PER_DEGREE_LAT)
            if self.inside(*step):
                self._at = step
            else:
                self._goal = None  # the straight line leaves a bent grid: pick another goal
        return Fix(round(self._at[0], 7), round(self._at[1], 7), 6.0)
