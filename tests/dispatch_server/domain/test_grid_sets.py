"""What an upload changes, what stands in the way, and the report (decision 45)."""

from __future__ import annotations

from typing import Any

from dispatch_server.domain.grid_sets import Current, canonical_sha256, diff, report
from dispatch_server.geo.check import check_collection
from tests.dispatch_server.geo.test_grids import feature, square


def collection(*features: Any) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}


A = feature("A", square(113.00), name_zh="甲", name_en="A block")
B = feature("B", square(113.01))
C = feature("C", square(113.02))
NOW = {
    "A": Current(A, "甲", "A block"),
    "B": Current(B, None, None),
    "C": Current(C, "丙", "C block"),
}


def test_added_changed_unchanged_removed() -> None:
    renamed = feature("B", square(113.01), name_en="B block")
    checked = check_collection(collection(A, renamed, feature("D", square(113.03))), 10.0)
    changes = diff(NOW, checked)
    assert (changes.added, changes.changed, changes.unchanged, changes.removed) == (
        ["D"],
        ["B"],
        ["A"],
        ["C"],
    )
    assert not changes.empty


def test_the_same_grids_in_another_order_change_nothing() -> None:
    assert diff(NOW, check_collection(collection(C, A, B), 10.0)).empty


def test_a_broken_feature_with_a_known_id_counts_as_changed_not_removed() -> None:
    broken = feature("B", {"type": "Point", "coordinates": [113.0, 28.0]})
    changes = diff(NOW, check_collection(collection(A, broken, C), 10.0))
    assert changes.changed == ["B"] and changes.removed == []


def test_report_is_ok_only_without_faults_and_blockers() -> None:
    checked = check_collection(collection(A, B), 10.0)
    changes = diff(NOW, checked)
    free = report(checked, changes, NOW, {"C": {}})
    assert free["ok"] is True
    assert free["removed"] == [
        {"grid_id": "C", "name_zh": "丙", "name_en": "C block", "blockers": []}
    ]
    held = report(checked, changes, NOW, {"C": {"members": [7, 9], "escalation_rules": [2]}})
    assert held["ok"] is False
    [removed] = held["removed"]
    assert [b["code"] for b in removed["blockers"]] == ["members", "escalation_rules"]
    assert removed["blockers"][0]["ids"] == [7, 9]
    assert "7, 9" in removed["blockers"][0]["message"]


def test_report_lists_file_errors_and_features() -> None:
    checked = check_collection({"type": "FeatureCollection", "features": []}, 10.0)
    answer = report(checked, diff(NOW, checked), NOW, {})
    assert answer["ok"] is False
    assert [e["code"] for e in answer["file_errors"]] == ["no_features"]
    assert answer["features"] == []
    assert [r["grid_id"] for r in answer["removed"]] == ["A", "B", "C"]


def test_sha256_is_of_the_canonical_json() -> None:
    one = {"type": "FeatureCollection", "features": [A]}
    other = {"features": [A], "type": "FeatureCollection"}
    assert canonical_sha256(one) == canonical_sha256(other)
    assert canonical_sha256(one) != canonical_sha256({**one, "features": [B]})
    assert len(canonical_sha256(one)) == 64
