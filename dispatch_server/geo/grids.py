"""Loading grid (网格) geometry from GeoJSON files.

Contract: "Grid files are any GeoJSON FeatureCollection of Polygons and
MultiPolygons; a grid's id is the feature's `id`, else its `grid_id`
property, else its `name` property. A broken file is refused at start with a
message naming the feature and the fault (invalid ring, duplicate id, overlap
beyond tolerance), never half-loaded."

This module checks everything that can be checked in degrees, one feature at a
time, and names every fault it finds with a stable code (decision 45: the admin
page checks an upload before applying it and shows every fault at once, in
either language). `load_grids` stops at the first fault, as a start must.
Overlaps need areas in square metres, so `geo/index.py` checks them after
projecting, and `geo/check.py` puts the two together for an upload.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import shapely

GRID_FILE_SUFFIXES = (".geojson", ".json")
ID_SOURCES = ("id", "grid_id", "name")


class GridLoadError(ValueError):
    """A grid file that must not be served: names the file, the feature and the fault."""


@dataclass(frozen=True)
class Grid:
    """One grid as loaded; `geometry` is in lon/lat (WGS84), two-dimensional."""

    grid_id: str
    name_zh: str | None
    name_en: str | None
    kind: str | None
    properties: dict[str, Any]
    geometry: Any  # shapely Polygon or MultiPolygon
    feature: dict[str, Any]  # the GeoJSON feature as read, for re-serving


# Bad positions reported per feature at most: a ring pasted with its numbers swapped has
# hundreds, and the first few say what is wrong.
MAX_POSITION_FAULTS = 20


@dataclass(frozen=True)
class Fault:
    """One fault: a stable `code` (the admin page translates it), an English `message`, and
    the `params` a translation needs (`ring`, `position`, `other_index`, ...)."""

    code: str
    message: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, **self.params}


@dataclass(frozen=True)
class FeatureCheck:
    """What one feature of a collection is and what is wrong with it.

    `geometry` is the GeoJSON geometry as sent when a map can draw it (every position a
    [lon, lat] in range), else None; `grid` is set only when there is no fault."""

    index: int
    grid_id: str | None
    name_zh: str | None
    name_en: str | None
    geometry: Any
    errors: tuple[Fault, ...]
    grid: Grid | None

    def with_error(self, fault: Fault) -> FeatureCheck:
        return replace(self, errors=(*self.errors, fault))

    def as_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "grid_id": self.grid_id,
            "name_zh": self.name_zh,
            "name_en": self.name_en,
            "geometry": self.geometry,
            "errors": [f.as_json() for f in self.errors],
        }


def load_grids(path: Path) -> list[Grid]:
    """Grids from one GeoJSON file, or from every .geojson/.json file in a folder.

    Files in a folder load in name order and grids keep file order, so a
    rerun always produces the same list. Any fault raises GridLoadError before
    anything is returned: a dispatcher must never work from part of the map.
    """
    grids: list[Grid] = []
    first_seen: dict[str, str] = {}
    for file in _grid_files(path):
        for index, feature in enumerate(_read_features(file)):
            checked = check_feature(index, feature)
            where = _where(file, index, checked.grid_id)
            if checked.grid is None:
                raise GridLoadError(f"{where}: {checked.errors[0].message}")
            if checked.grid.grid_id in first_seen:
                raise GridLoadError(
                    f"{where}: duplicate grid id {checked.grid.grid_id!r}, "
                    f"already used by {first_seen[checked.grid.grid_id]}"
                )
            first_seen[checked.grid.grid_id] = where
            grids.append(checked.grid)
    return grids


def grids_from_collection(document: Any, source: str) -> list[Grid]:
    """Grids from a FeatureCollection already read (an applied grid set), refused like a file:
    GridLoadError naming `source`, the feature and its first fault."""
    faults = collection_faults(document)
    if faults:
        raise GridLoadError(f"{source}: {faults[0].message}")
    grids: list[Grid] = []
    for checked in check_features(document["features"]):
        if checked.grid is None or checked.errors:
            where = f"{source}: features[{checked.index}]"
            raise GridLoadError(f"{where}: {checked.errors[0].message}")
        grids.append(checked.grid)
    return grids


def collection_faults(document: Any) -> list[Fault]:
    """What makes a document not a usable FeatureCollection at all (then no feature is
    looked at)."""
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
        found = document.get("type") if isinstance(document, dict) else type(document).__name__
        message = f"not a GeoJSON FeatureCollection (found {found!r})"
        return [Fault("not_feature_collection", message, {"found": str(found)})]
    features = document.get("features")
    if not isinstance(features, list):
        return [Fault("no_features", "FeatureCollection has no 'features' list")]
    if not features:
        return [Fault("no_features", "FeatureCollection has no features")]
    return []


def check_features(features: Sequence[Any]) -> list[FeatureCheck]:
    """Every feature checked on its own, then ids compared: a repeated id is a fault of the
    second and every later feature that has it, naming the first (`other_index`)."""
    checks = [check_feature(index, feature) for index, feature in enumerate(features)]
    first: dict[str, int] = {}
    for n, checked in enumerate(checks):
        if checked.grid_id is None:
            continue
        if checked.grid_id in first:
            other = first[checked.grid_id]
            message = f"duplicate grid id {checked.grid_id!r}, already used by features[{other}]"
            checks[n] = replace(
                checked.with_error(Fault("duplicate_id", message, {"other_index": other})),
                grid=None,
            )
        else:
            first[checked.grid_id] = n
    return checks


def check_feature(index: int, feature: Any) -> FeatureCheck:
    """Every fault of one feature, in the order a reader meets them: what it is, its
    properties, its id, its geometry. A feature that is not a Feature has no more faults."""
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        fault = Fault("not_feature", "not a GeoJSON Feature")
        return FeatureCheck(index, None, None, None, None, (fault,), None)
    faults: list[Fault] = []
    properties = feature.get("properties") or {}  # RFC 7946 allows "properties": null
    if not isinstance(properties, dict):
        faults.append(Fault("bad_properties", "'properties' is not an object"))
        properties = {}
    grid_id, id_fault = _grid_id(feature, properties)
    if id_fault is not None:
        faults.append(id_fault)
    shape, drawable, geometry_faults = _geometry(feature.get("geometry"))
    faults += geometry_faults
    name_zh = _optional_str(properties.get("name_zh"))
    name_en = _optional_str(properties.get("name_en"))
    grid = None
    if not faults and grid_id is not None:
        kind = _optional_str(properties.get("kind"))
        grid = Grid(grid_id, name_zh, name_en, kind, properties, shape, feature)
    geometry = feature.get("geometry") if drawable else None
    return FeatureCheck(index, grid_id, name_zh, name_en, geometry, tuple(faults), grid)


def _grid_files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(
            p for p in path.iterdir() if p.is_file() and p.suffix.lower() in GRID_FILE_SUFFIXES
        )
        if not files:
            raise GridLoadError(f"{path}: folder holds no .geojson or .json files")
        return files
    if path.is_file():
        return [path]
    raise GridLoadError(f"{path}: no such file or folder")


def _read_features(file: Path) -> list[Any]:
    try:
        document = json.loads(file.read_text(encoding="utf-8"))
    except OSError as err:
        raise GridLoadError(f"{file}: cannot read: {err.strerror or err}") from err
    except ValueError as err:  # JSONDecodeError and UnicodeDecodeError
        raise GridLoadError(f"{file}: not valid JSON: {err}") from err
    faults = collection_faults(document)
    if faults:
        raise GridLoadError(f"{file}: {faults[0].message}")
    features: list[Any] = document["features"]
    return features


def _where(file: Path, index: int, grid_id: str | None) -> str:
    """Where a feature is, e.g. `grids/a.geojson: feature 'G03' (features[2])`.

    By id when it has one (that is what the operator searches for), always with
    the index (ids may repeat, which is one of the faults reported).
    """
    if grid_id is None:
        return f"{file}: features[{index}]"
    return f"{file}: feature {grid_id!r} (features[{index}])"


def _grid_id(
    feature: dict[str, Any], properties: dict[str, Any]
) -> tuple[str | None, Fault | None]:
    """The first of `id`, `grid_id`, `name` that is present (contract order), or the fault."""
    candidates = (feature.get("id"), properties.get("grid_id"), properties.get("name"))
    for source, value in zip(ID_SOURCES, candidates, strict=True):
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        if isinstance(value, str):
            return value, None
        # RFC 7946 lets an id be a number; 7 and 7.0 both mean grid "7".
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            return (str(int(value)) if float(value).is_integer() else str(value)), None
        message = f"{source} {value!r} is not a string or a number"
        return None, Fault("bad_id", message, {"source": source})
    message = "no usable id: the feature has no 'id', 'grid_id' property or 'name' property"
    return None, Fault("no_id", message)


def _optional_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


class _Rings:
    """The faults found while reading one geometry's rings, and whether it can be drawn."""

    def __init__(self) -> None:
        self.faults: list[Fault] = []
        self.drawable = True
        self.bad_positions = 0

    def ring_fault(self, message: str, ring: str, problem: str, *, drawable: bool = True) -> None:
        params = {"ring": ring, "problem": problem}
        self.faults.append(Fault("invalid_ring", f"invalid ring: {message}", params))
        self.drawable = self.drawable and drawable

    def position_fault(self, message: str, ring: str, position: Any) -> None:
        self.drawable = False
        self.bad_positions += 1
        if self.bad_positions <= MAX_POSITION_FAULTS:
            params = {"ring": ring, "position": position}
            self.faults.append(Fault("bad_position", message, params))


