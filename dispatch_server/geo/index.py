"""The spatial index: which grid a point is in, and how grids sit together.

Every alarm is placed in a grid (contract: `incident_opened` carries "the
incident's grid (`grid_id`, from the alarm's location, not the reporter's
home grid)"), and members without a fresh fix are ranked from their grid's
representative point. Both are answered here, in metres, from geometry that
is projected and indexed once when the grids are loaded.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import shapely

from dispatch_server.geo.grids import Grid, GridLoadError
from dispatch_server.geo.projection import LocalProjection

# Grids whose boundaries come this close count as neighbours: hand-drawn grid
# files rarely share vertices exactly, but a street is wider than a metre.
NEIGHBOUR_GAP_M = 1.0


@dataclass(frozen=True)
class Location:
    """Where a point falls: its grid, and how far outside all grids it lies.

    `inside` is False when the point is outside every grid and was given to
    the nearest one; `distance_m` is then the metres to that grid's boundary
    (0.0 when inside).
    """

    grid_id: str
    inside: bool
    distance_m: float


class GridIndex:
    """Grids projected to metres with an STRtree over them.

    Refuses (GridLoadError) grids that overlap by more than
    `overlap_tolerance_m2`: an alarm in the overlap would belong to two
    grids, and which one it got would depend on file order.
    """

    def __init__(self, grids: Sequence[Grid], overlap_tolerance_m2: float = 10.0) -> None:
        self.grids: dict[str, Grid] = _by_id(grids)
        self.grid_ids: list[str] = list(self.grids)
        self.projection = _centred_projection(grids)
        # Position i in these lists is grid_ids[i] and the STRtree's index i.
        self._shapes: list[Any] = [self.projection.geometry_to_xy(g.geometry) for g in grids]
        shapely.prepare(self._shapes)
        self._tree = shapely.STRtree(self._shapes)
        self._position = {grid_id: i for i, grid_id in enumerate(self.grid_ids)}
        self._refuse_overlaps(overlap_tolerance_m2)
        self._neighbours = self._find_neighbours()
        self._representative = [_representative_point(shape) for shape in self._shapes]

    def locate(self, lon: float, lat: float) -> Location:
        """The grid holding (lon, lat); outside every grid, the nearest one."""
        x, y = self.projection.to_xy(lon, lat)
        return self.locate_xy(x, y)

    def locate_xy(self, x: float, y: float) -> Location:
        """`locate` for a point already in this index's metres.

        A point on a boundary shared by several grids goes to the first of
        them in file order, so the same point always lands in the same grid.
        """
        point = shapely.Point(x, y)
        # Bounding boxes first, then the exact test on prepared geometry;
        # covers (not contains) so that boundary points are inside something.
        for i in sorted(self._tree.query(point).tolist()):
            if self._shapes[i].covers(point):
                return Location(self.grid_ids[i], True, 0.0)
        return self._nearest(point)

    def representative_xy(self, grid_id: str) -> tuple[float, float]:
        """A point inside the grid, where a member with no fresh fix probably is.

        The centroid when it lies inside the grid, else a point on its surface:
        an L-shaped or two-part grid can have its centroid outside itself.
        """
        return self._representative[self._position[grid_id]]

    def representative_lonlat(self, grid_id: str) -> tuple[float, float]:
        """`representative_xy` as (lon, lat)."""
        return self.projection.to_lonlat(*self.representative_xy(grid_id))

    def neighbours(self, grid_id: str) -> frozenset[str]:
        """Grids whose boundaries come within 1 m of this one's.

        Grids that meet only at a corner count as neighbours too: a patrol
        crosses a street corner as easily as a street.
        """
        return self._neighbours[grid_id]

    def area_m2(self, grid_id: str) -> float:
        """The grid's area in square metres."""
        return float(self._shapes[self._position[grid_id]].area)

    def feature_collection(self) -> dict[str, Any]:
        """All grids as GeoJSON, for `GET /api/grids` (contract: "each feature's grid id").

        Each feature is the one read from the file, with `id` set to the grid id
        and the derived `grid_id`, names, `kind`, `neighbours`, `area_m2` and `label_point`
        added to its properties. A fresh copy every call: callers may mutate it.
        """
        return {
            "type": "FeatureCollection",
            "features": [self._feature(grid_id) for grid_id in self.grid_ids],
        }

    def _feature(self, grid_id: str) -> dict[str, Any]:
        grid = self.grids[grid_id]
        feature = copy.deepcopy(grid.feature)
        feature["id"] = grid_id
        feature["properties"] = {
            **(feature.get("properties") or {}),
            "grid_id": grid_id,
            "name_zh": grid.name_zh,
            "name_en": grid.name_en,
            "kind": grid.kind,
            "neighbours": sorted(self.neighbours(grid_id)),
            "area_m2": round(self.area_m2(grid_id), 1),
            # Where a map writes the grid's name: inside the grid even when it is L-shaped.
            "label_point": [round(c, 7) for c in self.representative_lonlat(grid_id)],
        }
        return feature

    def _nearest(self, point: Any) -> Location:
        indices, distances = self._tree.query_nearest(point, return_distance=True, all_matches=True)
        # Several grids can be exactly as near (a point off a shared corner):
        # file order decides, as on a shared boundary.
        nearest = int(indices.min())
        return Location(self.grid_ids[nearest], False, float(distances.min()))

    def _refuse_overlaps(self, tolerance_m2: float) -> None:
        for i, j, overlap_m2 in _overlaps(self._shapes, self._tree, tolerance_m2)[:1]:
            raise GridLoadError(
                f"grids {self.grid_ids[i]!r} and {self.grid_ids[j]!r} overlap by "
                f"{overlap_m2:.1f} m² (tolerance {tolerance_m2:g} m²)"
            )

    def _find_neighbours(self) -> dict[str, frozenset[str]]:
        pairs = self._tree.query(self._shapes, predicate="dwithin", distance=NEIGHBOUR_GAP_M)
        found: dict[str, set[str]] = {grid_id: set() for grid_id in self.grid_ids}
        for i, j in zip(pairs[0].tolist(), pairs[1].tolist(), strict=True):
            if i != j:
                found[self.grid_ids[i]].add(self.grid_ids[j])
        return {grid_id: frozenset(ids) for grid_id, ids in found.items()}


