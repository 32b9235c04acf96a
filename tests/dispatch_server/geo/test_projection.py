"""LocalProjection against geographiclib, the reference geodesic solver."""

from __future__ import annotations

import math

import pytest
import shapely
from geographiclib.geodesic import Geodesic
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch_server.geo.projection import LocalProjection

# The sample community's centre (grids/changsha_sample.geojson).
LON0, LAT0 = 113.0405, 28.1312
GEOD = Geodesic.WGS84


def _half_width_deg(metres: float) -> tuple[float, float]:
    """Degrees of longitude and latitude `metres` east and north of the centre."""
    east = GEOD.Direct(LAT0, LON0, 90.0, metres)
    north = GEOD.Direct(LAT0, LON0, 0.0, metres)
    return east["lon2"] - LON0, north["lat2"] - LAT0


def _points_within(metres: float) -> st.SearchStrategy[tuple[float, float]]:
    dlon, dlat = _half_width_deg(metres)
    return st.tuples(
        st.floats(LON0 - dlon, LON0 + dlon),
        st.floats(LAT0 - dlat, LAT0 + dlat),
    )


def _geodesic_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    return float(GEOD.Inverse(a[1], a[0], b[1], b[0])["s12"])


PROJECTION = LocalProjection(LON0, LAT0)


@settings(max_examples=500)
@given(_points_within(25_000), _points_within(25_000))
def test_distance_within_half_percent_of_geodesic_in_50_km_square(
    a: tuple[float, float], b: tuple[float, float]
) -> None:
    expected = _geodesic_m(a, b)
    measured = PROJECTION.distance_m(*a, *b)
    allowed = 0.005 * expected if expected > 10.0 else 0.05
    assert abs(measured - expected) <= allowed


@settings(max_examples=300)
@given(_points_within(1_500), _points_within(1_500))
def test_distance_inside_community_is_within_a_few_centimetres(
    a: tuple[float, float], b: tuple[float, float]
) -> None:
    # Tight enough to catch a spherical earth (0.3% off at this latitude).
    expected = _geodesic_m(a, b)
    assert abs(PROJECTION.distance_m(*a, *b) - expected) <= 0.0003 * expected + 0.01


def test_axes_point_east_and_north() -> None:
    east = GEOD.Direct(LAT0, LON0, 90.0, 1000.0)
    north = GEOD.Direct(LAT0, LON0, 0.0, 1000.0)
    x, y = PROJECTION.to_xy(east["lon2"], east["lat2"])
    assert x == pytest.approx(1000.0, abs=0.5)
    assert y == pytest.approx(0.0, abs=0.5)
    x, y = PROJECTION.to_xy(north["lon2"], north["lat2"])
    assert x == pytest.approx(0.0, abs=1e-9)
    assert y == pytest.approx(1000.0, abs=0.5)
    assert PROJECTION.to_xy(LON0, LAT0) == (0.0, 0.0)


@given(_points_within(25_000))
def test_lonlat_round_trip(point: tuple[float, float]) -> None:
    lon, lat = PROJECTION.to_lonlat(*PROJECTION.to_xy(*point))
    assert lon == pytest.approx(point[0], abs=1e-10)
    assert lat == pytest.approx(point[1], abs=1e-10)


@given(st.floats(-25_000, 25_000), st.floats(-25_000, 25_000))
def test_xy_round_trip(x: float, y: float) -> None:
    back = PROJECTION.to_xy(*PROJECTION.to_lonlat(x, y))
    assert back[0] == pytest.approx(x, abs=1e-6)
    assert back[1] == pytest.approx(y, abs=1e-6)


def test_geometry_to_xy_projects_every_vertex_and_drops_z() -> None:
    ring = [(113.04, 28.13, 5.0), (113.05, 28.13, 5.0), (113.05, 28.14, 5.0), (113.04, 28.13, 5.0)]
    projected = PROJECTION.geometry_to_xy(shapely.Polygon(ring))
    assert not projected.has_z
    expected = [PROJECTION.to_xy(lon, lat) for lon, lat, _ in ring]
    assert [tuple(c) for c in shapely.get_coordinates(projected)] == expected


def test_geometry_area_matches_geodesic_area() -> None:
    dlon, dlat = _half_width_deg(500)
    square = shapely.box(LON0 - dlon, LAT0 - dlat, LON0 + dlon, LAT0 + dlat)
    polygon = GEOD.Polygon()
    for lon, lat in list(square.exterior.coords)[:-1]:
        polygon.AddPoint(lat, lon)
    _, _, geodesic_area = polygon.Compute(reverse=False, sign=False)
    projected_area = PROJECTION.geometry_to_xy(square).area
    assert math.isclose(projected_area, geodesic_area, rel_tol=1e-4)


@pytest.mark.parametrize(("lon0", "lat0"), [(181.0, 28.0), (113.0, 90.0), (math.nan, 28.0)])
def test_unusable_centre_is_refused(lon0: float, lat0: float) -> None:
    with pytest.raises(ValueError, match="projection centre"):
        LocalProjection(lon0, lat0)
