"""Loading grid (网格) geometry from GeoJSON files.

Contract: "Grid files are any GeoJSON FeatureCollection of Polygons and
MultiPolygons; a grid's id is the feature's `id`, else its `grid_id`
property, else its `name` property. A broken file is refused at start with a
message naming the feature and the fault (invalid ring, duplicate id, overlap
beyond tolerance), never half-loaded."

This module checks everything that can be checked in degrees. Overlaps need
areas in square metres, so `GridIndex` checks them after projecting.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
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


class _Fault(Exception):
    """What is wrong with one feature; the loader adds where it is."""


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
            grid = _parse_feature(file, index, feature)
            where = _where(file, index, grid.grid_id)
            if grid.grid_id in first_seen:
                raise GridLoadError(
                    f"{where}: duplicate grid id {grid.grid_id!r}, "
                    f"already used by {first_seen[grid.grid_id]}"
                )
            first_seen[grid.grid_id] = where
            grids.append(grid)
    return grids


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
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
        found = document.get("type") if isinstance(document, dict) else type(document).__name__
        raise GridLoadError(f"{file}: not a GeoJSON FeatureCollection (found {found!r})")
    features = document.get("features")
    if not isinstance(features, list):
        raise GridLoadError(f"{file}: FeatureCollection has no 'features' list")
    if not features:
        raise GridLoadError(f"{file}: FeatureCollection has no features")
    return features


def _where(file: Path, index: int, grid_id: str | None) -> str:
    """Where a feature is, e.g. `grids/a.geojson: feature 'G03' (features[2])`.

    By id when it has one (that is what the operator searches for), always with
    the index (ids may repeat, which is one of the faults reported).
    """
    if grid_id is None:
        return f"{file}: features[{index}]"
    return f"{file}: feature {grid_id!r} (features[{index}])"


def _parse_feature(file: Path, index: int, feature: Any) -> Grid:
    grid_id: str | None = None
    try:
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            raise _Fault("not a GeoJSON Feature")
        properties = feature.get("properties") or {}  # RFC 7946 allows "properties": null
        if not isinstance(properties, dict):
            raise _Fault("'properties' is not an object")
        grid_id = _grid_id(feature, properties)
        geometry = _geometry(feature.get("geometry"))
    except _Fault as fault:
        raise GridLoadError(f"{_where(file, index, grid_id)}: {fault}") from None
    return Grid(
        grid_id=grid_id,
        name_zh=_optional_str(properties.get("name_zh")),
        name_en=_optional_str(properties.get("name_en")),
        kind=_optional_str(properties.get("kind")),
        properties=properties,
        geometry=geometry,
        feature=feature,
    )


def _grid_id(feature: dict[str, Any], properties: dict[str, Any]) -> str:
    """The first of `id`, `grid_id`, `name` that is present (contract order)."""
    candidates = (feature.get("id"), properties.get("grid_id"), properties.get("name"))
    for source, value in zip(ID_SOURCES, candidates, strict=True):
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        if isinstance(value, str):
            return value
        # RFC 7946 lets an id be a number; 7 and 7.0 both mean grid "7".
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            return str(int(value)) if float(value).is_integer() else str(value)
        raise _Fault(f"{source} {value!r} is not a string or a number")
    raise _Fault("no usable id: the feature has no 'id', 'grid_id' property or 'name' property")


def _optional_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _geometry(geometry: Any) -> Any:
    """A valid, two-dimensional shapely (Multi)Polygon, or a _Fault saying why not."""
    if geometry is None:
        raise _Fault("has no geometry")
    kind = geometry.get("type") if isinstance(geometry, dict) else type(geometry).__name__
    if kind not in ("Polygon", "MultiPolygon"):
        raise _Fault(f"geometry type {kind!r} is not Polygon or MultiPolygon")
    coordinates = geometry.get("coordinates")
    if kind == "Polygon":
        shape = _polygon(coordinates, None)
    else:
        if not isinstance(coordinates, list) or not coordinates:
            raise _Fault("MultiPolygon has no polygons")
        shape = shapely.MultiPolygon([_polygon(c, n) for n, c in enumerate(coordinates)])
    reason = shapely.is_valid_reason(shape)
    if reason != "Valid Geometry":
        raise _Fault(f"invalid geometry: {reason}")
    return shape


def _polygon(rings: Any, polygon_no: int | None) -> Any:
    if not isinstance(rings, list) or not rings:
        raise _Fault(f"invalid ring: {_polygon_name(polygon_no)} has no rings")
    shell, *holes = (_ring(ring, polygon_no, ring_no) for ring_no, ring in enumerate(rings))
    return shapely.Polygon(shell, holes)


def _ring(ring: Any, polygon_no: int | None, ring_no: int) -> list[tuple[float, float]]:
    """A ring's positions as (lon, lat), checked against RFC 7946 3.1.6."""
    name = _ring_name(polygon_no, ring_no)
    if not isinstance(ring, list):
        raise _Fault(f"invalid ring: {name} is not a list of positions")
    points = [_position(position, name) for position in ring]
    if len(points) < 4:
        raise _Fault(f"invalid ring: {name} has {len(points)} positions, needs at least 4")
    if points[0] != points[-1]:
        raise _Fault(f"invalid ring: {name} is not closed (first and last positions differ)")
    return points


def _position(position: Any, ring_name: str) -> tuple[float, float]:
    if not (
        isinstance(position, list)
        and len(position) in (2, 3)
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in position)
    ):
        raise _Fault(f"invalid ring: {ring_name} has position {position!r}, not [lon, lat]")
    lon, lat = float(position[0]), float(position[1])
    # Written this way round so that NaN fails too.
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        hint = " (latitude and longitude swapped?)" if -90.0 <= lon <= 90.0 else ""
        raise _Fault(
            f"coordinate [{lon}, {lat}] in {ring_name} is outside the WGS84 range "
            f"(longitude -180..180, latitude -90..90){hint}"
        )
    return lon, lat


def _polygon_name(polygon_no: int | None) -> str:
    return "polygon" if polygon_no is None else f"polygon {polygon_no}"


def _ring_name(polygon_no: int | None, ring_no: int) -> str:
    ring = "exterior ring" if ring_no == 0 else f"hole {ring_no}"
    return ring if polygon_no is None else f"{ring} of polygon {polygon_no}"
