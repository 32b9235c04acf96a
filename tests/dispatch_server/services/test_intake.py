"""Alarm intake: raise_alarm from a frame to a committed incident (its place, its ranked
responders, a retried alert_id, an unattended centre, the press time kept within its
bounds), and the write where two transactions race for one alert_id."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Engine, func, insert, select

from dispatch_server.clock import iso
from dispatch_server.domain.errors import Conflict
from dispatch_server.domain.roster import Fix
from dispatch_server.services import incidents, people
from dispatch_server.services.context import Context
from dispatch_server.services.intake import open_incident, raise_alarm
from dispatch_server.store.log import Tx
from dispatch_server.store.sql import HotSql
from dispatch_server.store.tables import GRID, INCIDENT, MEMBER
from tests.dispatch_server.conftest import Engines
from tests.dispatch_server.services.conftest import Hands, alert, head, logged

ALERT = "7d1f0c7e-4a55-4b8e-9d0e-5d5a0f6f2a11"
DATA: dict[str, Any] = {
    "alert_id": ALERT,
    "grid_id": "G01",
    "lon": 113.0,
    "lat": 28.1,
    "category": "medical",
}


def _open(
    engine: Engine, opened: threading.Event | None = None, hold: threading.Event | None = None
) -> tuple[int, bool]:
    """open_incident in a transaction of its own, as another instance's writer would run it;
    with `hold`, the transaction stays open (and its row uncommitted) until that is set."""
    with engine.connect() as conn, conn.begin():
        raw = conn.connection.dbapi_connection
        assert raw is not None
        tx = Tx(conn, raw.cursor(), HotSql.for_paramstyle(engine.dialect.paramstyle), 1.0)
        result = open_incident(tx, 1, dict(DATA))
        if opened is not None and hold is not None:
            opened.set()
            assert hold.wait(10)
        return result


def test_a_retry_that_meets_an_uncommitted_first_try_is_a_duplicate(engines: Engines) -> None:
    """DESIGN.md: "A repeat of the same alert_id answers with the same incident_id and
    duplicate: true", also when the first try is still being committed by another writer
    (several instances on one PostgreSQL): the retry waits for it instead of failing on
    the unique index."""
    with engines(writer=True).begin() as conn:
        conn.execute(insert(GRID), {"id": "G01", "feature": {}})
        conn.execute(
            insert(MEMBER), {"id": 1, "name": "m", "grid_id": "G01", "skills": [], "created_at": 0}
        )
    first, second = engines(writer=True), engines(writer=True)
    inserted, hold = threading.Event(), threading.Event()
    with ThreadPoolExecutor(2) as pool:
        opened = pool.submit(_open, first, inserted, hold)
        assert inserted.wait(10)
        retried = pool.submit(_open, second)
        # The retry waits (on PostgreSQL at the unique index, on SQLite at BEGIN IMMEDIATE)
        # for the first try to commit.
        time.sleep(0.3)
        assert not retried.done()
        hold.set()
        incident_id, duplicate = opened.result(10)
        assert duplicate is False
        assert retried.result(10) == (incident_id, True)


async def _members(ctx: Context) -> tuple[int, int]:
    reporter, _ = await people.create_member(ctx, "Li", "G03", [])
    neighbour, _ = await people.create_member(ctx, "Wang", "G03", [])
    return reporter, neighbour


async def test_an_alarm_is_committed_before_it_is_accepted(ctx: Context, hands: Hands) -> None:
    reporter, neighbour = await _members(ctx)
    for member_id in (reporter, neighbour):
        await people.set_shift(ctx, member_id, True)
    seen = await head(ctx)
    ctx.consoles = 1
    frame = alert("medical", lon=113.0, lat=28.2, accuracy_m=9.0, note="fell down")
    accepted = await raise_alarm(ctx, reporter, frame)
    assert not accepted.duplicate and not accepted.unattended
    assert str(accepted.alert_id) == str(frame.alert_id)
    [opened] = await logged(ctx, seen)
    assert opened.type.value == "incident_opened" and opened.incident_id == accepted.incident_id
    assert opened.actor == f"member:{reporter}" and opened.at == hands.now
    data = opened.data
    assert (data["lon"], data["lat"], data["point_source"]) == (113.0, 28.2, "alert_fix")
    assert data["reporter_grid_id"] == "G03" and data["note"] == "fell down"
    assert data["unattended"] is False
    ranked = [r["member_id"] for r in data["responders"]]
    assert ranked == [neighbour], "on shift nearby; the reporter is not a responder"
    assert ctx.active[accepted.incident_id].reporter_id == reporter, "live before accepted"


async def test_without_its_own_fix_the_alarm_is_at_the_last_fix_or_home(ctx: Context) -> None:
    reporter, _ = await _members(ctx)
    seen = await head(ctx)  # registering them is on record too
    ctx.consoles = 1
    at_home = await raise_alarm(ctx, reporter, alert())
    x, y = ctx.grids.representative_xy("G01")
    ctx.roster.set_fix(reporter, Fix(x, y, 5.0, ctx.clock()))
    at_fix = await raise_alarm(ctx, reporter, alert())
    home, fixed = [e.data for e in await logged(ctx, seen)]
    assert home["point_source"] == "reporter_grid" and home["grid_id"] == "G03"
    assert fixed["point_source"] == "reporter_fix" and fixed["grid_id"] == "G01"
    assert at_home.incident_id != at_fix.incident_id


async def test_a_retried_alert_id_answers_the_same_incident(ctx: Context) -> None:
    reporter, neighbour = await _members(ctx)
    seen = await head(ctx)  # registering them is on record too
    frame = alert("fire")
    first = await raise_alarm(ctx, reporter, frame)
    again = await raise_alarm(ctx, reporter, frame)
    assert again.incident_id == first.incident_id and again.duplicate
    assert first.unattended and not again.unattended, "a retry is not a new unattended alarm"
    with pytest.raises(Conflict, match="another member"):
        await raise_alarm(ctx, neighbour, frame)
    assert [e.type.value for e in await logged(ctx, seen)] == ["incident_opened"]

    def count(conn: Any) -> int:
        return int(conn.execute(select(func.count()).select_from(INCIDENT)).scalar_one())

    assert await ctx.read(count) == 1


async def test_with_no_console_open_the_alarm_is_unattended(ctx: Context) -> None:
    reporter, _ = await _members(ctx)
    seen = await head(ctx)  # registering them is on record too
    ctx.consoles = 0
    alone = await raise_alarm(ctx, reporter, alert())
    ctx.consoles = 2
    watched = await raise_alarm(ctx, reporter, alert())
    assert alone.unattended and not watched.unattended
    assert [e.data["unattended"] for e in await logged(ctx, seen)] == [True, False]
    assert ctx.active[alone.incident_id].unattended


# --- the press time (domain/press.py): the handheld's clock, kept within bounds ----------


async def _opened_data(ctx: Context, reporter: int, **fields: Any) -> dict[str, Any]:
    seen = await head(ctx)
    await raise_alarm(ctx, reporter, alert(**fields))
    [opened] = await logged(ctx, seen)
    return opened.data


async def test_a_press_time_is_kept_as_the_handheld_said_within_the_bounds(
    ctx: Context, hands: Hands
) -> None:
    reporter, _ = await _members(ctx)
    said = iso(hands.now - 21.5)
    data = await _opened_data(ctx, reporter, pressed_at=said)
    assert data["pressed_at"] == said and data["pressed_at_clamped"] is None
    assert "pressed_at_reported" not in data
    # Another zone says the same instant; the server keeps it in UTC.
    east = datetime.fromtimestamp(hands.now - 3, timezone(timedelta(hours=8))).isoformat()
    data = await _opened_data(ctx, reporter, pressed_at=east)
    assert data["pressed_at"] == iso(hands.now - 3) and data["pressed_at_clamped"] is None
    # A handheld that does not say: null, and the incident view says so too.
    data = await _opened_data(ctx, reporter)
    assert data["pressed_at"] is None and data["pressed_at_clamped"] is None


async def test_a_press_time_in_the_future_is_clamped_to_now(ctx: Context, hands: Hands) -> None:
    reporter, _ = await _members(ctx)
    ahead = iso(hands.now + 90)
    data = await _opened_data(ctx, reporter, pressed_at=ahead)
    assert data["pressed_at"] == iso(hands.now)
    assert data["pressed_at_clamped"] == "future" and data["pressed_at_reported"] == ahead
    # Year 9999 with an offset: no overflow, the handheld's words kept as it said them.
    data = await _opened_data(ctx, reporter, pressed_at="9999-12-31T23:59:59.000-08:00")
    assert data["pressed_at"] == iso(hands.now) and data["pressed_at_clamped"] == "future"
    assert data["pressed_at_reported"] == "9999-12-31T23:59:59.000-08:00"


async def test_on_shift_a_press_time_before_the_shift_started_is_clamped_to_its_start(
    ctx: Context, hands: Hands
) -> None:
    reporter, _ = await _members(ctx)
    started = hands.now
    await people.set_shift(ctx, reporter, True)
    hands.now += 600
    data = await _opened_data(ctx, reporter, pressed_at=iso(started - 300))
    assert data["pressed_at"] == iso(started) and data["pressed_at_clamped"] == "before_shift"
    assert data["pressed_at_reported"] == iso(started - 300)
    data = await _opened_data(ctx, reporter, pressed_at=iso(started + 10))
    assert data["pressed_at"] == iso(started + 10) and data["pressed_at_clamped"] is None
    # The shift over: the bound is a day back again.
    await people.set_shift(ctx, reporter, False)
    data = await _opened_data(ctx, reporter, pressed_at=iso(started - 300))
    assert data["pressed_at"] == iso(started - 300) and data["pressed_at_clamped"] is None


async def test_off_shift_a_press_time_over_a_day_old_is_clamped(ctx: Context, hands: Hands) -> None:
    reporter, _ = await _members(ctx)
    day = 24 * 3600
    data = await _opened_data(ctx, reporter, pressed_at=iso(hands.now - day + 60))
    assert data["pressed_at"] == iso(hands.now - day + 60) and data["pressed_at_clamped"] is None
    data = await _opened_data(ctx, reporter, pressed_at="0001-01-01T00:00:00+08:00")
    assert data["pressed_at"] == iso(hands.now - day) and data["pressed_at_clamped"] == "too_old"
    assert data["pressed_at_reported"] == "0001-01-01T00:00:00.000+08:00"


async def test_a_retry_keeps_the_first_press_time(ctx: Context, hands: Hands) -> None:
    """The handheld sends the same pressed_at on every retry; a retry that says otherwise
    (another handheld's bug, a clock set meanwhile) changes nothing: it writes nothing."""
    reporter, _ = await _members(ctx)
    seen = await head(ctx)  # registering them is on record too
    first = alert("fire", pressed_at=iso(hands.now - 20))
    hands.now += 5
    again = alert("fire", alert_id=str(first.alert_id), pressed_at=iso(hands.now - 1))
    opened = await raise_alarm(ctx, reporter, first)
    retried = await raise_alarm(ctx, reporter, again)
    assert retried.duplicate and retried.incident_id == opened.incident_id
    [event] = await logged(ctx, seen)
    assert event.data["pressed_at"] == iso(hands.now - 25)
    _, view = await ctx.read(incidents.detail, opened.incident_id)
    assert view["pressed_at"] == iso(hands.now - 25) and view["opened_at"] == iso(hands.now)
    [listed] = (await ctx.read(incidents.listing, incidents.Filters()))["incidents"]
    assert listed["pressed_at"] == view["pressed_at"]
    assert ctx.active[opened.incident_id].pressed_at == pytest.approx(hands.now - 25, abs=1e-3)
