"""Geometry: projection to metres, grid loading and the spatial index."""

from dispatch_server.geo.grids import Grid, GridLoadError, load_grids
from dispatch_server.geo.index import GridIndex, Location
from dispatch_server.geo.projection import LocalProjection

__all__ = ["Grid", "GridIndex", "GridLoadError", "LocalProjection", "Location", "load_grids"]
