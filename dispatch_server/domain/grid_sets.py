"""Applying a grid file to a live server (decision 45): what changes, what stands in the
way, and the report the admin page shows. Pure: the grids in service now and what needs
them come in as plain data.

A grid is removed only when nothing needs it any more: members whose home it is, open
incidents in it, partners covering it, the roster, check-in and escalation rules naming
it. The administrator moves those first; the server never guesses where they should go.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dispatch_server.geo.check import CollectionCheck

# What can need a grid, in the order the report lists it, with the English words for it.
BLOCKER_KINDS: dict[str, str] = {
    "members": "active members belong to it",
    "open_incidents": "unresolved incidents are in it",
    "partners": "active partners cover it",
    "roster": "members are planned there on the roster",
    "check_in_rules": "check-in rules name it",
    "escalation_rules": "escalation rules name it",
}


@dataclass(frozen=True)
class Diff:
    """Grid ids, each in file order (removed: in the order the server has them)."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """Nothing to apply: the upload is the map in service."""
        return not (self.added or self.changed or self.removed)


@dataclass(frozen=True)
class Current:
    """A grid in service now, as the grid table keeps it."""

    feature: Mapping[str, Any]
    name_zh: str | None
    name_en: str | None


def canonical_sha256(document: Any) -> str:
    """The hash of the document's canonical JSON (keys sorted, no spaces, UTF-8): the same
    file uploaded twice, with keys in another order or reindented, hashes the same."""
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def diff(current: Mapping[str, Current], checked: CollectionCheck) -> Diff:
    """Each id in the upload (its first feature with it) as added, changed or unchanged;
    ids in service that the upload lacks as removed. A grid is unchanged when its feature is
    the same JSON as the one in service (geometry, properties and id)."""
    out = Diff()
    seen: set[str] = set()
    for f in checked.features:
        if f.grid_id is None or f.grid_id in seen:
            continue
        seen.add(f.grid_id)
        if f.grid_id not in current:
            out.added.append(f.grid_id)
        elif f.grid is not None and f.grid.feature == current[f.grid_id].feature:
            out.unchanged.append(f.grid_id)
        else:
            out.changed.append(f.grid_id)
    out.removed.extend(g for g in current if g not in seen)
    return out


def blockers(needs: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """What needs one grid (kind -> ids), as the report lists it: kinds with no ids left out."""
    return [
        {
            "code": kind,
            "message": f"{len(needs[kind])} {words}: {', '.join(str(i) for i in needs[kind])}",
            "ids": list(needs[kind]),
        }
        for kind, words in BLOCKER_KINDS.items()
        if needs.get(kind)
    ]


def report(
    checked: CollectionCheck,
    changes: Diff,
    current: Mapping[str, Current],
    needs: Mapping[str, Mapping[str, Sequence[Any]]],
) -> dict[str, Any]:
    """The check's answer (docs/protocol.md, "Grid files"): `ok` only when applying would
    succeed: no fault in the file or any feature, and no removed grid still needed."""
    removed = [
        {
            "grid_id": grid_id,
            "name_zh": current[grid_id].name_zh,
            "name_en": current[grid_id].name_en,
            "blockers": blockers(needs.get(grid_id, {})),
        }
        for grid_id in changes.removed
    ]
    return {
        "ok": checked.ok and not any(r["blockers"] for r in removed),
        "file_errors": [f.as_json() for f in checked.file_errors],
        "features": [f.as_json() for f in checked.features],
        "added": changes.added,
        "changed": changes.changed,
        "unchanged": changes.unchanged,
        "removed": removed,
    }
