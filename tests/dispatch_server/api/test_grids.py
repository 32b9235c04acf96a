"""Uploading, checking and applying a grid file on a live server (decision 45)."""

from __future__ import annotations

import asyncio
import copy
import json
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from dispatch_server.settings import SAMPLE_GRIDS
from dispatch_server.store.tables import CHECK_IN_RULE, EVENT, GRID, GRID_SET
from tests.dispatch_server.conftest import Engines
from tests.support.servers import Running, in_process, settings_for

SAMPLE = json.loads((SAMPLE_GRIDS / "changsha_sample.geojson").read_text(encoding="utf-8"))
# East of G10 and G05, touching neither: it widens the map, so the projection's centre moves.
G11_RING = [
    [113.0500, 28.1280],
    [113.0520, 28.1280],
    [113.0520, 28.1300],
    [113.0500, 28.1300],
    [113.0500, 28.1280],
]
INSIDE_G11 = (113.0510, 28.1290)
IN_G01 = (113.0335, 28.1325)


def sample() -> dict[str, Any]:
    return copy.deepcopy(SAMPLE)


def by_id(document: dict[str, Any], grid_id: str) -> dict[str, Any]:
    found: dict[str, Any] = next(f for f in document["features"] if f["id"] == grid_id)
    return found


def without(document: dict[str, Any], grid_id: str) -> dict[str, Any]:
    document["features"] = [f for f in document["features"] if f["id"] != grid_id]
    return document


def new_map() -> dict[str, Any]:
    """G11 added, G10 renamed, G08 removed (nothing needs it in a fresh database)."""
    document = without(sample(), "G08")
    by_id(document, "G10")["properties"]["name_en"] = "Primary School Block"
    g11 = {
        "type": "Feature",
        "id": "G11",
        "properties": {"name_zh": "新区", "name_en": "New Block", "kind": "residential_compound"},
        "geometry": {"type": "Polygon", "coordinates": [G11_RING]},
    }
    document["features"].append(g11)
    return document


async def call(
    server: Running, method: str, path: str, body: Any, token: str | None = None
) -> httpx.Response:
    async with server.api.client(token or server.api.admin_token) as api:
        return await api.request(method, path, json=body)


def counts(engines: Engines) -> tuple[int, int, int]:
    """Grid sets, grids_applied events and retired grids in the database."""
    engine = engines()
    with engine.connect() as conn:
        sets = conn.execute(select(func.count()).select_from(GRID_SET)).scalar_one()
        applied = conn.execute(
            select(func.count()).where(EVENT.c.type == "grids_applied")
        ).scalar_one()
        retired = conn.execute(
            select(func.count()).where(GRID.c.retired_at.is_not(None))
        ).scalar_one()
    return sets, applied, retired


async def grid_ids(server: Running) -> list[str]:
    collection = await server.api.get("/api/grids")
    return [f["id"] for f in collection["features"]]


async def test_a_broken_feature_is_reported_on_it_alone_and_nothing_is_applied(
    server: Running, engines: Engines
) -> None:
    document = sample()
    by_id(document, "G03")["geometry"]["coordinates"][0].pop()  # no longer closed
    report = (await call(server, "POST", "/api/grids/check", document)).json()
    assert report["ok"] is False and report["file_errors"] == []
    faulty = [f for f in report["features"] if f["errors"]]
    assert [(f["index"], f["grid_id"]) for f in faulty] == [(2, "G03")]
    assert [e["code"] for e in faulty[0]["errors"]] == ["invalid_ring"]
    assert faulty[0]["errors"][0]["ring"] == "exterior ring"
    assert faulty[0]["geometry"] is not None  # an open ring can still be drawn
    assert report["changed"] == ["G03"] and report["removed"] == []
    assert len(report["unchanged"]) == 9

    refused = await call(server, "PUT", "/api/grids", document)
    assert refused.status_code == 422, refused.text
    assert refused.json()["detail"] and refused.json()["report"] == report
    assert counts(engines) == (0, 0, 0)
    assert len(await grid_ids(server)) == 10


