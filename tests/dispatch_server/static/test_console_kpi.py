"""The KPI tab in real headless Chromium, on a server holding three and a half months of
alarms (decision 49).

The months are made through the server's own services (intake, acknowledge, dispatch,
reply, arrival, resolve), run by its log writer, on a server whose clock the test steers
into the past: every event is written as a live one would be, at the time it says. Drills
are opened with the intake's own write and `drill: true`, as the drill flag will set it.
The tab must show exactly what GET /api/kpis says for the same period.
"""

from __future__ import annotations

import asyncio
import io
import json
import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pypdf

from dispatch_server.domain.incidents import Disposition, ResponderStatus
from dispatch_server.protocol.frames import AlarmFields, Category
from dispatch_server.services import incidents, intake
from tests.support.browser import CJK, ConsolePage, console_page
from tests.support.servers import Running, in_process, settings_for

CATEGORIES = ["medical", "fire", "theft", "dispute", "disorder", "other"]
DUTY = ["张阿姨", "李叔叔", "王老师"]
# How fast each grid's alarms are answered, in seconds (low, high): most grids meet the
# 10 s target, three do not; G10 has no alarm at all.
ANSWER = {g: (1.0, 9.0) for g in ("G01", "G02", "G03", "G04", "G05", "G06")} | {
    "G07": (4.0, 25.0),
    "G08": (6.0, 45.0),
    "G09": (3.0, 14.0),
}


@dataclass
class SteeredClock:
    """The server's clock: real time, or the instant the test sets."""

    at: float | None = None

    def __call__(self) -> float:
        return time.time() if self.at is None else self.at


@dataclass
class Seeded:
    duty: list[dict[str, Any]]
    reporters: dict[str, int] = field(default_factory=dict)
    responders: dict[str, int] = field(default_factory=dict)
    alarms: int = 0
    drills: int = 0


def local_month_start(now: datetime, back: int) -> datetime:
    """Local midnight on the first day of the month `back` months before `now`'s."""
    year, month = now.year, now.month - back
    while month < 1:
        year, month = year - 1, month + 12
    return datetime(year, month, 1).astimezone()


async def seed(server: Running, clock: SteeredClock, rng: random.Random) -> Seeded:
    api, ctx = server.api, server.ctx
    # Only the fire rule and no_ack: nothing else fires while the clock jumps about.
    async with api.client(api.admin_token) as c:
        rules = [
            {"trigger": "immediate", "to": "security", "category": "fire"},
            {"trigger": "no_ack", "to": "security", "after_s": 60},
        ]
        (await c.put("/api/escalation-rules", json=rules)).raise_for_status()
    made = Seeded([await api.dispatcher(n) for n in DUTY])
    for grid in ANSWER:
        made.reporters[grid] = (await api.member(f"报警人{grid}", grid))["member_id"]
        made.responders[grid] = (await api.member(f"队员{grid}", grid, ["first_aid"]))["member_id"]
    now = datetime.now().astimezone()
    start = local_month_start(now, 1) - timedelta(days=35)
    day = start
    while day < now - timedelta(hours=3):
        slots = range(6 * 3600, 22 * 3600, 1200)  # every 20 minutes from 06:00 to 22:00
        for offset in sorted(rng.sample(slots, rng.choice([0, 1, 2, 2, 3, 4]))):
            at = day.timestamp() + offset
            if at < time.time() - 7200:
                await one_alarm(ctx, clock, rng, made, at)
        day += timedelta(days=1)
    last_month = local_month_start(now, 1)
    for i in range(4):
        await one_drill(ctx, clock, rng, made, last_month.timestamp() + (3 + 6 * i) * 86400 + 36000)
    clock.at = None
    return made


