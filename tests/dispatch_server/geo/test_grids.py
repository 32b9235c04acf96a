"""load_grids: the sample community, the id rule, and every refusal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dispatch_server.geo.grids import Grid, GridLoadError, load_grids

SAMPLE = Path(__file__).parents[3] / "grids" / "changsha_sample.geojson"
KINDS = {
    "kindergarten",
    "residential_compound",
    "hotel_block",
    "shopping_street",
    "market",
    "clinic",
    "park",
    "old_lanes",
    "school",
    "office",
}


def square(lon: float = 113.04, lat: float = 28.13, size: float = 0.001) -> dict[str, Any]:
    """A counter-clockwise GeoJSON Polygon with its south-west corner at (lon, lat)."""
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


def feature(feature_id: Any = None, geometry: Any = None, /, **properties: Any) -> dict[str, Any]:
    """A Feature with `id` only when feature_id is given, so the fallbacks can be tested."""
    result: dict[str, Any] = {"type": "Feature", "properties": properties}
    result["geometry"] = square() if geometry is None else geometry
    if feature_id is not None:
        result["id"] = feature_id
    return result


def write(folder: Path, features: list[Any], name: str = "grids.geojson") -> Path:
    path = folder / name
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def refusal(path: Path) -> str:
    with pytest.raises(GridLoadError) as raised:
        load_grids(path)
    return str(raised.value)


# The sample community


def test_sample_loads_ten_named_grids_in_file_order() -> None:
    grids = load_grids(SAMPLE)
    assert [g.grid_id for g in grids] == [f"G{n:02d}" for n in range(1, 11)]
    for grid in grids:
        assert grid.name_zh and grid.name_en
        assert grid.kind in KINDS
        assert grid.properties["grid_id"] == grid.grid_id
        assert grid.feature["id"] == grid.grid_id
        assert grid.geometry.is_valid and not grid.geometry.has_z
    assert grids[0].name_zh == "芙蓉幼儿园片区"
    assert grids[0].name_en == "Furong Kindergarten Block"
    assert {g.geometry.geom_type for g in grids} == {"Polygon", "MultiPolygon"}


def test_sample_rings_are_closed_and_counter_clockwise() -> None:
    for grid in load_grids(SAMPLE):
        polygons = getattr(grid.geometry, "geoms", [grid.geometry])
        for polygon in polygons:
            assert polygon.exterior.is_ccw
            assert polygon.exterior.coords[0] == polygon.exterior.coords[-1]


# The id rule: the feature's id, else properties.grid_id, else properties.name


def test_id_comes_from_id_then_grid_id_then_name(tmp_path: Path) -> None:
    grids = load_grids(
        write(
            tmp_path,
            [
                feature("A", square(113.00), grid_id="not-this", name="nor-this"),
                feature(None, square(113.01), grid_id="B", name="not-this"),
                feature(None, square(113.02), name="C"),
                feature("", square(113.03), grid_id="D"),  # a blank id is no id
                feature(7, square(113.04)),  # RFC 7946: an id may be a number
            ],
        )
    )
    assert [g.grid_id for g in grids] == ["A", "B", "C", "D", "7"]


def test_names_and_kind_are_optional_and_null_properties_are_allowed(tmp_path: Path) -> None:
    plain = feature("A")
    plain["properties"] = None
    [grid] = load_grids(write(tmp_path, [plain]))
    assert grid == Grid("A", None, None, None, {}, grid.geometry, plain)


def test_third_coordinate_is_dropped(tmp_path: Path) -> None:
    geometry = square()
    geometry["coordinates"][0] = [[*p, 42.0] for p in geometry["coordinates"][0]]
    [grid] = load_grids(write(tmp_path, [feature("A", geometry)]))
    assert not grid.geometry.has_z
    assert grid.geometry.area == pytest.approx(1e-6)


# Folders


def test_folder_loads_every_grid_file_in_name_order(tmp_path: Path) -> None:
    write(tmp_path, [feature("B1", square(113.01))], name="b.json")
    write(tmp_path, [feature("A1", square(113.00)), feature("A2", square(113.02))], "a.geojson")
    (tmp_path / "README.md").write_text("not a grid file")
    assert [g.grid_id for g in load_grids(tmp_path)] == ["A1", "A2", "B1"]


def test_duplicate_id_across_files_is_refused_naming_both(tmp_path: Path) -> None:
    write(tmp_path, [feature("G1", square(113.00))], name="a.geojson")
    write(tmp_path, [feature("G2", square(113.01)), feature("G1", square(113.02))], "b.geojson")
    message = refusal(tmp_path)
    assert "b.geojson: feature 'G1' (features[1])" in message
    assert "already used by" in message
    assert "a.geojson: feature 'G1' (features[0])" in message


def test_duplicate_id_in_one_file_is_refused(tmp_path: Path) -> None:
    message = refusal(write(tmp_path, [feature("X", square(113.0)), feature(None, name="X")]))
    assert "feature 'X' (features[1]): duplicate grid id 'X'" in message
    assert "features[0]" in message


def test_empty_folder_is_refused(tmp_path: Path) -> None:
    assert "no .geojson or .json files" in refusal(tmp_path)


def test_missing_path_is_refused(tmp_path: Path) -> None:
    assert "no such file or folder" in refusal(tmp_path / "nowhere.geojson")


# Whole-file refusals name the file


def test_unreadable_json_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "broken.geojson"
    path.write_text('{"type": "FeatureCollection", "features": [')
    message = refusal(path)
    assert str(path) in message
    assert "not valid JSON" in message


@pytest.mark.parametrize(
    "document",
    [{"type": "Feature", "geometry": square(), "properties": {}}, [1, 2], {"features": []}],
)
def test_not_a_feature_collection_is_refused(tmp_path: Path, document: Any) -> None:
    path = tmp_path / "grids.geojson"
    path.write_text(json.dumps(document))
    message = refusal(path)
    assert str(path) in message
    assert "not a GeoJSON FeatureCollection" in message


def test_collection_without_features_list_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "grids.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": {"G1": square()}}))
    assert refusal(path) == f"{path}: FeatureCollection has no 'features' list"


def test_empty_collection_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, [])
    assert refusal(path) == f"{path}: FeatureCollection has no features"


def test_a_later_broken_file_refuses_the_whole_folder(tmp_path: Path) -> None:
    write(tmp_path, [feature("A", square())], name="a.geojson")
    (tmp_path / "b.geojson").write_text("not json")
    assert "b.geojson: not valid JSON" in refusal(tmp_path)


# Feature refusals name the file, the feature (id, else index) and the fault


def test_feature_without_geometry_is_refused(tmp_path: Path) -> None:
    bare = feature("G7")
    bare["geometry"] = None
    path = write(tmp_path, [feature("G6", square(113.0)), bare])
    assert refusal(path) == f"{path}: feature 'G7' (features[1]): has no geometry"


@pytest.mark.parametrize(
    ("geometry", "kind"),
    [
        ({"type": "Point", "coordinates": [113.04, 28.13]}, "'Point'"),
        ({"type": "LineString", "coordinates": [[113.04, 28.13], [113.05, 28.13]]}, "'LineString'"),
        ([[113.04, 28.13]], "'list'"),
    ],
)
def test_geometry_that_is_not_an_area_is_refused(tmp_path: Path, geometry: Any, kind: str) -> None:
    message = refusal(write(tmp_path, [feature("G3", geometry)]))
    assert f"feature 'G3' (features[0]): geometry type {kind} is not Polygon or MultiPolygon" in (
        message
    )


def test_feature_without_usable_id_is_refused_by_index(tmp_path: Path) -> None:
    path = write(tmp_path, [feature("A", square(113.0)), feature(None, kind="park")])
    message = refusal(path)
    assert message.startswith(f"{path}: features[1]: no usable id")


def test_id_of_the_wrong_type_is_refused(tmp_path: Path) -> None:
    message = refusal(write(tmp_path, [feature({"n": 1})]))
    assert "features[0]: id {'n': 1} is not a string or a number" in message


def test_properties_that_are_not_an_object_are_refused(tmp_path: Path) -> None:
    odd = feature("A")
    odd["properties"] = ["G1"]
    # The id still comes from the feature's own `id`, so the message names it.
    message = refusal(write(tmp_path, [odd]))
    assert "feature 'A' (features[0]): 'properties' is not an object" in message


def test_not_a_feature_is_refused(tmp_path: Path) -> None:
    assert "features[0]: not a GeoJSON Feature" in refusal(write(tmp_path, [square()]))


def test_unclosed_ring_is_refused(tmp_path: Path) -> None:
    geometry = square()
    geometry["coordinates"][0].pop()
    message = refusal(write(tmp_path, [feature("G2", geometry)]))
    assert "feature 'G2' (features[0]): invalid ring: exterior ring is not closed" in message


def test_ring_with_too_few_positions_is_refused(tmp_path: Path) -> None:
    triangle = [[113.04, 28.13], [113.05, 28.13], [113.04, 28.13]]
    geometry = {"type": "Polygon", "coordinates": [square()["coordinates"][0], triangle]}
    message = refusal(write(tmp_path, [feature("G2", geometry)]))
    assert "invalid ring: hole 1 has 3 positions, needs at least 4" in message


def test_position_that_is_not_numbers_is_refused(tmp_path: Path) -> None:
    geometry = square()
    geometry["coordinates"][0][1] = ["113.05", "28.13"]
    message = refusal(write(tmp_path, [feature("G2", geometry)]))
    assert "exterior ring has position ['113.05', '28.13'], not [lon, lat]" in message


def test_self_intersecting_ring_is_refused_with_the_place(tmp_path: Path) -> None:
    bow_tie = [[113.04, 28.13], [113.05, 28.14], [113.05, 28.13], [113.04, 28.14], [113.04, 28.13]]
    path = write(tmp_path, [feature("G5", {"type": "Polygon", "coordinates": [bow_tie]})])
    message = refusal(path)
    assert message.startswith(f"{path}: feature 'G5' (features[0]): invalid geometry: ")
    assert "Self-intersection[113.045 28.135]" in message


def test_invalid_part_of_multipolygon_is_refused(tmp_path: Path) -> None:
    open_ring = square(113.06)["coordinates"][0][:-1]
    geometry = {"type": "MultiPolygon", "coordinates": [square()["coordinates"], [open_ring]]}
    message = refusal(write(tmp_path, [feature("M", geometry)]))
    assert "feature 'M' (features[0]): invalid ring: exterior ring of polygon 1 is not closed" in (
        message
    )


def test_overlapping_parts_of_multipolygon_are_refused(tmp_path: Path) -> None:
    parts = [square()["coordinates"], square(113.0405, 28.1305)["coordinates"]]
    message = refusal(
        write(tmp_path, [feature("M", {"type": "MultiPolygon", "coordinates": parts})])
    )
    assert "feature 'M' (features[0]): invalid geometry: Self-intersection" in message


@pytest.mark.parametrize(
    ("corner", "fault"),
    [
        ((200.0, 28.13), "coordinate [200.0, 28.13] in exterior ring is outside the WGS84 range"),
        ((113.04, -95.0), "coordinate [113.04, -95.0] in exterior ring is outside the WGS84 range"),
        ((28.13, 113.04), "(latitude and longitude swapped?)"),
    ],
)
def test_coordinates_out_of_range_are_refused(
    tmp_path: Path, corner: tuple[float, float], fault: str
) -> None:
    message = refusal(write(tmp_path, [feature("G9", square(*corner))]))
    assert "feature 'G9' (features[0]): " in message
    assert fault in message
