"""The upload check (decision 45): every fault of every feature, each with its code."""

from __future__ import annotations

from typing import Any

import pytest

from dispatch_server.geo.check import check_collection
from dispatch_server.geo.grids import check_feature, check_features
from tests.dispatch_server.geo.test_grids import feature, square

TOLERANCE_M2 = 10.0


def codes(checked: Any) -> list[str]:
    return [f.code for f in checked.errors]


def collection(*features: Any) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}


def test_a_sound_feature_has_no_fault_and_a_grid() -> None:
    checked = check_feature(0, feature("G1", square(), name_zh="一", name_en="One"))
    assert checked.errors == ()
    assert checked.grid is not None and checked.grid.grid_id == "G1"
    assert (checked.grid_id, checked.name_zh, checked.name_en) == ("G1", "一", "One")
    assert checked.geometry == square()


@pytest.mark.parametrize("thing", [square(), [1, 2], "G1", None, {"type": "feature"}])
def test_not_a_feature_is_its_only_fault(thing: Any) -> None:
    checked = check_feature(3, thing)
    assert codes(checked) == ["not_feature"]
    assert (checked.index, checked.grid_id, checked.geometry, checked.grid) == (3, None, None, None)


def test_every_fault_of_one_feature_is_reported_not_only_the_first() -> None:
    odd = feature({"n": 1}, {"type": "Point", "coordinates": [113.0, 28.0]})
    odd["properties"] = ["not", "an", "object"]
    checked = check_feature(0, odd)
    assert codes(checked) == ["bad_properties", "bad_id", "bad_geometry_type"]
    assert checked.errors[1].params == {"source": "id"}
    assert checked.errors[2].params == {"found": "Point"}
    assert checked.grid is None and checked.geometry is None


def test_no_id_and_no_geometry() -> None:
    bare = feature(None, None, kind="park")
    bare["geometry"] = None
    checked = check_feature(0, bare)
    assert codes(checked) == ["no_id", "no_geometry"]
    assert "no usable id" in checked.errors[0].message


def test_every_broken_ring_and_position_is_named() -> None:
    shell = square()["coordinates"][0]
    open_hole = [[113.0402, 28.1302], [113.0404, 28.1302], [113.0404, 28.1304], [113.0403, 28.1303]]
    short = [[113.0405, 28.1305], [113.0406, 28.1305], [113.0405, 28.1305]]
    bad = [[113.0402, 28.1307], ["x", 28.1], [113.0403, 95.0], [113.0402, 28.1307]]
    geometry = {"type": "Polygon", "coordinates": [shell, open_hole, short, bad]}
    checked = check_feature(0, feature("G1", geometry))
    assert codes(checked) == ["invalid_ring", "invalid_ring", "bad_position", "bad_position"]
    assert [e.params["ring"] for e in checked.errors] == ["hole 1", "hole 2", "hole 3", "hole 3"]
    assert "is not closed" in checked.errors[0].message
    assert "has 3 positions, needs at least 4" in checked.errors[1].message
    # What the admin page words in zh and en.
    assert [e.params["problem"] for e in checked.errors[:2]] == ["not_closed", "too_few"]
    assert checked.errors[2].params["position"] == ["x", 28.1]
    assert "outside the WGS84 range" in checked.errors[3].message
    # Bad positions cannot be drawn; the rest of the feature is still reported by id.
    assert checked.geometry is None and checked.grid_id == "G1"


def test_a_ring_that_is_only_unclosed_can_still_be_drawn() -> None:
    geometry = square()
    geometry["coordinates"][0].pop()
    checked = check_feature(0, feature("G1", geometry))
    assert codes(checked) == ["invalid_ring"]
    assert checked.geometry == geometry


def test_invalid_geometry_carries_the_reason() -> None:
    bow_tie = [[113.04, 28.13], [113.05, 28.14], [113.05, 28.13], [113.04, 28.14], [113.04, 28.13]]
    checked = check_feature(0, feature("G5", {"type": "Polygon", "coordinates": [bow_tie]}))
    assert codes(checked) == ["invalid_geometry"]
    assert checked.errors[0].params["reason"].startswith("Self-intersection")
    assert checked.geometry is not None  # drawn, so the page can show where