async def one_alarm(
    ctx: Any, clock: SteeredClock, rng: random.Random, made: Seeded, at: float
) -> None:
    grid = rng.choice(sorted(ANSWER))
    who = f"dispatcher:{rng.choice(made.duty)['dispatcher_id']}"
    clock.at = at
    alert = AlarmFields(alert_id=uuid.uuid4(), category=Category(rng.choice(CATEGORIES)))
    taken = await intake.raise_alarm(ctx, made.reporters[grid], alert)
    made.alarms += 1
    incident_id = taken.incident_id
    if rng.random() < 0.04:
        return  # never acknowledged
    clock.at = at + rng.uniform(*ANSWER[grid])
    how = rng.random()
    if how < 0.3:  # a false alarm, closed at the console
        await incidents.acknowledge(ctx, incident_id, who)
        clock.at += rng.uniform(20, 120)
        await incidents.resolve(ctx, incident_id, Disposition.FALSE_ALARM, None, who)
        return
    responder = made.responders[grid]
    if how < 0.5:  # dispatched straight from open
        await incidents.dispatch(ctx, incident_id, [responder], who)
    else:
        await incidents.acknowledge(ctx, incident_id, who)
        clock.at += rng.choice([rng.uniform(3, 50), rng.uniform(50, 120)])
        await incidents.dispatch(ctx, incident_id, [responder], who)
    clock.at += rng.uniform(5, 40)
    accept = rng.random() < 0.9
    await incidents.reply(ctx, incident_id, responder, accept)
    if accept:
        clock.at = max(clock.at + 5, at + rng.uniform(40, 420))
        await incidents.responder_status(ctx, incident_id, responder, ResponderStatus.ARRIVED)
    clock.at += rng.uniform(300, 900)
    disposition = rng.choice([Disposition.TRUE_ALARM, Disposition.HANDLED_BY_PARTNER])
    await incidents.resolve(ctx, incident_id, disposition, None, who)


async def one_drill(
    ctx: Any, clock: SteeredClock, rng: random.Random, made: Seeded, at: float
) -> None:
    """A drill opened by the intake's own write, with `drill: true` in its first event."""
    clock.at = at
    alert = AlarmFields(alert_id=uuid.uuid4(), category=Category.MEDICAL)
    data = {**intake.opening_data(ctx, made.reporters["G03"], alert, at), "drill": True}
    incident_id, _ = await ctx.writer.run(
        partial(intake.open_incident, reporter_id=made.reporters["G03"], data=data)
    )
    who = f"dispatcher:{made.duty[0]['dispatcher_id']}"
    clock.at = at + rng.uniform(2, 15)
    await incidents.acknowledge(ctx, incident_id, who)
    clock.at += 60
    await incidents.resolve(ctx, incident_id, Disposition.TEST, None, who)
    made.drills += 1


async def kpi_ready(page: ConsolePage, period: str) -> None:
    await page.wait_js(
        "(() => { const v = document.getElementById('view-kpi');"
        f" return v.dataset.state === 'ready' && v.dataset.period === '{period}'; }})()",
        15,
    )


async def shown(page: ConsolePage) -> dict[str, Any]:
    """What the tab shows, as numbers: the cards' values, the bars, buckets and weeks."""
    got: dict[str, Any] = await page.js(
        """(() => {
      const all = (sel) => [...document.querySelectorAll(sel)];
      const view = document.getElementById('view-kpi');
      return {
        since: view.dataset.since, until: view.dataset.until,
        cards: Object.fromEntries(all('#kpi-headline .kpi-card').map((c) =>
          [c.dataset.kpi, {value: c.dataset.value, cls: c.className,
                           text: c.querySelector('.kpi-card-value').textContent}])),
        bars: all('#kpi-bars rect.kpi-bar').map((r) =>
          [r.dataset.key, Number(r.dataset.share), r.getAttribute('class')]),
        target: all('#kpi-bars line.kpi-target').map((l) => Number(l.dataset.share)),
        buckets: all('#kpi-hist rect.kpi-hist-bar').map((r) => Number(r.dataset.count)),
        histLine: all('#kpi-hist line.kpi-hist-line').length,
        weeks: all('#kpi-trend circle.kpi-trend-point')
          .map((c) => [c.dataset.key, Number(c.dataset.share)]),
        drills: Object.fromEntries(all('#kpi-drills .kpi-card')
          .map((c) => [c.dataset.kpi, c.dataset.value])),
      };
    })()"""
    )
    return got