def _geometry(geometry: Any) -> tuple[Any, bool, list[Fault]]:
    """A valid, two-dimensional shapely (Multi)Polygon (else None), whether the geometry as
    sent can be drawn, and every fault found."""
    if geometry is None:
        return None, False, [Fault("no_geometry", "has no geometry")]
    kind = geometry.get("type") if isinstance(geometry, dict) else type(geometry).__name__
    if kind not in ("Polygon", "MultiPolygon"):
        message = f"geometry type {kind!r} is not Polygon or MultiPolygon"
        return None, False, [Fault("bad_geometry_type", message, {"found": str(kind)})]
    coordinates = geometry.get("coordinates")
    rings = _Rings()
    if kind == "Polygon":
        polygons = [_polygon(coordinates, None, rings)]
    elif not isinstance(coordinates, list) or not coordinates:
        rings.ring_fault("MultiPolygon has no polygons", "polygons", "no_rings", drawable=False)
        polygons = []
    else:
        polygons = [_polygon(c, n, rings) for n, c in enumerate(coordinates)]
    if rings.faults:
        return None, rings.drawable, rings.faults
    shape = polygons[0] if kind == "Polygon" else shapely.MultiPolygon(polygons)
    reason = shapely.is_valid_reason(shape)
    if reason != "Valid Geometry":
        return (
            None,
            True,
            [Fault("invalid_geometry", f"invalid geometry: {reason}", {"reason": reason})],
        )
    return shape, True, []