async def test_removing_a_grid_a_member_needs_is_refused_naming_the_member(
    server: Running, engines: Engines
) -> None:
    member = await server.api.member("桂花苑巡逻", "G09")
    report = (await call(server, "POST", "/api/grids/check", without(sample(), "G09"))).json()
    assert report["ok"] is False
    assert all(not f["errors"] for f in report["features"])
    [removed] = report["removed"]
    assert removed["grid_id"] == "G09" and removed["name_en"] == "Osmanthus Garden Compound"
    assert [(b["code"], b["ids"]) for b in removed["blockers"]] == [
        ("members", [member["member_id"]])
    ]
    refused = await call(server, "PUT", "/api/grids", without(sample(), "G09"))
    assert refused.status_code == 422
    assert counts(engines) == (0, 0, 0)
    assert "G09" in await grid_ids(server)


async def test_every_kind_of_need_blocks_a_removal_with_its_ids(
    server: Running, engines: Engines
) -> None:
    dispatcher = await server.api.dispatcher()
    reporter = await server.api.member("桂花苑报警", "G09")
    planned = await server.api.member("排班", "G01")
    partner = await server.api.post("/api/partners", {"name": "保安", "grids": ["G09", "G02"]})
    async with server.api.client(server.api.admin_token) as admin:
        slot = await admin.put(
            "/api/roster/G09/evening", json={"member_ids": [planned["member_id"]]}
        )
        assert slot.status_code == 200, slot.text
        rule = await admin.put("/api/check-in-rules", json={"grid_id": "G09", "period_s": 900})
        assert rule.status_code == 200, rule.text
        rules = (await admin.get("/api/escalation-rules")).json()
        kept = [{k: v for k, v in r.items() if k != "rule_id"} for r in rules]
        scoped = {"trigger": "immediate", "to": "security", "after_s": 0, "grid_id": "G09"}
        stored = await admin.put("/api/escalation-rules", json=[*kept, scoped])
        assert stored.status_code == 200, stored.text
    escalation_id = next(r["rule_id"] for r in stored.json() if r["grid_id"] == "G09")
    hand = await server.handheld(reporter["token"]).connect()
    incident_id = (await hand.alarm())["incident_id"]  # no fix: placed in the reporter's grid
    incident = await server.api.get(f"/api/incidents/{incident_id}", dispatcher["token"])
    assert incident["grid_id"] == "G09"
    with engines().connect() as conn:
        check_in_id = conn.execute(
            select(CHECK_IN_RULE.c.id).where(CHECK_IN_RULE.c.grid_id == "G09")
        ).scalar_one()

    report = (await call(server, "POST", "/api/grids/check", without(sample(), "G09"))).json()
    [removed] = report["removed"]
    assert {b["code"]: b["ids"] for b in removed["blockers"]} == {
        "members": [reporter["member_id"]],
        "open_incidents": [incident_id],
        "partners": [partner["partner_id"]],
        "roster": [planned["member_id"]],
        "check_in_rules": [check_in_id],
        "escalation_rules": [escalation_id],
    }
    assert report["ok"] is False
    # G02 is covered by the partner too, but stays: only removed grids are looked at.
    assert [r["grid_id"] for r in report["removed"]] == ["G09"]


