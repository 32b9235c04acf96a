"""The duty console in real headless Chromium, against real servers and real handhelds.

Each test signs in the way a volunteer does, and the handhelds are PatrolClient, the code
the volunteers' devices run. Screenshots of the main screens go to test-artifacts/screenshots
(docs/console.md shows them).
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from patrol_client.client import Link, PatrolClient
from patrol_client.outbox import AlarmState, Outbox
from patrol_client.position import CallbackSource, Fix, FixedPoint
from tests.support.balancer import balancing
from tests.support.browser import CJK, SCREENSHOTS, ConsolePage, console_page
from tests.support.patrols import fast_backoff, running, until
from tests.support.servers import Running, ServerProcess, free_port, in_process, settings_for

G03 = (113.041186, 28.1332667)  # inside the sample grid G03 (Jinjiang Hotel Block)


def handheld(
    base: str, member: dict[str, Any], box: Path, at: tuple[float, float] = G03
) -> PatrolClient:
    return PatrolClient(
        base,
        member["token"],
        Outbox(box),
        FixedPoint(*at),
        position_every_s=0.2,
        backoff=fast_backoff(),
    )


async def online(*clients: PatrolClient) -> None:
    await until(lambda: all(c.view.link is Link.ONLINE for c in clients))


async def test_an_alarm_rings_within_2_s_and_stops_when_acknowledged(
    server: Running, tmp_path: Path
) -> None:
    duty = await server.api.dispatcher("张阿姨")
    member = await server.api.member("王大爷", "G03")
    reporter = handheld(server.base, member, tmp_path / "r.sqlite3")
    async with console_page(server.base) as page, running(reporter):
        await page.screenshot("01-sign-in")
        await page.sign_in(duty["token"])
        assert await page.sound() == "on", "the sign-in click must unlock the sound"
        await online(reporter)

        pressed = time.monotonic()
        await reporter.alarm("medical")
        await page.page.wait_for_selector('#queue .card[data-status="open"]', timeout=2000)
        await page.wait_js("document.documentElement.dataset.sound === 'playing'", 2.0)
        assert time.monotonic() - pressed < 2.0
        # It rings again and again, and the title flashes, until someone acknowledges.
        first = await page.chimes()
        await page.wait_js(f"Number(document.documentElement.dataset.chimes) > {first + 1}", 6)
        titles = set()
        for _ in range(4):
            titles.add(await page.page.title())
            await asyncio.sleep(0.4)
        assert any("新报警" in t for t in titles) and len(titles) > 1, titles
        [(incident_id, status)] = await page.queue()
        assert status == "open"
        await page.screenshot("02-new-alarm")

        await page.page.keyboard.press("a")  # the shortcut; the big button does the same
        await page.wait_js("document.documentElement.dataset.sound === 'on'", 5)
        assert await page.queue() == [(incident_id, "acknowledged")]
        stopped = await page.chimes()
        await asyncio.sleep(2.5)
        assert await page.chimes() == stopped, "the chime went on after the acknowledgement"
        assert "新报警" not in await page.page.title()
        detail = await server.api.get(f"/api/incidents/{incident_id}", duty["token"])
        assert detail["status"] == "acknowledged"
        assert detail["acknowledged_by"] == f"dispatcher:{duty['dispatcher_id']}"


async def test_dispatch_two_responders_one_accepts_live_then_resolve(
    server: Running, tmp_path: Path
) -> None:
    duty = await server.api.dispatcher()
    reporter_m = await server.api.member("报警人", "G03")
    doctor_m = await server.api.member("李医生", "G03", ["medical"])
    guard_m = await server.api.member("赵保安", "G03", ["security"])
    reporter = handheld(server.base, reporter_m, tmp_path / "r.sqlite3")
    doctor = handheld(server.base, doctor_m, tmp_path / "d.sqlite3", (G03[0] + 0.0004, G03[1]))
    guard = handheld(server.base, guard_m, tmp_path / "g.sqlite3", (G03[0], G03[1] + 0.0008))
    async with (
        console_page(server.base) as page,
        running(reporter),
        running(doctor),
        running(guard),
    ):
        await page.sign_in(duty["token"])
        for c in (doctor, guard):
            c.set_shift(True)
        await until(lambda: doctor.view.on_shift and guard.view.on_shift)

        async def both_have_fixes() -> bool:
            members = await server.api.get("/api/members", duty["token"])
            return sum(1 for m in members if m["fix"] and m["fix"]["fresh"]) == 2

        async with asyncio.timeout(10):
            while not await both_have_fixes():
                await asyncio.sleep(0.05)
        alarm = await reporter.alarm("medical", "老人摔倒，意识模糊")
        await until(
            lambda: (a := reporter.outbox.get(alarm.alert_id)) is not None and a.incident_id
        )
        incident_id = reporter.outbox.get(alarm.alert_id).incident_id  # type: ignore[union-attr]

        await page.page.click(f'#queue .card[data-incident="{incident_id}"]')
        panel = page.page.locator("#panel")
        await panel.locator("#ack").wait_for()
        # The ranking, nearest suitable first, with distances and reasons.
        ranked = await panel.locator(".responder").all_inner_texts()
        assert ranked[0].startswith("李医生") and "米" in ranked[0] and "专长匹配" in ranked[0]
        await page.screenshot("03-incident-panel")

        for m in (doctor_m, guard_m):
            await panel.locator(f'input[data-member="{m["member_id"]}"]').check()
        await panel.locator("#dispatch").click()
        await until(lambda: incident_id in doctor.view.assignments)
        await until(lambda: incident_id in guard.view.assignments)
        await panel.locator('[data-reply="pending"]').nth(1).wait_for()

        doctor.answer_assignment(incident_id, True)
        guard.answer_assignment(incident_id, False)
        # Live: no reload, the panel turns both answers round as they are logged.
        await panel.locator('[data-reply="accepted"]').wait_for(timeout=5000)
        await panel.locator('[data-reply="declined"]').wait_for(timeout=5000)
        assert await panel.locator("#panel-status").get_attribute("data-status") == "responding"
        assert not re.search(r"\b(null|undefined|NaN)\b", await panel.inner_text())
        await page.screenshot("04-responder-accepted")

        # From the scene: arrived, then done, beside the responder and in the timeline.
        doctor.tell_status(incident_id, "arrived")
        chip = panel.locator(f'.responder[data-member="{doctor_m["member_id"]}"] .reply')
        await panel.locator('[data-state="arrived"]').wait_for(timeout=5000)
        assert await chip.inner_text() == "已到场"
        arrived = panel.locator('.timeline li[data-type="responder_status"]')
        await arrived.wait_for()
        assert (await arrived.inner_text()).endswith("李医生已到场")
        doctor.tell_status(incident_id, "done")
        await panel.locator('[data-state="done"]').wait_for(timeout=5000)
        assert await chip.inner_text() == "已处置完毕"
        assert (await arrived.nth(1).inner_text()).endswith("李医生已处置完毕")
        # The reporter says what it is after the press: the timeline and the heading follow.
        raw = await server.handheld(reporter_m["token"]).connect()
        await raw.send({"type": "alert_category", "alert_id": alarm.alert_id, "category": "theft"})
        await raw.expect("alert_category_recorded")
        changed = panel.locator('.timeline li[data-type="category_changed"]')
        await changed.wait_for(timeout=5000)
        assert "报警人：类别改为盗窃（原为医疗急救）" in await changed.inner_text()
        await panel.locator('h2[data-category="theft"]').wait_for(timeout=5000)

        await panel.locator("#note").fill("李医生已到场")
        await panel.locator("#add-note").click()
        await panel.locator('.timeline li[data-type="note_added"]').wait_for()
        # Resolving without a disposition is refused on the page; with one it goes through.
        await panel.locator("#resolve").click()
        await page.page.locator("#toast").wait_for()
        assert await panel.locator("#panel-status").get_attribute("data-status") == "responding"
        await panel.locator('input[name="disposition"][value="true_alarm"]').check()
        await panel.locator("#resolve").click()
        await panel.locator('#panel-status[data-status="resolved"]').wait_for()
        await panel.locator('.timeline li[data-type="incident_resolved"]').wait_for()

        detail = await server.api.get(f"/api/incidents/{incident_id}", duty["token"])
        shown = await panel.locator(".timeline li").evaluate_all(
            "items => items.map(li => [Number(li.dataset.seq), li.dataset.type])"
        )
        assert shown == [[e["seq"], e["type"]] for e in detail["timeline"]]
        kinds = [k for _, k in shown]
        for step in (
            "incident_opened",
            "responders_dispatched",
            "assignment_replied",
            "responder_status",
            "category_changed",
            "note_added",
            "incident_resolved",
        ):
            assert step in kinds, (step, kinds)
        assert kinds.count("assignment_replied") == 2
        assert detail["disposition"] == "true_alarm"
        await page.screenshot("05-resolved")


async def test_server_killed_and_restarted_the_page_catches_up_exactly_once(
    tmp_path: Path, database_url: str
) -> None:
    proc = ServerProcess(database_url, tmp_path / "server.log", port=free_port())
    srv = proc.start()
    try:
        duty = await srv.api.dispatcher()
        member = await srv.api.member("巡逻员", "G03")
        reporter = handheld(srv.base, member, tmp_path / "r.sqlite3")
        async with console_page(srv.base) as page, running(reporter):
            await page.sign_in(duty["token"])
            await page.js("window.sameDocument = true")
            for _ in range(3):
                await reporter.alarm("theft")
            await until(lambda: not reporter.outbox.pending())
            await page.wait_js("document.querySelectorAll('#queue .card').length === 3")

            proc.kill()
            await page.page.locator("#offline").wait_for(state="visible", timeout=5000)
            await page.screenshot("06-offline")
            # Alarms pressed during the outage wait in the handheld's outbox.
            for _ in range(2):
                await reporter.alarm("fire")
            proc.start()
            await until(lambda: not reporter.outbox.pending(), timeout=20)
            await page.page.locator("#offline").wait_for(state="hidden", timeout=15_000)
            await page.wait_js("document.querySelectorAll('#queue .card').length === 5", 10)

            listing = await srv.api.get("/api/incidents", duty["token"])
            logged = sorted(i["incident_id"] for i in listing["incidents"])
            shown = [i for i, _ in await page.queue()]
            assert len(logged) == 5
            assert sorted(shown) == logged, "every incident exactly once"
            stats = await page.feed_stats()
            assert stats["duplicates"] == 0 and stats["gaps"] == 0, stats
            assert stats["connects"] == 2, stats
            assert await page.js("window.sameDocument") is True, "the page must not reload"
            assert await page.js("window.dispatchConsole.feed.seq") == listing["last_seq"]
    finally:
        proc.stop()


async def _texts(page: ConsolePage) -> str:
    """The visible words, digits dropped (ages and clocks tick between two readings), less the
    language button, which names the other language in its own script on purpose."""
    switch = str(await page.js("document.getElementById('lang').innerText"))
    return re.sub(r"\d", "", (await page.visible_text()).replace(switch, "", 1))


async def test_the_language_switch_turns_every_visible_label_and_back(
    tmp_path: Path, database_url: str
) -> None:
    # ASCII names and no notes: in English nothing Chinese may remain visible.
    settings = settings_for(database_url, roll_call_timeout_s=2.0)
    async with in_process(settings) as server:
        duty = await server.api.dispatcher("Duty")
        member = await server.api.member("Wang", "G03")
        quiet = await server.api.member("Chen", "G05")
        patrol = handheld(server.base, member, tmp_path / "p.sqlite3")
        silent = handheld(server.base, quiet, tmp_path / "q.sqlite3", (113.0443, 28.1339))
        async with console_page(server.base) as page, running(patrol), running(silent):
            screens: list[tuple[str, str, str]] = []

            async def both_ways(screen: str) -> None:
                zh = await _texts(page)
                await page.page.click("#lang")
                en = await _texts(page)
                await page.screenshot(f"en-{screen}")
                await page.page.click("#lang")
                back = await _texts(page)
                screens.append((screen, zh, en))
                assert CJK.findall(en) == [], (screen, sorted(set(CJK.findall(en))))
                for words in (zh, en):
                    assert not re.search(r"\b(null|undefined|NaN)\b", words), (screen, words)
                assert back == zh, screen

            await both_ways("sign-in")
            await page.sign_in(duty["token"])
            patrol.set_shift(True)
            silent.set_shift(True)
            await until(lambda: patrol.view.on_shift and silent.view.on_shift)
            alarm = await patrol.alarm("suspicious")
            await until(lambda: not patrol.outbox.pending())
            await page.page.locator("#queue .card").first.click()
            await page.page.locator("#panel #ack").wait_for()
            await page.page.locator("#panel #ack").click()
            await page.wait_js("document.documentElement.dataset.sound === 'on'")
            # The acknowledgement reaches the timeline through the feed, after the sound
            # stops: wait for it, or it can land between the two readings of the page.
            acked = '#panel .timeline li[data-type="incident_acknowledged"]'
            await page.page.locator(acked).wait_for()
            # The header clock is first filled a second after sign-in: a reading before that
            # and one after would differ by it.
            await page.wait_js("document.getElementById('clock').textContent !== ''")
            await both_ways("incident")

            # Roll call: Wang answers through his handheld, Chen's grid stays silent.
            await page.page.click('#tabs [data-view="rollcall"]')
            await page.page.click('#rc-buttons [data-grid="G03"]')
            await until(lambda: bool(patrol.view.roll_calls))
            [rc_id] = patrol.view.roll_calls
            patrol.answer_roll_call(rc_id, "all_normal")
            row = page.page.locator('.rc-table tr[data-grid="G03"] td.ok')
            await row.filter(has_text="Wang").wait_for()
            await page.page.click("#rc-all")
            await page.page.locator(".rc-table tr.silent").first.wait_for(timeout=10_000)
            await page.screenshot("07-roll-call")
            await both_ways("roll-call")

            await page.page.click('#tabs [data-view="log"]')
            await page.page.click("#log-search")
            await page.page.locator(".log-table tr[data-incident]").first.wait_for()
            await page.screenshot("08-incident-log")
            await both_ways("log")
            assert alarm.alert_id
        assert len(screens) == 4


async def test_incident_log_search_and_export(server: Running, tmp_path: Path) -> None:
    duty = await server.api.dispatcher()
    a = await server.api.member("甲", "G03")
    b = await server.api.member("乙", "G05")
    pa = handheld(server.base, a, tmp_path / "a.sqlite3")
    pb = handheld(server.base, b, tmp_path / "b.sqlite3", (113.0443, 28.1339))
    async with console_page(server.base) as page, running(pa), running(pb):
        await page.sign_in(duty["token"])
        await pa.alarm("fire")
        await pb.alarm("theft")
        await pa.alarm("medical")
        await until(lambda: not pa.outbox.pending() and not pb.outbox.pending())
        await page.page.click('#tabs [data-view="log"]')
        await page.page.select_option('#log-form select[name="grid_id"]', "G03")
        await page.page.click("#log-search")
        rows = page.page.locator(".log-table tr[data-incident]")
        await rows.first.wait_for()
        assert await rows.count() == 2

        exported = list(csv.DictReader(io.StringIO(await page.download("#export-csv"))))
        assert sorted(r["category"] for r in exported) == ["fire", "medical"]
        assert {r["reporter_name"] for r in exported} == {"甲"}
        assert {r["grid_name_zh"] for r in exported} == {"锦江酒店街区"}

        body = json.loads(await page.download("#export-json"))
        assert sorted(i["category"] for i in body["incidents"]) == ["fire", "medical"]

        # A row opens the incident.
        await rows.first.click()
        await page.page.locator("#panel #ack").wait_for()


async def _fits(page: ConsolePage) -> None:
    """Nothing sideways to scroll, the header on one line, the big buttons big."""
    layout = await page.js(
        """() => ({
          overflow: document.documentElement.scrollWidth - window.innerWidth,
          header: document.getElementById('top').getBoundingClientRect().height,
          fontPx: parseFloat(getComputedStyle(document.documentElement).fontSize),
          button: document.getElementById('lang').getBoundingClientRect().height,
          map: document.getElementById('map').getBoundingClientRect().width,
        })"""
    )
    assert layout["overflow"] <= 0, layout
    assert layout["header"] < 4.5 * layout["fontPx"], layout
    assert layout["fontPx"] >= 18 and layout["button"] >= 44, layout
    assert layout["map"] > 200, layout


async def test_fits_1280_and_a_wall_screen_with_keyboard_shortcuts(
    server: Running, tmp_path: Path
) -> None:
    duty = await server.api.dispatcher()
    member = await server.api.member("巡逻员", "G03")
    reporter = handheld(server.base, member, tmp_path / "r.sqlite3")
    async with running(reporter):
        for category in ("fire", "medical", "theft"):
            await reporter.alarm(category)
        await until(lambda: not reporter.outbox.pending())
    for width, height in ((1280, 800), (3840, 2160)):
        async with console_page(server.base, width, height) as page:
            await page.sign_in(duty["token"])
            await page.wait_js("document.querySelectorAll('#queue .card').length === 3")
            await _fits(page)
            # N walks the queue top to bottom; A acknowledges the one shown.
            order = [i for i, _ in await page.queue()]
            for expected in order:
                await page.page.keyboard.press("n")
                await page.page.locator(f'#panel h2:has-text("#{expected} ")').wait_for()
            await _fits(page)
            await page.screenshot(f"{width}x{height}")
    async with console_page(server.base) as page:
        await page.sign_in(duty["token"])
        await page.wait_js("document.querySelectorAll('#queue .card').length === 3")
        for _ in range(3):
            await page.page.keyboard.press("a")  # the oldest unacknowledged, each time
            await asyncio.sleep(0.3)
        await page.wait_js("document.documentElement.dataset.sound === 'on'")
        assert [s for _, s in await page.queue()] == ["acknowledged"] * 3


async def test_map_tells_fresh_stale_and_offline_members_apart(
    tmp_path: Path, database_url: str
) -> None:
    tiles_at = free_port()  # a deployment's tile server; nobody listens, the tiles are only drawn
    settings = settings_for(
        database_url,
        fresh_fix_s=1.5,
        offline_after_s=2.0,
        map_tile_url=f"http://127.0.0.1:{tiles_at}/tiles/{{z}}/{{x}}/{{y}}.png",
    )
    async with in_process(settings) as server:
        duty = await server.api.dispatcher()
        fresh_m = await server.api.member("Fresh", "G03")
        stale_m = await server.api.member("Stale", "G03")
        gone_m = await server.api.member("Gone", "G03")
        fixes = [Fix(G03[0] + 0.0003, G03[1], 5.0)]
        fresh = handheld(server.base, fresh_m, tmp_path / "f.sqlite3")
        # One fix, then only heartbeats: heard from, but where is no longer known.
        stale = PatrolClient(
            server.base,
            stale_m["token"],
            Outbox(tmp_path / "s.sqlite3"),
            CallbackSource(lambda: fixes.pop() if fixes else None),
            position_every_s=0.2,
            backoff=fast_backoff(),
        )
        gone = handheld(server.base, gone_m, tmp_path / "g.sqlite3", (G03[0], G03[1] + 0.0005))
        async with console_page(server.base) as page, running(fresh), running(stale):
            async with running(gone):
                for c in (fresh, stale, gone):
                    c.set_shift(True)
                await until(
                    lambda: fresh.view.on_shift and stale.view.on_shift and gone.view.on_shift
                )
                await asyncio.sleep(0.5)
            # `gone` has dropped off the network without ending its shift.
            await page.sign_in(duty["token"])
            marks = {
                fresh_m["member_id"]: "fresh",
                stale_m["member_id"]: "stale",
                gone_m["member_id"]: "offline",
            }
            for member_id, state in marks.items():
                await page.page.locator(
                    f'#map circle.member.{state}[data-member="{member_id}"]'
                ).wait_for(timeout=15_000)
            legend = await page.page.locator("#legend").inner_text()
            assert "1.5秒" in legend and "2秒" in legend, legend
            tiles = await page.page.locator("#map image").evaluate_all(
                "images => images.map(i => i.getAttribute('href'))"
            )
            pattern = rf"http://127\.0\.0\.1:{tiles_at}/tiles/\d+/\d+/\d+\.png"
            assert tiles and all(re.fullmatch(pattern, t) for t in tiles), tiles
            await page.screenshot("09-member-marks")


async def test_an_escalation_that_reached_nobody_is_the_loudest_thing_on_the_panel(
    server: Running,
) -> None:
    """Issue 10, fix 7: an unattended alarm in a grid no security partner covers once read
    "已直接上报 / escalated to security" although nobody was reached."""
    duty = await server.api.dispatcher("张阿姨")
    h = await server.handheld((await server.api.member("王大爷", "G03"))["token"]).connect()
    accepted = await h.alarm(category="medical")  # nobody at a console: unattended
    assert accepted["unattended"] is True
    incident_id = accepted["incident_id"]
    async with asyncio.timeout(5):
        while not (detail := await server.api.get(f"/api/incidents/{incident_id}"))[
            "escalation_problems"
        ]:
            await asyncio.sleep(0.05)
    assert detail["escalated_to"] == []
    [problem] = detail["escalation_problems"]
    assert problem["trigger"] == "unattended" and "G03" in problem["problem"]
    async with console_page(server.base) as page:
        await page.sign_in(duty["token"])
        card = page.page.locator(f'#queue .card[data-incident="{incident_id}"]')
        await card.locator(".badge.alarm").wait_for(timeout=5000)
        await card.click()
        loud = page.page.locator("#panel #nobody-reached")
        await loud.wait_for(timeout=5000)
        assert "请马上直接打电话" in await loud.inner_text()
        panel_text = await page.page.locator("#panel").inner_text()
        assert "已直接上报" not in panel_text and "已上报安保" not in panel_text
        assert "自动上报失败" in panel_text  # the timeline says it too
        await page.screenshot("10-escalation-reached-nobody")
        await page.page.click("#lang")  # to English
        await page.wait_js("document.documentElement.lang === 'en'")
        text = await loud.inner_text()
        assert "reached nobody" in text and "Escalated to" not in text


async def test_suggestions_follow_who_comes_on_shift_and_skip_those_in_need(
    server: Running, tmp_path: Path
) -> None:
    """Issue 12: an alarm raised when nobody was on shift once said "没有可派遣的队员" for good,
    and members who had just raised their own alarm were offered as responders."""
    duty = await server.api.dispatcher("张阿姨")
    reporter_m = await server.api.member("王大爷", "G03")
    in_need_m = await server.api.member("孙阿姨", "G03")
    near_m = await server.api.member("李医生", "G03", ["medical"])
    far_m = await server.api.member("赵保安", "G03", ["security"])
    reporter = handheld(server.base, reporter_m, tmp_path / "r.sqlite3")
    in_need = handheld(server.base, in_need_m, tmp_path / "i.sqlite3", (G03[0] + 0.0002, G03[1]))
    near = handheld(server.base, near_m, tmp_path / "n.sqlite3", (G03[0] + 0.0009, G03[1]))
    far = handheld(server.base, far_m, tmp_path / "f.sqlite3", (G03[0], G03[1] + 0.0030))
    async with (
        console_page(server.base) as page,
        running(reporter),
        running(in_need),
        running(near),
        running(far),
    ):
        await page.sign_in(duty["token"])
        await online(reporter, in_need, near, far)
        alarm = await reporter.alarm("medical")
        await until(
            lambda: (a := reporter.outbox.get(alarm.alert_id)) is not None and a.incident_id
        )
        incident_id = reporter.outbox.get(alarm.alert_id).incident_id  # type: ignore[union-attr]
        await page.page.click(f'#queue .card[data-incident="{incident_id}"]')
        panel = page.page.locator("#panel")
        await panel.locator(".responders .empty").wait_for(timeout=5000)  # nobody on shift

        in_need.set_shift(True)
        await until(lambda: in_need.view.on_shift)
        await in_need.alarm("other")  # needs help: never asked to give it
        for c in (near, far):
            c.set_shift(True)
        await until(lambda: near.view.on_shift and far.view.on_shift)
        started = time.monotonic()
        for m in (near_m, far_m):
            await panel.locator(f'li.responder[data-member="{m["member_id"]}"]').wait_for(
                timeout=5000
            )
        assert time.monotonic() - started < 5.0
        listed = await panel.locator("ul.responders:not(.found) li.responder").evaluate_all(
            "items => items.map(li => Number(li.dataset.member))"
        )
        assert listed == [near_m["member_id"], far_m["member_id"]], listed
        assert in_need_m["member_id"] not in listed
        await page.screenshot("12-live-suggestions")

        # Anyone on shift can be found by name and sent, even one not suggested.
        await panel.locator("#find-member").fill("孙")
        await panel.locator(f'ul.found li[data-member="{in_need_m["member_id"]}"]').wait_for()
        await panel.locator("#find-member").fill("")
        await panel.locator(f'input[data-member="{near_m["member_id"]}"]').check()
        await panel.locator("#dispatch").click()
        await until(lambda: incident_id in near.view.assignments)
        await panel.locator('[data-reply="pending"]').wait_for(timeout=5000)


FAKE_SPEECH = """
window.__spoken = [];
const voices = %s;
Object.defineProperty(window, "speechSynthesis", {value: {
  getVoices: () => voices, speak: (u) => window.__spoken.push([u.text, u.lang]), cancel: () => {},
}});
window.SpeechSynthesisUtterance = class { constructor(text) { this.text = text; } };
"""


async def test_a_new_alarm_is_spoken_once_and_the_chime_says_it_without_a_voice(
    server: Running,
) -> None:
    """Issue 12: the console speaks each new alarm once in its language; with no voice for
    it, the chime is what is heard. Headless Chromium has no voices: the page's speech
    synthesis is replaced by one that records what it was asked."""
    duty = await server.api.dispatcher("张阿姨")
    h = await server.handheld((await server.api.member("王大爷", "G03"))["token"]).connect()
    zh = '[{"lang": "zh-CN", "name": "fake-zh"}, {"lang": "en-US", "name": "fake-en"}]'
    async with console_page(server.base) as page:
        await page.page.add_init_script(FAKE_SPEECH % zh)
        await page.page.reload()
        await page.sign_in(duty["token"])
        first = (await h.alarm(category="medical"))["incident_id"]
        await page.wait_js("window.__spoken.length === 1", 5)
        assert await page.js("window.__spoken") == [["三号网格，锦江酒店街区，医疗急救", "zh-CN"]]
        await page.page.click(f'#queue .card[data-incident="{first}"]')
        await page.page.keyboard.press("a")
        await page.page.click("#lang")  # English from now on
        await h.alarm(category="fire")
        await page.wait_js("window.__spoken.length === 2", 5)
        assert (await page.js("window.__spoken"))[1] == [
            "Grid 3, Jinjiang Hotel Block, Fire",
            "en-US",
        ]
        await page.page.click("#speech")  # off: the next alarm only rings
        assert await page.page.locator("#speech").get_attribute("aria-pressed") == "false"
        await h.alarm(category="theft")
        await page.page.wait_for_selector("#queue .card >> nth=2")
        await asyncio.sleep(0.5)
        assert len(await page.js("window.__spoken")) == 2
        await page.page.click("#speech")  # back on for the next test's browser: it is a fresh one

    async with console_page(server.base) as page:
        await page.page.add_init_script(FAKE_SPEECH % "[]")  # no voice at all
        await page.page.reload()
        await page.sign_in(duty["token"])
        chimes = await page.chimes()
        await h.alarm(category="violence")
        await page.wait_js("document.documentElement.dataset.speech === 'no-voice'", 5)
        await page.wait_js(f"Number(document.documentElement.dataset.chimes) > {chimes}", 5)
        assert await page.js("window.__spoken") == []


async def test_another_incident_opens_at_its_top(server: Running) -> None:
    """Issue 12: switching incidents kept the old scroll, so the new one's number and status
    were off-screen."""
    duty = await server.api.dispatcher("张阿姨")
    h = await server.handheld((await server.api.member("王大爷", "G03"))["token"]).connect()
    first = (await h.alarm(category="medical"))["incident_id"]
    second = (await h.alarm(category="fire"))["incident_id"]
    async with console_page(server.base, 1280, 800) as page:
        await page.sign_in(duty["token"])
        await page.page.click(f'#queue .card[data-incident="{first}"]')
        await page.page.locator("#panel #ack").wait_for()
        await page.js("document.getElementById('panel').scrollTop = 10000")
        assert await page.js("document.getElementById('panel').scrollTop") > 0
        await page.page.click(f'#queue .card[data-incident="{second}"]')
        await page.page.locator("#panel h2", has_text=f"#{second}").wait_for()
        await page.wait_js("document.getElementById('panel').scrollTop === 0", 3)


def _seconds(age: str) -> int:
    """An age as the console writes it ("已过 1分3秒", "21秒", "1 min 3 s ago") in seconds."""
    minutes = re.search(r"(\d+)\s*(?:分|min)", age)
    seconds = re.search(r"(\d+)\s*(?:秒|s\b)", age)
    assert minutes or seconds, age
    return (int(minutes.group(1)) * 60 if minutes else 0) + (
        int(seconds.group(1)) if seconds else 0
    )


async def test_an_alarm_held_on_the_handheld_shows_its_age_from_the_press_and_both_times(
    server: Running, tmp_path: Path
) -> None:
    """Issue 12, press time: the handheld's link is down when the key is pressed (its way to
    the centre opens only later, on a known port), the alarm waits ~20 s in its outbox, then
    gets through. The console shows nothing before the server has it; right after, the age
    counts from the press (≥ 20 s, not the second since it arrived), and the panel shows
    when the key was pressed and when the centre received it."""
    duty = await server.api.dispatcher("张阿姨")
    member = await server.api.member("王大爷", "G03")
    way_in = free_port()  # nothing listens here yet: the handheld's link is down
    reporter = handheld(f"http://127.0.0.1:{way_in}", member, tmp_path / "r.sqlite3")
    held_s = 20.0
    async with console_page(server.base) as page, running(reporter):
        await page.sign_in(duty["token"])
        pressed = time.time()
        alarm = await reporter.alarm("medical")
        assert alarm.pressed_at is not None
        assert abs(datetime.fromisoformat(alarm.pressed_at).timestamp() - pressed) < 1
        # Queued on the handheld, and nothing on the console: the server does not know yet.
        while time.time() - pressed < held_s:
            assert reporter.view.link is not Link.ONLINE
            [waiting] = reporter.outbox.pending()
            assert waiting.alert_id == alarm.alert_id and waiting.state is AlarmState.QUEUED
            assert await page.queue() == []
            await asyncio.sleep(2)

        async with balancing([("127.0.0.1", server.port)], port=way_in):
            card = page.page.locator('#queue .card[data-status="open"]')
            await card.wait_for(timeout=5000)
            arrived = time.time()
            shown = await card.locator(".age").inner_text()
            assert _seconds(shown) >= held_s, shown
            assert arrived - pressed < held_s + 5, "the test must see it right after delivery"
            [(incident_id, _)] = await page.queue()
            detail = await server.api.get(f"/api/incidents/{incident_id}", duty["token"])
            assert detail["pressed_at"] == alarm.pressed_at, "kept as the handheld said it"
            opened = datetime.fromisoformat(detail["opened_at"]).timestamp()
            assert opened - datetime.fromisoformat(alarm.pressed_at).timestamp() >= held_s
            assert detail["timeline"][0]["pressed_at_clamped"] is None

            await card.click()
            pressed_row = page.page.locator("#panel #panel-pressed")
            received_row = page.page.locator("#panel #panel-received")
            await pressed_row.wait_for(timeout=5000)
            assert "按键时间" in await pressed_row.inner_text()
            received = await received_row.inner_text()
            assert "收到时间" in received and "按键后" in received
            assert _seconds(received.split("按键后")[1]) >= held_s, received
            age = await page.page.locator("#panel #panel-age").inner_text()
            assert "按键至今" in age and _seconds(age) >= held_s, age
            await page.wait_js("document.getElementById('clock').textContent !== ''")
            await page.screenshot("12-press-time-both-times")
            await page.page.locator("#panel").screenshot(
                path=str(SCREENSHOTS / "12-press-time-panel.png")
            )

            await page.page.click("#lang")  # to English
            await page.wait_js("document.documentElement.lang === 'en'")
            assert "Key pressed at" in await pressed_row.inner_text()
            received = await received_row.inner_text()
            assert "Received at" in received and "after the press" in received
            assert (
                "Since the key press" in await page.page.locator("#panel #panel-age").inner_text()
            )
            await page.screenshot("en-12-press-time-both-times")
            await page.page.click("#lang")
            # The handheld hears it was taken.
            await until(lambda: not reporter.outbox.pending())