def find_overlaps(grids: Sequence[Grid], tolerance_m2: float) -> list[tuple[int, int, float]]:
    """Every pair of grids (positions in `grids`, i < j) overlapping by more than
    `tolerance_m2`, with the overlap in m², measured as a GridIndex of them would measure it
    (same centred projection). What `GridIndex` refuses, all at once, for an upload's check.

    Raises ValueError when the grids cannot be projected (centred near a pole)."""
    if not grids:
        return []
    projection = _centred_projection(grids)
    shapes = [projection.geometry_to_xy(g.geometry) for g in grids]
    return _overlaps(shapes, shapely.STRtree(shapes), tolerance_m2)


def _overlaps(shapes: list[Any], tree: Any, tolerance_m2: float) -> list[tuple[int, int, float]]:
    pairs = tree.query(shapes, predicate="intersects")
    found = []
    for i, j in sorted(zip(pairs[0].tolist(), pairs[1].tolist(), strict=True)):
        if i >= j:
            continue
        overlap_m2 = float(shapes[i].intersection(shapes[j]).area)
        if overlap_m2 > tolerance_m2:
            found.append((i, j, overlap_m2))
    return found


def _by_id(grids: Sequence[Grid]) -> dict[str, Grid]:
    """Grids by id in the given order; load_grids already refuses these faults,
    but an index may also be built from grids made in code."""
    if not grids:
        raise GridLoadError("no grids to index")
    by_id: dict[str, Grid] = {}
    for grid in grids:
        if grid.grid_id in by_id:
            raise GridLoadError(f"duplicate grid id {grid.grid_id!r}")
        by_id[grid.grid_id] = grid
    return by_id


def _centred_projection(grids: Sequence[Grid]) -> LocalProjection:
    """A projection centred on the middle of all grids' bounds, where it is most exact."""
    min_lon, min_lat, max_lon, max_lat = shapely.total_bounds([g.geometry for g in grids])
    return LocalProjection(float(min_lon + max_lon) / 2, float(min_lat + max_lat) / 2)


def _representative_point(shape: Any) -> tuple[float, float]:
    centroid = shape.centroid
    point = centroid if shape.contains(centroid) else shape.point_on_surface()
    return (float(point.x), float(point.y))