def _polygon(coordinates: Any, polygon_no: int | None, found: _Rings) -> Any:
    """A shapely Polygon, or None with the faults of its rings added to `found`."""
    if not isinstance(coordinates, list) or not coordinates:
        name = _polygon_name(polygon_no)
        found.ring_fault(f"{name} has no rings", name, "no_rings", drawable=False)
        return None
    rings = [_ring(ring, polygon_no, n, found) for n, ring in enumerate(coordinates)]
    if any(ring is None for ring in rings):
        return None
    shell, *holes = rings
    return shapely.Polygon(shell, holes)


def _ring(
    ring: Any, polygon_no: int | None, ring_no: int, found: _Rings
) -> list[tuple[float, float]] | None:
    """A ring's positions as (lon, lat), checked against RFC 7946 3.1.6; None when faulty."""
    name = _ring_name(polygon_no, ring_no)
    if not isinstance(ring, list):
        found.ring_fault(f"{name} is not a list of positions", name, "not_a_list", drawable=False)
        return None
    points = [_position(position, name, found) for position in ring]
    usable = [p for p in points if p is not None]
    if len(points) < 4:
        found.ring_fault(f"{name} has {len(points)} positions, needs at least 4", name, "too_few")
        return None
    if len(usable) < len(points):
        return None
    if usable[0] != usable[-1]:
        found.ring_fault(
            f"{name} is not closed (first and last positions differ)", name, "not_closed"
        )
        return None
    return usable


def _position(position: Any, ring_name: str, found: _Rings) -> tuple[float, float] | None:
    if not (
        isinstance(position, list)
        and len(position) in (2, 3)
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in position)
    ):
        message = f"invalid ring: {ring_name} has position {position!r}, not [lon, lat]"
        found.position_fault(message, ring_name, position)
        return None
    lon, lat = float(position[0]), float(position[1])
    # Written this way round so that NaN fails too.
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        hint = " (latitude and longitude swapped?)" if -90.0 <= lon <= 90.0 else ""
        message = (
            f"coordinate [{lon}, {lat}] in {ring_name} is outside the WGS84 range "
            f"(longitude -180..180, latitude -90..90){hint}"
        )
        found.position_fault(message, ring_name, position)
        return None
    return lon, lat


def _polygon_name(polygon_no: int | None) -> str:
    return "polygon" if polygon_no is None else f"polygon {polygon_no}"


def _ring_name(polygon_no: int | None, ring_no: int) -> str:
    ring = "exterior ring" if ring_no == 0 else f"hole {ring_no}"
    return ring if polygon_no is None else f"{ring} of polygon {polygon_no}"
