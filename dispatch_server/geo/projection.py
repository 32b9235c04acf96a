"""Longitude/latitude to local metres and back.

Dispatch ranks responders by distance and assigns points to grids; both happen
inside one community a few kilometres across. At that scale the earth is flat
enough that a tangent plane at the community's centre gives metres directly,
with two multiplications per point and no projection library.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

# WGS84 ellipsoid (EPSG:4326): semi-major axis and flattening.
WGS84_A = 6_378_137.0
WGS84_F = 1 / 298.257223563
WGS84_E2 = WGS84_F * (2 - WGS84_F)


class LocalProjection:
    """An equirectangular tangent plane centred on (lon0, lat0), in metres.

    x grows east and y grows north, and the centre maps to (0, 0):

        x = N(lat0) * cos(lat0) * (lon - lon0)
        y = M(lat0) * (lat - lat0)            (angles in radians)

    where M and N are the WGS84 meridional and prime-vertical radii of
    curvature at lat0. Using the ellipsoid's radii rather than a mean sphere
    removes the ~0.3% scale error a sphere has at mid latitudes.

    Why this is accurate enough: the only error that grows with size is that
    the east-west scale is frozen at cos(lat0), while the true one is cos(lat).
    A point d metres north or south of the centre therefore has its east-west
    offsets off by a fraction of about tan(lat0) * d / R (R ~ 6,371 km); the
    change of M and N themselves with latitude adds under 2% of that. Distances
    are off by at most that fraction. At Changsha (28.1 N) and d = 25 km, the
    edge of a 50 km x 50 km area, that is 0.21%; across a community 2 km wide
    it is under 0.02%, a few centimetres per hundred metres. The bound exceeds
    0.5% only beyond about 60 km from the centre at this latitude, or for
    25 km at latitudes above about 52 degrees. Not for areas that cross the
    antimeridian or reach the poles.
    """

    def __init__(self, lon0: float, lat0: float) -> None:
        if not (-180.0 <= lon0 <= 180.0 and -89.0 <= lat0 <= 89.0):
            raise ValueError(f"projection centre ({lon0}, {lat0}) is not a usable WGS84 point")
        self.lon0 = lon0
        self.lat0 = lat0
        phi0 = math.radians(lat0)
        w2 = 1.0 - WGS84_E2 * math.sin(phi0) ** 2
        prime_vertical = WGS84_A / math.sqrt(w2)
        meridional = WGS84_A * (1.0 - WGS84_E2) / w2**1.5
        # Metres per degree, so a point costs two subtractions and two products.
        self.metres_per_degree_lon = math.radians(prime_vertical * math.cos(phi0))
        self.metres_per_degree_lat = math.radians(meridional)
        self._origin = np.array([lon0, lat0])
        self._scale = np.array([self.metres_per_degree_lon, self.metres_per_degree_lat])

    def __repr__(self) -> str:
        return f"LocalProjection(lon0={self.lon0!r}, lat0={self.lat0!r})"

    def to_xy(self, lon: float, lat: float) -> tuple[float, float]:
        """Metres east and north of the centre."""
        return (
            (lon - self.lon0) * self.metres_per_degree_lon,
            (lat - self.lat0) * self.metres_per_degree_lat,
        )

    def to_lonlat(self, x: float, y: float) -> tuple[float, float]:
        """The inverse of `to_xy`."""
        return (
            self.lon0 + x / self.metres_per_degree_lon,
            self.lat0 + y / self.metres_per_degree_lat,
        )

    def geometry_to_xy(self, geom: Any) -> Any:
        """A shapely geometry (or array of them) in lon/lat, projected to metres.

        Z values are dropped: grids and positions are two-dimensional.
        """
        return shapely.transform(geom, self._coords_to_xy)

    def distance_m(self, lon1: float, lat1: float, lon2: float, lat2: float) -> float:
        """Metres between two points, within the bound given in the class docstring."""
        x1, y1 = self.to_xy(lon1, lat1)
        x2, y2 = self.to_xy(lon2, lat2)
        return math.hypot(x2 - x1, y2 - y1)

    def _coords_to_xy(self, coords: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        xy: npt.NDArray[np.float64] = (coords - self._origin) * self._scale
        return xy
