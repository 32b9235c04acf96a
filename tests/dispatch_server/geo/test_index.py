"""GridIndex on the sample community and on small hand-made layouts."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
import shapely
from geographiclib.geodesic import Geodesic
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch_server.geo.grids import Grid, GridLoadError, load_grids
from dispatch_server.geo.index import GridIndex, Location
from dispatch_server.geo.projection import LocalProjection

SAMPLE = Path(__file__).parents[3] / "grids" / "changsha_sample.geojson"
GEOD = Geodesic.WGS84
SAMPLE_GRIDS = load_grids(SAMPLE)
INDEX = GridIndex(SAMPLE_GRIDS)
# Brute-force references: each grid projected on its own, in file order.
SHAPES_XY = [INDEX.projection.geometry_to_xy(g.geometry) for g in SAMPLE_GRIDS]
VERTICES = [tuple(c) for g in SAMPLE_GRIDS for c in shapely.get_coordinates(g.geometry)]
MIN_LON, MIN_LAT, MAX_LON, MAX_LAT = shapely.total_bounds([g.geometry for g in SAMPLE_GRIDS])
# About 100 m of margin, so some points fall outside every grid.
MARGIN = 0.001


def grid(grid_id: str, geometry: Any) -> Grid:
    geojson = json.loads(shapely.to_geojson(geometry))
    feature = {"type": "Feature", "id": grid_id, "properties": {}, "geometry": geojson}
    return Grid(grid_id, None, None, None, {}, geometry, feature)


def metre_squares(*corners: tuple[float, float], size: float = 100.0) -> list[Grid]:
    """Squares `size` metres wide with their south-west corners at the given metres."""
    projection = LocalProjection(113.04, 28.13)
    grids = []
    for n, (x, y) in enumerate(corners):
        ring = [(x, y), (x + size, y), (x + size, y + size), (x, y + size)]
        grids.append(grid(f"S{n}", shapely.Polygon([projection.to_lonlat(*p) for p in ring])))
    return grids


def brute_force(lon: float, lat: float) -> Location:
    """What locate() must answer, from every grid in file order without the tree."""
    point = shapely.Point(INDEX.projection.to_xy(lon, lat))
    for grid_id, shape in zip(INDEX.grid_ids, SHAPES_XY, strict=True):
        if shape.covers(point):
            return Location(grid_id, True, 0.0)
    distances = [shape.distance(point) for shape in SHAPES_XY]
    nearest = distances.index(min(distances))
    return Location(INDEX.grid_ids[nearest], False, distances[nearest])


# Tiling


def test_sample_tiles_without_gaps_or_overlaps() -> None:
    areas = [INDEX.area_m2(grid_id) for grid_id in INDEX.grid_ids]
    union = shapely.union_all(SHAPES_XY)
    assert sum(areas) == pytest.approx(union.area, rel=0.005)
    assert 1.0e6 <= sum(areas) <= 2.0e6
    # No holes between grids: the union is one piece with no interior rings.
    assert union.geom_type == "Polygon"
    assert len(union.interiors) == 0


@pytest.mark.parametrize("sample_grid", SAMPLE_GRIDS, ids=lambda g: g.grid_id)
def test_area_matches_geodesic_area(sample_grid: Grid) -> None:
    expected = 0.0
    for polygon in getattr(sample_grid.geometry, "geoms", [sample_grid.geometry]):
        area = GEOD.Polygon()
        for lon, lat in polygon.exterior.coords[:-1]:
            area.AddPoint(lat, lon)
        expected += area.Compute(reverse=False, sign=False)[2]
    assert INDEX.area_m2(sample_grid.grid_id) == pytest.approx(expected, rel=1e-4)


def test_projection_is_centred_on_the_bounds() -> None:
    assert INDEX.projection.lon0 == pytest.approx((MIN_LON + MAX_LON) / 2)
    assert INDEX.projection.lat0 == pytest.approx((MIN_LAT + MAX_LAT) / 2)
    assert list(INDEX.grids) == INDEX.grid_ids == [g.grid_id for g in SAMPLE_GRIDS]


# Locating points


@pytest.mark.parametrize("grid_id", INDEX.grid_ids)
def test_representative_point_is_inside_and_locates_to_its_grid(grid_id: str) -> None:
    lon, lat = INDEX.representative_lonlat(grid_id)
    assert INDEX.locate(lon, lat) == Location(grid_id, True, 0.0)
    x, y = INDEX.representative_xy(grid_id)
    assert SHAPES_XY[INDEX.grid_ids.index(grid_id)].contains(shapely.Point(x, y))


def test_representative_is_the_centroid_when_the_centroid_is_inside() -> None:
    [square] = metre_squares((0.0, 0.0))
    index = GridIndex([square])
    lon, lat = index.representative_lonlat("S0")
    assert (lon, lat) == pytest.approx(tuple(square.geometry.centroid.coords[0]), abs=1e-9)


def test_representative_of_a_ring_shaped_grid_avoids_its_hole() -> None:
    outer = metre_squares((0.0, 0.0), size=300.0)[0].geometry
    hole = metre_squares((100.0, 100.0), size=100.0)[0].geometry
    index = GridIndex([grid("R", outer.difference(hole))])
    centre_of_hole = index.projection.geometry_to_xy(hole).centroid
    x, y = index.representative_xy("R")
    assert math.hypot(x - centre_of_hole.x, y - centre_of_hole.y) > 50.0
    assert index.locate_xy(x, y) == Location("R", True, 0.0)


def test_point_east_of_the_area_goes_to_nearest_grid_with_geodesic_distance() -> None:
    east_lon, east_lat = max(VERTICES)
    outside = GEOD.Direct(east_lat, east_lon, 90.0, 300.0)
    lon, lat = outside["lon2"], outside["lat2"]
    # Reference: geodesic distance to every grid's boundary, densified to 2 m.
    expected: dict[str, float] = {}
    for sample_grid in SAMPLE_GRIDS:
        boundary = shapely.segmentize(sample_grid.geometry.boundary, 2e-5)
        expected[sample_grid.grid_id] = min(
            GEOD.Inverse(lat, lon, b_lat, b_lon, Geodesic.DISTANCE)["s12"]
            for b_lon, b_lat in shapely.get_coordinates(boundary)
        )
    nearest = min(expected, key=expected.__getitem__)
    location = INDEX.locate(lon, lat)
    assert location.grid_id == nearest
    assert not location.inside
    assert location.distance_m == pytest.approx(expected[nearest], rel=0.001)
    assert 100.0 < location.distance_m <= 300.0 * 1.001


def test_locate_xy_agrees_with_locate() -> None:
    for lon, lat in VERTICES[::7]:
        assert INDEX.locate_xy(*INDEX.projection.to_xy(lon, lat)) == INDEX.locate(lon, lat)


def test_shared_vertex_goes_to_the_first_grid_in_file_order() -> None:
    # A vertex where three or more grids meet: all of them cover it.
    for lon, lat in VERTICES:
        point = shapely.Point(INDEX.projection.to_xy(lon, lat))
        covering = [i for i, shape in enumerate(SHAPES_XY) if shape.covers(point)]
        if len(covering) >= 3:
            assert INDEX.locate(lon, lat).grid_id == INDEX.grid_ids[covering[0]]
            return
    pytest.fail("the sample has no vertex shared by three grids")


@pytest.mark.parametrize("east_first", [True, False])
def test_equally_near_grids_resolve_to_the_first_in_file_order(east_first: bool) -> None:
    # Binary fractions of a degree, so both squares project exactly 1/1024 degree
    # either side of the point and the tie is exact.
    step = 1 / 1024
    west = grid("W", shapely.box(112.5 - 2 * step, 28.125, 112.5 - step, 28.125 + step))
    east = grid("E", shapely.box(112.5 + step, 28.125, 112.5 + 2 * step, 28.125 + step))
    index = GridIndex([east, west] if east_first else [west, east])
    location = index.locate(112.5, 28.125 + step / 2)
    assert location.grid_id == ("E" if east_first else "W")
    assert not location.inside
    assert location.distance_m == pytest.approx(step * index.projection.metres_per_degree_lon)


points_in_and_around_the_sample = st.one_of(
    st.tuples(
        st.floats(MIN_LON - MARGIN, MAX_LON + MARGIN),
        st.floats(MIN_LAT - MARGIN, MAX_LAT + MARGIN),
    ),
    st.sampled_from(VERTICES),  # on boundaries, often shared by several grids
)


@settings(max_examples=500)
@given(points_in_and_around_the_sample)
def test_locate_agrees_with_brute_force(point: tuple[float, float]) -> None:
    expected = brute_force(*point)
    location = INDEX.locate(*point)
    assert (location.grid_id, location.inside) == (expected.grid_id, expected.inside)
    assert location.distance_m == pytest.approx(expected.distance_m, abs=1e-6)


# Overlaps


def test_overlapping_grids_are_refused_naming_both_and_the_area() -> None:
    grids = metre_squares((0.0, 0.0), (50.0, 0.0))  # overlap: 50 m x 100 m
    with pytest.raises(GridLoadError) as raised:
        GridIndex(grids)
    message = str(raised.value)
    assert "grids 'S0' and 'S1' overlap by " in message
    overlap_m2 = float(message.split("overlap by ")[1].split(" m²")[0])
    assert overlap_m2 == pytest.approx(5000.0, rel=0.001)


def test_overlap_within_tolerance_is_accepted() -> None:
    grids = metre_squares((0.0, 0.0), (99.95, 0.0))  # overlap: 0.05 m x 100 m = 5 m²
    index = GridIndex(grids)
    assert index.neighbours("S0") == {"S1"}
    with pytest.raises(GridLoadError, match=r"overlap by 5\.0 m²"):
        GridIndex(grids, overlap_tolerance_m2=4.0)


def test_index_without_grids_or_with_duplicate_ids_is_refused() -> None:
    with pytest.raises(GridLoadError, match="no grids"):
        GridIndex([])
    square = metre_squares((0.0, 0.0))[0]
    with pytest.raises(GridLoadError, match="duplicate grid id 'S0'"):
        GridIndex([square, square])


# Neighbours


def test_sample_neighbours_are_symmetric_and_nobody_is_alone() -> None:
    for grid_id in INDEX.grid_ids:
        neighbours = INDEX.neighbours(grid_id)
        assert neighbours, grid_id
        assert grid_id not in neighbours
        for other in neighbours:
            assert grid_id in INDEX.neighbours(other)


def test_sample_neighbours_are_the_grids_that_touch() -> None:
    for i, grid_id in enumerate(INDEX.grid_ids):
        touching = {
            other
            for other, shape in zip(INDEX.grid_ids, SHAPES_XY, strict=True)
            if other != grid_id and shape.intersects(SHAPES_XY[i])
        }
        assert INDEX.neighbours(grid_id) == touching


def test_corner_contact_and_a_sub_metre_gap_count_as_neighbours_but_five_metres_does_not() -> None:
    index = GridIndex(metre_squares((0.0, 0.0), (100.0, 100.0), (200.5, 100.0), (306.0, 100.0)))
    assert index.neighbours("S0") == {"S1"}  # corner only
    assert index.neighbours("S1") == {"S0", "S2"}  # 0.5 m apart
    assert index.neighbours("S2") == {"S1"}  # S3 is 5.5 m away
    assert index.neighbours("S3") == frozenset()


# GeoJSON for GET /api/grids


def test_feature_collection_carries_ids_names_neighbours_and_area() -> None:
    collection = INDEX.feature_collection()
    json.dumps(collection, ensure_ascii=False)  # serialisable as is
    assert collection["type"] == "FeatureCollection"
    features = collection["features"]
    assert [f["id"] for f in features] == INDEX.grid_ids
    for feature, sample_grid in zip(features, SAMPLE_GRIDS, strict=True):
        properties = feature["properties"]
        assert properties["grid_id"] == sample_grid.grid_id
        assert properties["name_zh"] == sample_grid.name_zh
        assert properties["name_en"] == sample_grid.name_en
        assert properties["kind"] == sample_grid.kind
        assert properties["neighbours"] == sorted(INDEX.neighbours(sample_grid.grid_id))
        assert properties["area_m2"] == round(INDEX.area_m2(sample_grid.grid_id), 1)
        assert feature["geometry"] == sample_grid.feature["geometry"]


def test_feature_collection_sets_id_from_fallback_and_is_a_fresh_copy() -> None:
    [square] = metre_squares((0.0, 0.0))
    feature = {**square.feature, "properties": {"name": "S0", "colour": "red"}}
    del feature["id"]
    index = GridIndex(
        [Grid("S0", None, None, None, feature["properties"], square.geometry, feature)]
    )
    first = index.feature_collection()
    [served] = first["features"]
    assert served["id"] == "S0"
    assert served["properties"]["colour"] == "red"
    served["properties"]["colour"] = "blue"
    served["geometry"]["coordinates"][0][0] = (0, 0)
    assert index.feature_collection() != first
    assert "id" not in feature