def test_multipolygon_without_polygons_is_an_invalid_ring() -> None:
    checked = check_feature(0, feature("M", {"type": "MultiPolygon", "coordinates": []}))
    assert codes(checked) == ["invalid_ring"]
    assert "MultiPolygon has no polygons" in checked.errors[0].message


def test_bad_positions_are_capped_per_feature() -> None:
    ring = [[200.0 + n, 28.0] for n in range(60)]
    checked = check_feature(0, feature("G1", {"type": "Polygon", "coordinates": [ring]}))
    assert codes(checked) == ["bad_position"] * 20


def test_duplicate_ids_are_faults_of_the_later_features_naming_the_first() -> None:
    checks = check_features(
        [
            feature("A", square(113.00)),
            feature("B", square(113.01)),
            feature(None, square(113.02), name="A"),
            feature("A", square(113.03)),
        ]
    )
    assert [codes(c) for c in checks] == [[], [], ["duplicate_id"], ["duplicate_id"]]
    assert [c.errors[0].params for c in checks[2:]] == [{"other_index": 0}, {"other_index": 0}]
    assert checks[2].grid is None  # never applied


def test_several_broken_features_are_all_reported_on_their_own() -> None:
    no_geometry = feature("C")
    no_geometry["geometry"] = None
    checked = check_collection(
        collection(
            feature("A", square(113.00)),
            "not a feature",
            no_geometry,
            feature(True, square(113.03)),
        ),
        TOLERANCE_M2,
    )
    assert not checked.ok and checked.file_errors == []
    found = [codes(f) for f in checked.features]
    assert found == [[], ["not_feature"], ["no_geometry"], ["bad_id"]]
    assert [g.grid_id for g in checked.grids] == ["A"]


def test_overlaps_are_faults_of_both_features_with_the_area() -> None:
    checked = check_collection(
        collection(
            feature("A", square(113.0400, 28.13)),
            feature("B", square(113.0405, 28.13)),  # half of A: about 49 m x 111 m
            feature("C", square(113.0500, 28.13)),
        ),
        TOLERANCE_M2,
    )
    a, b, c = checked.features
    assert codes(a) == ["overlap"] and codes(b) == ["overlap"] and codes(c) == []
    assert a.errors[0].params["other_grid_id"] == "B" and a.errors[0].params["other_index"] == 1
    assert b.errors[0].params["other_grid_id"] == "A" and b.errors[0].params["other_index"] == 0
    area = a.errors[0].params["area_m2"]
    assert area == b.errors[0].params["area_m2"]
    assert 4500 < area < 6000, area
    assert not checked.ok


def test_overlap_within_the_tolerance_is_no_fault() -> None:
    touching = collection(feature("A", square(113.04)), feature("B", square(113.041)))
    assert check_collection(touching, TOLERANCE_M2).ok


@pytest.mark.parametrize(
    ("document", "code"),
    [
        ({"type": "Feature", "geometry": square()}, "not_feature_collection"),
        ({"features": []}, "not_feature_collection"),
        ({"type": "FeatureCollection"}, "no_features"),
        ({"type": "FeatureCollection", "features": []}, "no_features"),
        ({"type": "FeatureCollection", "features": {"A": 1}}, "no_features"),
    ],
)
def test_file_errors(document: Any, code: str) -> None:
    checked = check_collection(document, TOLERANCE_M2)
    assert [f.code for f in checked.file_errors] == [code]
    assert checked.features == [] and not checked.ok


def test_a_map_centred_near_a_pole_is_a_file_error_not_a_crash() -> None:
    polar = collection(feature("P", square(10.0, 89.5, 0.1)))
    checked = check_collection(polar, TOLERANCE_M2)
    assert [f.code for f in checked.file_errors] == ["not_projectable"]


def test_as_json_puts_params_beside_code_and_message() -> None:
    [_, later] = check_features([feature("A", square(113.0)), feature("A", square(113.01))])
    assert later.as_json()["errors"] == [
        {"code": "duplicate_id", "message": later.errors[0].message, "other_index": 0}
    ]
    assert later.as_json()["grid_id"] == "A" and later.as_json()["index"] == 1
