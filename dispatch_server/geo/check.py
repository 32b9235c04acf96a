"""Checking a whole grid upload: every feature, every fault, overlaps included.

Decision 45: the admin page shows an upload's faults before anything is applied, all of
them at once, on the feature they belong to. The per-feature checks are the ones a grid
file meets at start (geo/grids.py); overlaps are measured as the spatial index would
(geo/index.py), and reported on both features.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dispatch_server.geo.grids import (
    Fault,
    FeatureCheck,
    Grid,
    check_features,
    collection_faults,
)
from dispatch_server.geo.index import find_overlaps


@dataclass(frozen=True)
class CollectionCheck:
    """A FeatureCollection checked: faults of the whole, and each feature's own."""

    file_errors: list[Fault]
    features: list[FeatureCheck]

    @property
    def ok(self) -> bool:
        return not self.file_errors and all(not f.errors for f in self.features)

    @property
    def grids(self) -> list[Grid]:
        """The grids, in order, when every feature is sound (else those that are)."""
        return [f.grid for f in self.features if f.grid is not None and not f.errors]


def check_collection(document: Any, overlap_tolerance_m2: float) -> CollectionCheck:
    """Every fault of the document; nothing raised, nothing stopped at the first."""
    faults = collection_faults(document)
    if faults:
        return CollectionCheck(faults, [])
    features = check_features(document["features"])
    sound = [n for n, f in enumerate(features) if f.grid is not None]
    grids = [f.grid for f in features if f.grid is not None]
    try:
        pairs = find_overlaps(grids, overlap_tolerance_m2)
    except ValueError as err:  # a projection centred too near a pole
        return CollectionCheck([Fault("not_projectable", str(err))], features)
    for a, b, area in pairs:
        i, j = sound[a], sound[b]
        features[i] = features[i].with_error(_overlap(features[j], area, overlap_tolerance_m2))
        features[j] = features[j].with_error(_overlap(features[i], area, overlap_tolerance_m2))
    return CollectionCheck([], features)


def _overlap(other: FeatureCheck, area_m2: float, tolerance_m2: float) -> Fault:
    message = (
        f"overlaps grid {other.grid_id!r} (features[{other.index}]) by {area_m2:.1f} m² "
        f"(tolerance {tolerance_m2:g} m²)"
    )
    params = {
        "other_grid_id": other.grid_id,
        "other_index": other.index,
        "area_m2": round(area_m2, 1),
    }
    return Fault("overlap", message, params)