async def test_apply_adds_changes_and_removes_grids_live(server: Running, engines: Engines) -> None:
    dispatcher = await server.api.dispatcher()
    console = await server.console(dispatcher["token"]).connect()
    walker = await server.api.member("走动", "G01")
    reporter = await server.api.member("报警", "G10")
    hand = await server.handheld(walker["token"]).connect()
    await hand.start_shift(*IN_G01)
    other = await server.handheld(reporter["token"]).connect()
    await other.start_shift()
    before = await _fix_of(server, walker["member_id"])
    opened = await other.alarm(lon=113.0475, lat=28.1300)  # in G10
    incident_id = opened["incident_id"]

    check = (await call(server, "POST", "/api/grids/check", new_map())).json()
    assert check["ok"] is True
    assert (check["added"], check["changed"]) == (["G11"], ["G10"])
    assert [r["grid_id"] for r in check["removed"]] == ["G08"]
    assert counts(engines) == (0, 0, 0)  # a check writes nothing

    answer = await call(server, "PUT", "/api/grids", new_map())
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["applied"] is True and isinstance(body["grid_set_id"], int)
    assert body["report"]["ok"] is True
    assert counts(engines) == (1, 1, 1)

    ids = await grid_ids(server)
    assert "G11" in ids and "G08" not in ids and len(ids) == 10
    grids = await server.api.get("/api/grids")
    assert by_id(grids, "G10")["properties"]["name_en"] == "Primary School Block"
    # The projection moved (the map is wider), yet the member stays where they were.
    assert await _fix_of(server, walker["member_id"]) == pytest.approx(before, abs=1e-7)
    ctx = server.ctx
    row = ctx.roster.row[reporter["member_id"]]
    home = (float(ctx.roster.home_x[row]), float(ctx.roster.home_y[row]))
    assert home == pytest.approx(ctx.grids.representative_xy("G10"))

    # The open incident keeps its grid; a new alarm lands in the new one.
    incident = await server.api.get(f"/api/incidents/{incident_id}", dispatcher["token"])
    assert incident["grid_id"] == "G10" and incident["status"] != "resolved"
    fresh = await hand.alarm(lon=INSIDE_G11[0], lat=INSIDE_G11[1])
    placed = await server.api.get(f"/api/incidents/{fresh['incident_id']}", dispatcher["token"])
    assert placed["grid_id"] == "G11"

    # The console hears the logged event and the notice to redraw.
    frames = await console.events_until(
        lambda got: (
            any(f["type"] == "grids_changed" for f in got)
            and any(f["type"] == "grids_applied" for f in got)
        )
    )
    notice = next(f for f in frames if f["type"] == "grids_changed")
    assert notice == {"type": "grids_changed", "grid_set_id": body["grid_set_id"]}
    event = next(f for f in frames if f["type"] == "grids_applied")
    assert event["actor"] == "admin:0"
    assert event["grid_set_id"] == body["grid_set_id"]
    assert (event["added"], event["changed"], event["removed"]) == (["G11"], ["G10"], ["G08"])
    assert len(event["sha256"]) == 64

    # The same file again: nothing written, nothing new.
    again = await call(server, "PUT", "/api/grids", new_map())
    assert again.status_code == 200
    assert again.json()["applied"] is False
    assert again.json()["grid_set_id"] == body["grid_set_id"]
    assert counts(engines) == (1, 1, 1)


async def _fix_of(server: Running, member_id: int) -> tuple[float, float]:
    for _ in range(100):
        members = await server.api.get("/api/members")
        fix = next(m for m in members if m["member_id"] == member_id)["fix"]
        if fix is not None:
            return (fix["lon"], fix["lat"])
        await asyncio.sleep(0.02)
    raise AssertionError("the position never arrived")


async def test_after_a_restart_the_applied_set_is_the_map(
    database_url: str, engines: Engines
) -> None:
    settings = settings_for(database_url)
    async with in_process(settings) as first:
        answer = await call(first, "PUT", "/api/grids", new_map())
        assert answer.status_code == 200, answer.text
        grid_set_id = answer.json()["grid_set_id"]
    async with in_process(settings) as second:
        ids = await grid_ids(second)
        assert "G11" in ids and "G08" not in ids
        assert second.ctx.grid_set_id == grid_set_id
        # Uploading the file again goes back to it (decision 45).
        back = await call(second, "PUT", "/api/grids", sample())
        assert back.status_code == 200 and back.json()["applied"] is True
        assert (back.json()["report"]["added"], back.json()["report"]["removed"]) == (
            ["G08"],
            [{"grid_id": "G11", "name_zh": "新区", "name_en": "New Block", "blockers": []}],
        )
        assert sorted(await grid_ids(second)) == sorted(f["id"] for f in SAMPLE["features"])
    assert counts(engines) == (2, 2, 1)  # G11 retired now, G08 back in service


async def test_only_the_administrator_may_check_or_apply(server: Running) -> None:
    dispatcher = await server.api.dispatcher()
    for method, path in (("POST", "/api/grids/check"), ("PUT", "/api/grids")):
        refused = await call(server, method, path, sample(), dispatcher["token"])
        assert refused.status_code == 403, refused.text


async def test_a_file_over_5_mb_is_refused_with_413(server: Running) -> None:
    padded = json.dumps(sample()) + " " * (5 * 1024 * 1024)
    async with server.api.client(server.api.admin_token) as api:
        for method, path in (("POST", "/api/grids/check"), ("PUT", "/api/grids")):
            r = await api.request(
                method, path, content=padded, headers={"Content-Type": "application/json"}
            )
            assert r.status_code == 413, r.text
            assert "5242880" in r.json()["detail"]


async def test_not_a_feature_collection_is_a_file_error(server: Running) -> None:
    report = (
        await call(server, "POST", "/api/grids/check", {"type": "Feature", "features": []})
    ).json()
    assert report["ok"] is False
    assert [e["code"] for e in report["file_errors"]] == ["not_feature_collection"]
    assert len(report["removed"]) == 10
