"""How incidents and events look on the wire, to the reporter's and responders' handhelds, and
in the spreadsheet export. Pure: incidents are folded from hand-made events."""

from __future__ import annotations

import csv
import io
from typing import Any

from dispatch_server.domain.events import Event, EventType
from dispatch_server.domain.incidents import Incident, fold_all
from dispatch_server.geo.grids import load_grids
from dispatch_server.geo.index import GridIndex
from dispatch_server.services import export, frames, views
from dispatch_server.settings import SAMPLE_GRIDS

AT = 1_790_000_000.0
NAMES = {7: "Li", 8: "Wang", 9: "Chen"}


def _event(seq: int, kind: EventType, actor: str = "dispatcher:1", **data: Any) -> Event:
    return Event(seq, kind, AT + seq, actor, 1, data)


def _incident(*more: Event) -> Incident:
    opened = _event(
        1,
        EventType.INCIDENT_OPENED,
        "member:7",
        alert_id="00000000-0000-4000-8000-000000000001",
        grid_id="G03",
        lon=113.04,
        lat=28.13,
        inside_grid=True,
        point_source="alert_fix",
        category="theft",
        reporter_id=7,
        note="bike",
        responders=[{"member_id": 8, "distance_m": 120.5}],
    )
    return fold_all([opened, *more])


def _dispatched_and_replied() -> Incident:
    return _incident(
        _event(2, EventType.RESPONDERS_DISPATCHED, member_ids=[8, 9]),
        _event(3, EventType.ASSIGNMENT_REPLIED, "member:8", member_id=8, accept=True),
        _event(4, EventType.ASSIGNMENT_REPLIED, "member:9", member_id=9, accept=False),
    )


def test_an_event_on_the_wire() -> None:
    note = _event(5, EventType.NOTE_ADDED, text="on my way")
    assert views.event_view(note) == {
        "type": "note_added",
        "seq": 5,
        "at": "2026-09-21T14:13:25.000Z",
        "incident_id": 1,
        "actor": "dispatcher:1",
        "text": "on my way",
    }
    shift = Event(6, EventType.SHIFT_STARTED, AT, "member:7", None, {"member_id": 7})
    assert "incident_id" not in views.event_view(shift)


def test_the_incident_view_carries_its_state_and_history() -> None:
    view = views.incident_view(_dispatched_and_replied())
    assert view["status"] == "responding" and view["acknowledged_by"] == "dispatcher:1"
    assert view["opened_at"] == "2026-09-21T14:13:21.000Z" and view["resolved_at"] is None
    assert [(a["member_id"], a["reply"]) for a in view["assignments"]] == [
        (8, "accepted"),
        (9, "declined"),
    ]
    assert view["assignments"][0]["replied_at"] == "2026-09-21T14:13:23.000Z"
    assert view["last_seq"] == 4


def test_the_reporter_sees_who_is_coming_and_how_it_ended() -> None:
    frame = frames.alert_update_frame(_dispatched_and_replied(), NAMES.__getitem__).wire()
    assert frame["coming"] == [{"member_id": 8, "name": "Wang"}], "not who declined"
    assert frame["acknowledged"] and "disposition" not in frame
    done = _incident(_event(2, EventType.INCIDENT_RESOLVED, disposition="false_alarm"))
    frame = frames.alert_update_frame(done, NAMES.__getitem__).wire()
    assert frame["status"] == "resolved" and frame["disposition"] == "false_alarm"


def test_a_responder_sees_where_and_how_far() -> None:
    inc = _dispatched_and_replied()
    ranked = frames.assignment_frame(inc, 8).wire()
    assert ranked["distance_m"] == 120.5 and ranked["note"] == "bike"
    assert frames.assignment_frame(inc, 9).wire()["distance_m"] is None, "not in the ranked list"


def test_the_export_reads_on_its_own_in_excel() -> None:
    grids = GridIndex(load_grids(SAMPLE_GRIDS))
    inc = _dispatched_and_replied()
    row = export.incident_row(views.incident_view(inc), NAMES.__getitem__, grids)
    assert row["reporter_name"] == "Li" and row["grid_name_zh"] == grids.grids["G03"].name_zh
    assert (row["dispatched"], row["accepted"]) == ("8 9", "8")
    text = export.csv_text([row], export.INCIDENT_COLUMNS)
    assert text.startswith("\ufeff"), "a BOM, or Excel shows the names as mojibake"
    [back] = list(csv.DictReader(io.StringIO(text[1:])))
    assert list(back) == export.INCIDENT_COLUMNS and back["reporter_name"] == "Li"
