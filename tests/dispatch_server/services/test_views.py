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
from dispatch_server.services.names import Names
from dispatch_server.settings import SAMPLE_GRIDS

AT = 1_790_000_000.0
NAMES = {7: "Li", 8: "Wang", 9: "Chen"}
WHO = Names(NAMES, {1: "张阿姨", 2: "Desk Two"}, {4: "锦江酒店保安", 5: "Campus guards"})


def _event(seq: int, kind: EventType, actor: str = "dispatcher:1", **data: Any) -> Event:
    return Event(seq, kind, AT + seq, actor, 1, data)


def _incident(*more: Event) -> Incident:
    return fold_all([_incident_opened(), *more])


def _incident_opened() -> Event:
    return _event(
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


def _dispatched_and_replied_events() -> list[Event]:
    return [
        _event(2, EventType.RESPONDERS_DISPATCHED, member_ids=[8, 9]),
        _event(3, EventType.ASSIGNMENT_REPLIED, "member:8", member_id=8, accept=True),
        _event(4, EventType.ASSIGNMENT_REPLIED, "member:9", member_id=9, accept=False),
    ]


def _dispatched_and_replied() -> Incident:
    return _incident(*_dispatched_and_replied_events())


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
    view = views.incident_view(_dispatched_and_replied(), WHO)
    assert view["status"] == "responding" and view["acknowledged_by"] == "dispatcher:1"
    assert view["acknowledged_by_name"] == "张阿姨" and view["reporter_name"] == "Li"
    assert [a["name"] for a in view["assignments"]] == ["Wang", "Chen"]
    assert view["source"] == "alarm" and view["roll_call_id"] is None
    assert view["opened_at"] == "2026-09-21T14:13:21.000Z" and view["resolved_at"] is None
    assert [(a["member_id"], a["reply"]) for a in view["assignments"]] == [
        (8, "accepted"),
        (9, "declined"),
    ]
    assert view["assignments"][0]["replied_at"] == "2026-09-21T14:13:23.000Z"
    assert view["last_seq"] == 4


def test_the_reporter_sees_who_is_coming_and_how_it_ended() -> None:
    frame = frames.alert_update_frame(_dispatched_and_replied(), NAMES.__getitem__).wire()
    coming = {"member_id": 8, "name": "Wang", "distance_m": None, "arrived": False, "done": False}
    assert frame["coming"] == [coming], "not who declined"
    assert frame["acknowledged"] and "disposition" not in frame
    assert (frame["category"], frame["security"]) == ("theft", "none")
    done = _incident(_event(2, EventType.INCIDENT_RESOLVED, disposition="false_alarm"))
    frame = frames.alert_update_frame(done, NAMES.__getitem__).wire()
    assert frame["status"] == "resolved" and frame["disposition"] == "false_alarm"


def test_the_reporter_sees_how_far_who_arrived_and_who_is_done() -> None:
    more = [
        _event(5, EventType.ASSIGNMENT_REPLIED, "member:9", member_id=9, accept=True),
        _event(6, EventType.RESPONDER_STATUS, "member:8", member_id=8, status="arrived"),
        _event(7, EventType.RESPONDER_STATUS, "member:9", member_id=9, status="done"),
        _event(8, EventType.CATEGORY_CHANGED, "member:7", category="medical", previous="theft"),
    ]
    inc = _incident(*_dispatched_and_replied_events(), *more)
    far = {8: 42.0}
    frame = frames.alert_update_frame(inc, NAMES.__getitem__, far.get).wire()
    assert frame["coming"] == [
        {"member_id": 8, "name": "Wang", "distance_m": 42.0, "arrived": True, "done": False},
        {"member_id": 9, "name": "Chen", "distance_m": None, "arrived": True, "done": True},
    ], "done without arrived first: there all the same"
    assert frame["category"] == "medical"
    view = views.incident_view(inc, WHO)
    assert [(a["arrived_at"], a["done_at"]) for a in view["assignments"]] == [
        ("2026-09-21T14:13:26.000Z", None),
        (None, "2026-09-21T14:13:27.000Z"),
    ]
    assert view["category"] == "medical"


def test_a_responder_sees_where_and_how_far() -> None:
    inc = _dispatched_and_replied()
    ranked = frames.assignment_frame(inc, 8, ("三号网格", "Grid 3"), "Li").wire()
    assert ranked["distance_m"] == 120.5 and ranked["note"] == "bike"
    assert (ranked["grid_name_zh"], ranked["grid_name_en"]) == ("三号网格", "Grid 3")
    assert ranked["reporter_name"] == "Li"
    other = frames.assignment_frame(inc, 9).wire()
    assert other["distance_m"] is None, "not in the ranked list"
    assert other["grid_name_zh"] is None and other["reporter_name"] is None, "sent as null"


def _worked_with_partners() -> list[Event]:
    """Dispatched and answered, escalated to two partners, one acknowledging and writing, a
    note, and resolved by another duty volunteer with a closing note."""
    return [
        _event(5, EventType.INCIDENT_ESCALATED, "system:escalation", rule_id=1,
               trigger="immediate", to="security", partner_ids=[4, 5]),
        _event(6, EventType.DELIVERY_SUCCEEDED, "system:delivery", delivery_id=1,
               partner_id=5, attempt=1, result="HTTP 200"),
        _event(7, EventType.PARTNER_ACKNOWLEDGED, "partner:4", partner_id=4),
        _event(8, EventType.PARTNER_UPDATE, "partner:4", partner_id=4, text="两名保安已到"),
        _event(9, EventType.NOTE_ADDED, text="handed over"),
        _event(10, EventType.INCIDENT_RESOLVED, "dispatcher:2", disposition="true_alarm",
               note="bike found"),
    ]  # fmt: skip


def test_every_id_has_its_name_beside_it() -> None:
    """Issue 12: "值班员1" and "dispatcher:1" instead of the duty volunteer's name; a partner's
    acknowledgement that did not say which partner."""
    more = _worked_with_partners()
    inc = _incident(*_dispatched_and_replied_events(), *more)
    view = views.incident_view(inc, WHO)
    assert (view["resolved_by_name"], view["closing_note"]) == ("Desk Two", "bike found")
    assert view["partner_acks"] == [4] and view["escalated_to"] == [4, 5]
    assert [(n["by_name"], n["text"]) for n in view["notes"]] == [
        ("锦江酒店保安", "两名保安已到"),
        ("张阿姨", "handed over"),
    ]
    assert view["names"] == {
        "dispatcher:1": "张阿姨",
        "dispatcher:2": "Desk Two",
        "member:7": "Li",
        "member:8": "Wang",
        "member:9": "Chen",
        "partner:4": "锦江酒店保安",
        "partner:5": "Campus guards",
    }
    assert "timeline" not in view
    # With its timeline, everyone the timeline names: a delivery's partner, say.
    only = _incident(*more[:2])
    assert set(views.incident_view(only, WHO)["names"]) >= {"partner:4", "partner:5"}
    events = [_incident_opened(), *more[:2]]
    detail = views.incident_view(only, Names(partners={5: "Campus guards"}), events)
    assert [e["seq"] for e in detail["timeline"]] == [1, 5, 6]
    assert detail["names"] == {"partner:5": "Campus guards"}, "only the names known"
    # Nobody's name is invented: not the administrator's, not the system's.
    assert WHO.of("admin:0") is None and WHO.of("system:escalation") is None
    assert WHO.of("dispatcher:x") is None and WHO.of(None) is None


def test_the_export_reads_on_its_own_in_excel() -> None:
    grids = GridIndex(load_grids(SAMPLE_GRIDS))
    inc = _incident(*_dispatched_and_replied_events(), *_worked_with_partners())
    row = export.incident_row(views.incident_view(inc, WHO), grids)
    assert row["reporter_name"] == "Li" and row["grid_name_zh"] == grids.grids["G03"].name_zh
    assert (row["dispatched"], row["accepted"]) == ("8 9", "8")
    assert (row["dispatched_names"], row["accepted_names"]) == ("Wang; Chen", "Wang")
    assert (row["acknowledged_by"], row["acknowledged_by_name"]) == ("dispatcher:1", "张阿姨")
    assert (row["resolved_by"], row["resolved_by_name"]) == ("dispatcher:2", "Desk Two")
    assert (row["escalated_to"], row["escalated_to_names"]) == (
        "4 5",
        "锦江酒店保安; Campus guards",
    )
    assert (row["partner_acks"], row["partner_acks_names"]) == ("4", "锦江酒店保安")
    assert row["notes"] == "锦江酒店保安: 两名保安已到 | 张阿姨: handed over"
    assert row["closing_note"] == "bike found" and row["source"] == "alarm"
    text = export.csv_text([row], export.INCIDENT_COLUMNS)
    assert text.startswith("\ufeff"), "a BOM, or Excel shows the names as mojibake"
    [back] = list(csv.DictReader(io.StringIO(text[1:])))
    assert list(back) == export.INCIDENT_COLUMNS and back["reporter_name"] == "Li"
    # Each id column has its name column right after it.
    columns = export.INCIDENT_COLUMNS
    for ids, named in (
        ("reporter_id", "reporter_name"),
        ("acknowledged_by", "acknowledged_by_name"),
        ("resolved_by", "resolved_by_name"),
        ("dispatched", "dispatched_names"),
        ("accepted", "accepted_names"),
        ("escalated_to", "escalated_to_names"),
        ("partner_acks", "partner_acks_names"),
    ):
        assert columns.index(named) == columns.index(ids) + 1, named