def check_against(seen: dict[str, Any], api: dict[str, Any], weeks: dict[str, Any]) -> None:
    total, t = api["real"]["total"], api["targets"]
    cards = seen["cards"]

    def value(kind: str) -> Any:
        return json.loads(cards[kind]["value"])

    answered = total["answer"]["within"][str(t["answer_s"])]
    assert value("alarms") == total["alarms"]
    assert value("answer_within") == answered
    assert cards["answer_within"]["text"] == f"{answered * 100:.1f}%"
    assert ("missed" if not total["answer_met"] else "met") in cards["answer_within"]["cls"]
    assert value("answer_times") == [total["answer"]["p50_s"], total["answer"]["p90_s"]]
    assert value("process_within") == total["process"]["within"][str(t["process_s"])]
    assert ("missed" if not total["process_met"] else "met") in cards["process_within"]["cls"]
    assert value("arrival") == [total["arrival"]["within"][str(s)] for s in t["arrival_s"]]
    assert value("unwatched") == api["unwatched_s"]
    assert ("met" if api["unwatched_s"] == 0 else "missed") in cards["unwatched"]["cls"]
    # One bar per grid with alarms, each the grid's share answered within 10 s.
    groups = {g["key"]: g["answer"]["within"][str(t["answer_s"])] for g in api["real"]["groups"]}
    assert {k: s for k, s, _ in seen["bars"]} == groups
    for key, share, cls in seen["bars"]:
        assert ("met" if share >= t["answer_share"] else "missed") in cls, (key, share, cls)
    assert seen["target"] == [t["answer_share"]]
    counts = [b["count"] for b in total["answer_buckets"]] + [total["unacknowledged"]]
    assert seen["buckets"] == counts and seen["histLine"] == 1
    by_week = {g["key"]: g["answer"]["within"][str(t["answer_s"])] for g in weeks["real"]["groups"]}
    assert dict((k, s) for k, s in seen["weeks"]) == by_week
    drills = api["drills"]["total"]
    assert json.loads(seen["drills"]["drill_alarms"]) == drills["alarms"]


async def test_the_kpi_tab_shows_what_the_api_says(database_url: str, tmp_path: Path) -> None:
    clock = SteeredClock()
    rng = random.Random(15)
    async with in_process(settings_for(database_url), clock) as server:
        made = await seed(server, clock, rng)
        assert made.alarms > 150 and made.drills == 4
        token = made.duty[0]["token"]
        async with console_page(server.base, width=1440, height=1760) as page:
            await page.sign_in(token)
            await page.page.click('#tabs .tab[data-view="kpi"]')
            await kpi_ready(page, "this_month")
            await page.page.click('[data-choice="period"] button[data-value="last_month"]')
            await kpi_ready(page, "last_month")
            seen = await shown(page)
            # The page asked for last month, local midnight to local midnight.
            now = datetime.now().astimezone()
            since, until = local_month_start(now, 1), local_month_start(now, 0)
            assert datetime.fromisoformat(seen["since"]) == since
            assert datetime.fromisoformat(seen["until"]) == until
            period = {"since": seen["since"], "until": seen["until"]}
            api = await server.api.get("/api/kpis", token, by="grid", **period)
            assert api["real"]["total"]["alarms"] > 30
            keys = [g["key"] for g in api["real"]["groups"]]
            assert "G10" not in keys and len(keys) >= 5, keys
            assert len(seen["bars"]) == len(keys)
            assert api["drills"]["total"]["alarms"] == 4
            weeks = await server.api.get(
                "/api/kpis",
                token,
                by="week",
                since=await page.js("document.getElementById('view-kpi').dataset.trendSince"),
                until=seen["until"],
            )
            check_against(seen, api, weeks)
            assert CJK.search(await page.visible_text())
            await page.screenshot("kpi-month-zh")

            # By duty volunteer: their names on the bars, nobody's last.
            await page.page.click('[data-choice="by"] button[data-value="dispatcher"]')
            await page.wait_js(
                "document.getElementById('view-kpi').dataset.by === 'dispatcher'"
                " && document.getElementById('view-kpi').dataset.state === 'ready'"
            )
            labels = await page.js(
                "[...document.querySelectorAll('#kpi-bars text.kpi-label')]"
                ".map((t) => t.firstChild.textContent)"  # the words drawn, not the <title>
            )
            assert set(DUTY) <= set(labels) and labels[-1] == "无人确认", labels
            await page.screenshot("kpi-by-dispatcher-zh")
            await page.page.click('[data-choice="by"] button[data-value="grid"]')
            await kpi_ready(page, "last_month")

            # English: the same numbers, in English words.
            await page.page.click("#lang")
            text = await page.visible_text()
            assert "Performance" in text and "Answered within 10 s" in text
            assert "Drills" in text and "统计" not in text
            check_against(await shown(page), api, weeks)
            await page.screenshot("kpi-month-en")

            # The month's report, from the button, in the page's language.
            async with page.page.expect_download() as started:
                await page.page.click("#kpi-report")
            download = await started.value
            assert download.suggested_filename == f"kpi-report-{since:%Y-%m}-en.pdf"
            pdf = await asyncio.to_thread(Path(await download.path()).read_bytes)
            reader = pypdf.PdfReader(io.BytesIO(pdf))
            report = "\n".join(p.extract_text() for p in reader.pages)
            assert "Jinjiang Hotel Block (G03)" in report and "李叔叔" in report
            assert f"{api['real']['total']['alarms']}" in report
