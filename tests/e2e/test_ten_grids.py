"""The whole system on the sample community: 30 handhelds, a console, one alarm per grid.

Grid and ranking are checked against an independent computation: point-in-polygon
on the raw lon/lat polygons, and WGS84 geodesic distances (geographiclib).
"""

from __future__ import annotations

import asyncio
import itertools
import random
import uuid
from typing import Any

from tests.support.clients import Handheld
from tests.support.geodesy import geodesic_m, random_point_in, sample_shapes
from tests.support.servers import Running

SKILL_BONUS_M = 150.0  # the default setting
FITS = {
    "medical": {"medical", "first_aid"},
    "fire": {"fire_safety", "first_aid"},
    "theft": {"security"},
}
CATEGORIES = ["medical", "fire", "theft", "unknown"]
SKILLS = [["medical"], ["security"], [], ["fire_safety", "first_aid"], []]


async def test_one_alarm_in_each_of_ten_grids(server: Running) -> None:
    rng = random.Random(20261122)
    shapes = sample_shapes()
    assert len(shapes) == 10
    d = await server.api.dispatcher()
    console = await server.console(d["token"]).connect()

    members: dict[int, dict[str, Any]] = {}
    handhelds: dict[str, list[Handheld]] = {}
    for grid_id, polygon in shapes.items():
        handhelds[grid_id] = []
        for k in range(3):
            skills = SKILLS[(len(members)) % len(SKILLS)]
            m = await server.api.member(f"{grid_id}-{k}", grid_id, skills)
            h = await server.handheld(m["token"]).connect()
            lon, lat = random_point_in(polygon, rng)
            await h.start_shift(lon, lat)
            members[m["member_id"]] = {
                "lon": lon,
                "lat": lat,
                "skills": set(skills),
                "grid": grid_id,
            }
            handhelds[grid_id].append(h)
    await asyncio.sleep(0.2)  # positions carry no reply; let the last ones land

    alarms: dict[str, dict[str, Any]] = {}
    for i, (grid_id, polygon) in enumerate(shapes.items()):
        lon, lat = random_point_in(polygon, rng)
        reporter = handhelds[grid_id][i % 3]
        alarms[str(uuid.uuid4())] = {
            "grid": grid_id,
            "lon": lon,
            "lat": lat,
            "category": CATEGORIES[i % len(CATEGORIES)],
            "reporter": reporter,
        }
    accepted = await asyncio.gather(
        *(
            a["reporter"].alarm(alert_id, lon=a["lon"], lat=a["lat"], category=a["category"])
            for alert_id, a in alarms.items()
        )
    )
    assert all(not x["duplicate"] for x in accepted)
    assert len({x["incident_id"] for x in accepted}) == 10

    opened = [
        e
        for e in await console.events_until(
            lambda got: sum(e["type"] == "incident_opened" for e in got) == 10, timeout=15
        )
        if e["type"] == "incident_opened"
    ]
    assert sorted(e["alert_id"] for e in opened) == sorted(alarms)
    for event in opened:
        a = alarms[event["alert_id"]]
        assert event["grid_id"] == a["grid"], "grid comes from the alarm's location"
        assert shapes[event["grid_id"]].contains(_point(a)), "independent point-in-polygon agrees"
        assert event["reporter_id"] == a["reporter"].welcome["member_id"]
        _check_ranking(event, a, members)


def _point(a: dict[str, Any]) -> Any:
    from shapely.geometry import Point

    return Point(a["lon"], a["lat"])


def _check_ranking(
    event: dict[str, Any], alarm: dict[str, Any], members: dict[int, dict[str, Any]]
) -> None:
    """Every listed distance within 0.5% of the geodesic one, and the order the rules give."""
    reporter = alarm["reporter"].welcome["member_id"]
    fits = FITS.get(alarm["category"], set())
    truth: dict[int, tuple[float, float]] = {}
    for member_id, m in members.items():
        if member_id == reporter:
            continue
        dist = geodesic_m(alarm["lon"], alarm["lat"], m["lon"], m["lat"])
        truth[member_id] = (dist - SKILL_BONUS_M * bool(m["skills"] & fits), dist)
    expected = sorted(truth, key=lambda mid: (truth[mid], mid))[:5]

    listed = event["responders"]
    assert len(listed) == 5
    assert reporter not in [r["member_id"] for r in listed]
    for r in listed:
        true_dist = truth[r["member_id"]][1]
        assert abs(r["distance_m"] - true_dist) <= 0.005 * true_dist + 0.1, (r, true_dist)
        assert r["located_by"] == "fix" and r["reason"]
        assert r["grid_id"] == members[r["member_id"]]["grid"]
        assert bool(r["skills_fit"]) == bool(members[r["member_id"]]["skills"] & fits)
    # Same order as the independent ranking, except where two scores are closer than the
    # projection's error could separate (then either order is right).
    got = [r["member_id"] for r in listed]
    for a, b in itertools.pairwise(got):
        assert truth[a][0] <= truth[b][0] + 2.0, (got, expected)
    tolerance = 2.0
    cutoff = truth[expected[-1]][0]
    for mid in expected:
        if truth[mid][0] < cutoff - tolerance:
            assert mid in got, (got, expected)
