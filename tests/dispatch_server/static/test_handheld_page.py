"""The phone handheld (/h/) in real headless Chromium, as a phone: a 360×740 touch screen,
emulated geolocation, offline mode and the fake camera, against a real server.

Screenshots go to test-artifacts/screenshots (docs/phone.md).
"""

from __future__ import annotations

import asyncio
import calendar
import time
from typing import Any

from tests.support.browser import CJK, console_page
from tests.support.phone import PhonePage, phone_page
from tests.support.servers import Running

G03 = (113.041186, 28.1332667)  # inside the sample grid G03 (Jinjiang Hotel Block)
G03_NEAR = (113.0420, 28.1338)


async def enrolment_url(
    server: Running, name: str, grid: str = "G03"
) -> tuple[dict[str, Any], str]:
    member = await server.api.member(name, grid)
    made = await server.api.post(f"/api/members/{member['member_id']}/enrolment", {})
    return member, str(made["url"])


async def enrolled(phone: PhonePage) -> None:
    await phone.wait_js("document.documentElement.dataset.signedIn === 'true'")
    await phone.page.locator("#link[data-state=online]").wait_for(timeout=10_000)


async def on_shift(phone: PhonePage) -> None:
    await phone.tap("#shift")
    await phone.page.locator("#shift-state[data-on=true]").wait_for(timeout=5000)


async def fix_of(server: Running, member_id: int) -> dict[str, Any] | None:
    roster = await server.api.get("/api/members")
    rows = roster if isinstance(roster, list) else roster["members"]
    row = next(r for r in rows if r["member_id"] == member_id)
    fix: dict[str, Any] | None = row.get("fix")
    return fix


async def test_enrol_from_the_card_link_go_on_patrol_and_the_console_sees_the_position(
    server: Running,
) -> None:
    duty = await server.api.dispatcher("张阿姨")
    member, url = await enrolment_url(server, "王大爷")
    async with (
        console_page(server.base) as console,
        phone_page(url, lon=G03[0], lat=G03[1]) as phone,
    ):
        await console.sign_in(duty["token"])
        await enrolled(phone)
        assert "#enrol=" not in phone.page.url, "a used code must leave the address bar"
        assert "王大爷" in await phone.text("#who")
        devices = await server.api.get(f"/api/members/{member['member_id']}/devices")
        assert [d["revoked_at"] for d in devices] == [None]
        await phone.screenshot("phone-01-enrolled")

        await on_shift(phone)
        started = time.monotonic()
        # The duty console's map: the member's dot, placed by a fix (not by the grid).
        dot = f'#map circle.member[data-member="{member["member_id"]}"] title'
        await console.wait_js(
            f"[...document.querySelectorAll('{dot}')].some(t => t.textContent.includes('按定位'))",
            5,
        )
        assert time.monotonic() - started < 5
        fix = await fix_of(server, member["member_id"])
        assert fix is not None
        assert abs(fix["lon"] - G03[0]) < 1e-6 and abs(fix["lat"] - G03[1]) < 1e-6, fix
        await phone.wait_js("document.getElementById('gps').textContent.includes('8')")
        await phone.page.locator("#wake[data-on=true]").wait_for(timeout=5000)
        await phone.screenshot("phone-02-on-patrol")


async def worker_ready(phone: PhonePage) -> None:
    """The service worker has taken the page: from now on it opens with no network."""
    await phone.wait_js("navigator.serviceWorker && navigator.serviceWorker.controller !== null")


async def outbox(phone: PhonePage) -> list[dict[str, Any]]:
    return list(await phone.js("window.handheld.outbox.all()"))


async def incidents_for(server: Running, alert_id: str) -> list[dict[str, Any]]:
    listing = await server.api.get("/api/incidents", limit=1000)
    found = []
    for view in listing["incidents"]:
        detail = await server.api.get(f"/api/incidents/{view['incident_id']}")
        opened = [e for e in detail["timeline"] if e["type"] == "incident_opened"]
        if opened and opened[0]["alert_id"] == alert_id:
            found.append(detail)
    return found


async def test_a_short_press_raises_nothing(server: Running) -> None:
    _, url = await enrolment_url(server, "李阿姨")
    async with phone_page(url, lon=G03[0], lat=G03[1]) as phone:
        await enrolled(phone)
        await phone.hold("#key", 0.3)
        await phone.page.locator("#key-hint[data-warn=true]").wait_for()
        await asyncio.sleep(1.5)  # longer than the hold: a press that fired late would be here
        assert await outbox(phone) == []
        assert (await server.api.get("/api/incidents"))["incidents"] == []


async def test_pressed_offline_reloaded_offline_then_online_is_accepted_exactly_once(
    server: Running,
) -> None:
    duty = await server.api.dispatcher("张阿姨")
    _, url = await enrolment_url(server, "王大爷")
    async with (
        console_page(server.base) as console,
        phone_page(url, lon=G03[0], lat=G03[1]) as phone,
    ):
        await console.sign_in(duty["token"])
        await enrolled(phone)
        await worker_ready(phone)
        # Only the page's socket may deliver it here (the worker's and the page's REST way
        # have a test of their own).
        await phone.context.route("**/api/alarms", lambda route: route.abort())
        await phone.set_offline(True)
        await phone.page.locator("#link[data-state=offline]").wait_for(timeout=5000)

        await phone.hold("#key", 1.3)
        mine = phone.page.locator("#mine")
        await phone.page.locator("#mine[data-state=queued]").wait_for(timeout=5000)
        assert "没有网络" in await mine.inner_text()
        assert "中心已收到" not in await mine.inner_text()
        [alarm] = await outbox(phone)
        await phone.screenshot("phone-03-queued-offline")

        before_reload = time.time()
        await phone.page.reload()
        await phone.page.locator("#mine[data-state=queued]").wait_for(timeout=10_000)
        assert [a["alert_id"] for a in await outbox(phone)] == [alarm["alert_id"]]
        assert (await server.api.get("/api/incidents"))["incidents"] == [], "sent while offline"

        await phone.set_offline(False)
        await phone.page.locator("#mine[data-state=accepted]").wait_for(timeout=15_000)
        assert "中心已收到" in await mine.inner_text()
        await phone.screenshot("phone-04-received")
        # The duty console has it in its queue, once.
        await console.page.locator("#queue .card").first.wait_for(timeout=5000)
        assert len(await console.queue()) == 1, await console.queue()

    [incident] = await incidents_for(server, alarm["alert_id"])
    assert incident["pressed_at"] == alarm["pressed_at"]
    pressed = calendar.timegm(time.strptime(alarm["pressed_at"][:19], "%Y-%m-%dT%H:%M:%S"))
    assert before_reload - 30 < pressed <= before_reload, (alarm["pressed_at"], before_reload)
    opened = [e for e in incident["timeline"] if e["type"] == "incident_opened"]
    assert len(opened) == 1


async def test_a_revoked_phone_is_signed_out_within_two_seconds(server: Running) -> None:
    member, url = await enrolment_url(server, "赵师傅")
    async with phone_page(url, lon=G03[0], lat=G03[1]) as phone:
        await enrolled(phone)
        [device] = await server.api.get(f"/api/members/{member['member_id']}/devices")
        async with server.api.client(server.api.admin_token) as admin:
            revoked = await admin.delete(
                f"/api/members/{member['member_id']}/devices/{device['device_id']}"
            )
        assert revoked.status_code == 200
        started = time.monotonic()
        await phone.wait_js("document.documentElement.dataset.signedIn === 'false'", 2.0)
        assert time.monotonic() - started < 2.0
        assert "已注销" in await phone.text("#enrol-title")
        assert "新的队员卡" in await phone.text("#enrol-text")
        assert await phone.js("window.handheld.state.token") is None
        await phone.screenshot("phone-09-signed-out")
        # A reload stays signed out: the token is gone from the phone, not just hidden.
        await phone.page.reload()
        await phone.wait_js("document.documentElement.dataset.signedIn === 'false'")
        assert await phone.js("window.handheld.kv.get('token')") is None


async def test_roll_call_and_check_in_are_answered_with_one_big_button(server: Running) -> None:
    member, url = await enrolment_url(server, "钱阿姨")
    duty = await server.api.dispatcher("张阿姨")
    async with phone_page(url, lon=G03[0], lat=G03[1]) as phone:
        await enrolled(phone)
        await on_shift(phone)
        rc = await server.api.post("/api/roll-calls", {"grid_ids": ["G03"]}, duty["token"])
        sheet = phone.page.locator("#rollcall")
        await sheet.wait_for(state="visible", timeout=5000)
        assert "点名" in await sheet.inner_text()
        sizes = await phone.js(
            "['rc-normal', 'rc-help']"
            ".map(id => document.getElementById(id).getBoundingClientRect().height)"
        )
        assert min(sizes) >= 100, sizes
        await phone.screenshot("phone-07-roll-call")
        await phone.tap("#rc-normal")
        await sheet.wait_for(state="hidden", timeout=5000)
        answered = await server.api.get(f"/api/roll-calls/{rc['roll_call_id']}", duty["token"])
        assert member["member_id"] in answered["tally"]["G03"]["all_normal"], answered["tally"]

        # Lone-worker mode: a period of 1 s, so the warning comes at once.
        async with server.api.client(server.api.admin_token) as admin:
            made = await admin.put(
                "/api/check-in-rules",
                json={"member_id": member["member_id"], "period_s": 1, "overdue_after_s": 600},
            )
        assert made.status_code == 200, made.text
        prompt = phone.page.locator("#checkin")
        await prompt.wait_for(state="visible", timeout=10_000)
        await phone.screenshot("phone-08-check-in")
        async with server.api.client(server.api.admin_token) as admin:
            off = await admin.put(
                "/api/check-in-rules", json={"member_id": member["member_id"], "period_s": None}
            )
        assert off.status_code == 200, off.text
        await phone.tap("#im-fine")
        await prompt.wait_for(state="hidden", timeout=5000)
    feed = await server.console(duty["token"]).connect(since=0)
    events = await feed.events_until(
        lambda got: bool(got) and got[-1]["type"] == "member_checked_in"
    )
    assert events[-1]["member_id"] == member["member_id"]


async def test_an_assignment_rings_and_vibrates_and_accept_arrived_done_reach_the_console(
    server: Running,
) -> None:
    duty = await server.api.dispatcher("张阿姨")
    reporter = await server.handheld((await server.api.member("王大爷", "G03"))["token"]).connect()
    member, url = await enrolment_url(server, "刘医生")
    async with (
        console_page(server.base) as console,
        phone_page(url, lon=G03_NEAR[0], lat=G03_NEAR[1]) as phone,
    ):
        await console.sign_in(duty["token"])
        await enrolled(phone)
        await on_shift(phone)
        opened = await reporter.alarm(
            category="medical", lon=G03[0], lat=G03[1], note="老人在楼道摔倒"
        )
        incident_id = opened["incident_id"]
        async with server.api.client(duty["token"]) as api:
            called = await api.post(
                f"/api/incidents/{incident_id}/dispatch", json={"member_ids": [member["member_id"]]}
            )
        assert called.status_code == 200, called.text

        sheet = phone.page.locator("#assignment")
        await sheet.wait_for(state="visible", timeout=5000)
        await phone.wait_js("document.documentElement.dataset.ring === 'ringing'")
        # It repeats: more than one vibration and more than one tone, until answered.
        await phone.wait_js("window.__vibrations.length >= 2", 8)
        await phone.wait_js("Number(document.documentElement.dataset.rings || 0) >= 2", 8)
        facts = await sheet.inner_text()
        for word in ("急病受伤", "锦江酒店街区", "老人在楼道摔倒", "王大爷", "米"):
            assert word in facts, (word, facts)
        assert await phone.page.locator("#minimap [data-what=incident]").count() == 1
        assert await phone.page.locator("#minimap [data-what=me]").count() == 1
        assert not await phone.page.locator("#arrived").is_visible(), "arrived before accepting"
        assert not await phone.page.locator("#done").is_visible(), "done before accepting"
        await phone.screenshot("phone-05-assignment")

        vibrations = int(await phone.js("window.__vibrations.length"))
        await phone.tap("#accept")
        await phone.wait_js("document.documentElement.dataset.ring === 'quiet'", 5)
        rings = int(await phone.js("Number(document.documentElement.dataset.rings)"))
        await phone.page.locator("#arrived").wait_for(state="visible")
        # A responder in trouble at the scene reaches the red key, and the call-out again.
        await phone.tap("#fold")
        await phone.page.locator("#key").wait_for(state="visible")
        await phone.tap("#task")
        await phone.tap("#arrived")
        await phone.page.locator("#done").wait_for(state="visible")
        await phone.screenshot("phone-06-arrived")
        await phone.tap("#done")
        await phone.wait_js(
            "document.getElementById('assignment-state').textContent.includes('谢谢')"
        )
        # Answered: a vibrate(0) stops the motor, and nothing rings or buzzes after it.
        after = await phone.js(f"window.__vibrations.slice({vibrations})")
        assert 0 in after and after[after.index(0) + 1 :] == [], after
        assert int(await phone.js("Number(document.documentElement.dataset.rings)")) == rings

        await console.page.click(f'#queue .card[data-incident="{incident_id}"]')
        timeline = console.page.locator("#panel .timeline")
        await timeline.locator('li[data-type="assignment_replied"]').wait_for()
        await timeline.locator('li[data-type="responder_status"]').nth(1).wait_for()
        text = await timeline.inner_text()
        assert "刘医生" in text and "已到场" in text, text
    detail = await server.api.get(f"/api/incidents/{incident_id}", duty["token"])
    statuses = [e["status"] for e in detail["timeline"] if e["type"] == "responder_status"]
    assert statuses == ["arrived", "done"]


async def test_a_photo_and_a_clip_reach_the_console_and_a_retried_upload_stores_nothing_twice(
    server: Running,
) -> None:
    duty = await server.api.dispatcher("张阿姨")
    _, url = await enrolment_url(server, "王大爷")
    async with (
        console_page(server.base) as console,
        phone_page(url, lon=G03[0], lat=G03[1]) as phone,
    ):
        await console.sign_in(duty["token"])
        await enrolled(phone)
        await phone.hold("#key", 1.3)
        await phone.page.locator("#mine[data-state=accepted]").wait_for(timeout=5000)
        incident_id = int(await phone.js("window.handheld.state.alarms[0].incident_id"))

        # The first chunk reaches the server, but its answer is lost on the way back: the
        # phone must find out how much the server has, and go on from there.
        lost: list[str] = []

        async def lose_first_answer(route: Any) -> None:
            if not lost:
                await route.fetch()
                lost.append(route.request.url)
                await route.abort()
            else:
                await route.continue_()

        await phone.page.route("**/api/media/*/content*", lose_first_answer)
        await phone.tap("#add-photo")
        await phone.page.locator("#camera").wait_for(state="visible")
        await phone.wait_js("document.getElementById('viewfinder').videoWidth > 0")
        await phone.tap("#shoot")
        await phone.page.locator("#media-state[data-done='1']").wait_for(timeout=15_000)
        assert lost, "the lost answer was never tried"

        await phone.page.unroute("**/api/media/*/content*")

        # The clip, in chunks: the answer to the second is lost, so the phone asks the
        # server how much it has and goes on from there, never sending a chunk twice. Then
        # the network fails the rest, and the page is reloaded mid-upload.
        offsets: list[int] = []

        async def lossy(route: Any) -> None:
            offsets.append(int(route.request.url.rsplit("offset=", 1)[1]))
            if len(offsets) == 2:
                await route.fetch()
                await route.abort()
            elif len(offsets) > 4:
                await route.abort()
            else:
                await route.continue_()

        chunk = 32 * 1024  # the fake camera's 5 s clip is about 300 KB: ten chunks or so
        await phone.js(f"window.handheld.uploader.chunkBytes = {chunk}")
        await phone.page.route("**/api/media/*/content*", lossy)
        await phone.tap("#add-clip")
        await phone.wait_js("document.getElementById('rec-time').textContent.includes('5 s')", 10)
        await phone.tap("#shoot")
        async with asyncio.timeout(15):
            while len(offsets) < 5:  # through the lost answer, on to the failing network
                await asyncio.sleep(0.05)
        await phone.wait_js(
            "window.handheld.state.uploads.some(u => u.kind === 'clip' && u.received > 0"
            " && u.state === 'waiting')",
            15,
        )
        clip_size = int(
            await phone.js("window.handheld.state.uploads.find(u => u.kind === 'clip').blob.size")
        )
        assert clip_size > 5 * chunk, f"the clip is too small to test the resume: {clip_size}"
        assert offsets[:4] == [0, chunk, 2 * chunk, 3 * chunk], offsets
        await phone.page.unroute("**/api/media/*/content*")
        await phone.page.reload()
        await phone.page.locator("#media-state[data-done='2']").wait_for(timeout=20_000)
        await phone.screenshot("phone-10-photo-and-clip")

        await console.page.click(f'#queue .card[data-incident="{incident_id}"]')
        panel = console.page.locator("#panel")
        await panel.locator("img").first.wait_for()
        await console.wait_js(
            "[...document.querySelectorAll('#panel img')].some(i => i.naturalWidth > 0)"
        )
        await panel.locator("video").first.wait_for()
        timeline = panel.locator(".timeline")
        await timeline.locator('li[data-type="media_attached"]').nth(1).wait_for()
    detail = await server.api.get(f"/api/incidents/{incident_id}", duty["token"])
    kinds = sorted(m["kind"] for m in detail["media"])
    assert kinds == ["clip", "photo"], detail["media"]
    attached = [e for e in detail["timeline"] if e["type"] == "media_attached"]
    assert len(attached) == 2
    clip = next(m for m in detail["media"] if m["kind"] == "clip")
    assert 4 <= clip["duration_s"] <= 8, clip


async def fits_one_thumb(phone: PhonePage) -> None:
    """Nothing to scroll sideways on a 360 px screen; type and every button large."""
    layout = await phone.js(
        """() => ({
          overflow: document.documentElement.scrollWidth - window.innerWidth,
          fontPx: parseFloat(getComputedStyle(document.documentElement).fontSize),
          key: document.getElementById('key').getBoundingClientRect().width,
          small: [...document.querySelectorAll('button, label.file')]
            .filter(b => b.offsetParent !== null)
            .map(b => [b.id || b.textContent, b.getBoundingClientRect().height])
            .filter(([, h]) => h < 44),
        })"""
    )
    assert layout["overflow"] <= 0, layout
    assert layout["fontPx"] >= 20 and layout["key"] >= 200, layout
    assert layout["small"] == [], layout


async def test_english_on_a_phone_one_thumb_no_chinese_left(server: Running) -> None:
    _, url = await enrolment_url(server, "Li")
    async with phone_page(url, lon=G03[0], lat=G03[1]) as phone:
        await enrolled(phone)
        await fits_one_thumb(phone)
        await phone.tap("#lang")
        await phone.wait_js("document.documentElement.lang === 'en'")
        await on_shift(phone)
        await phone.hold("#key", 1.3)
        await phone.page.locator("#mine[data-state=accepted]").wait_for(timeout=5000)
        await phone.tap('#category-buttons button[data-category="fire"]')
        await phone.page.locator("#mine-category[data-sent=true]").wait_for(timeout=5000)
        await fits_one_thumb(phone)
        text = await phone.js("document.body.innerText")
        switch = await phone.text("#lang")
        grid = await phone.text("#who small")
        visible = text.replace(switch, "", 1)
        assert "Jinjiang" in grid, grid
        assert CJK.findall(visible) == [], sorted(set(CJK.findall(visible)))
        # No duty console is open in this test: the words say so, and claim nothing more.
        assert "Received (no one at the duty console right now" in visible, visible
        assert "What: Fire" in visible, visible
        await phone.screenshot("phone-11-english")
        # The language is kept across a reload.
        await phone.page.reload()
        await phone.wait_js("document.documentElement.lang === 'en'")


async def test_an_alarm_pressed_offline_is_sent_by_the_worker_after_the_tab_was_closed(
    server: Running,
) -> None:
    """The tab is closed with the alarm still queued; when the network is back the browser
    wakes the service worker with a Background Sync event (dispatched here through the
    DevTools protocol, as the browser does on a network change), and the worker delivers
    it over REST with no page open."""
    _, url = await enrolment_url(server, "孙大姐")
    async with phone_page(url, lon=G03[0], lat=G03[1]) as phone:
        await enrolled(phone)
        await worker_ready(phone)
        await phone.set_offline(True)
        await phone.page.locator("#link[data-state=offline]").wait_for(timeout=5000)
        await phone.hold("#key", 1.3)
        await phone.page.locator("#mine[data-state=queued]").wait_for(timeout=5000)
        [alarm] = await outbox(phone)

        # Another tab (of another origin) watches the workers; the phone's tab is closed.
        watcher = await phone.context.new_page()
        cdp = await phone.context.new_cdp_session(watcher)
        registrations: list[dict[str, Any]] = []
        cdp.on(
            "ServiceWorker.workerRegistrationUpdated",
            lambda event: registrations.extend(event["registrations"]),
        )
        await cdp.send("ServiceWorker.enable")
        await phone.page.close()
        await phone.set_offline(False)
        origin = server.base.rstrip("/")
        started = time.monotonic()
        while not any(r["scopeURL"].startswith(origin) for r in registrations):
            assert time.monotonic() - started < 5, registrations
            await asyncio.sleep(0.05)
        registration = next(r for r in registrations if r["scopeURL"].startswith(origin))
        await cdp.send(
            "ServiceWorker.dispatchSyncEvent",
            {
                "origin": origin,
                "registrationId": registration["registrationId"],
                "tag": "alarm-outbox",
                "lastChance": False,
            },
        )
        found: list[dict[str, Any]] = []
        while not found:
            assert time.monotonic() - started < 10, "the worker did not deliver the alarm"
            found = await incidents_for(server, alarm["alert_id"])
            await asyncio.sleep(0.1)
        assert found[0]["pressed_at"] == alarm["pressed_at"]
        # The worker wrote the answer into the outbox: a page opened later says received.
        # `unattended` (no console in this test) is written only from an acceptance, which
        # no socket has sent: it is the worker's.
        reopened = await phone.context.new_page()
        await reopened.goto(server.base + "/h/")
        await reopened.locator("#mine[data-state=accepted]").wait_for(timeout=10_000)
        [kept] = await reopened.evaluate("window.handheld.outbox.all()")
        assert kept["unattended"] is True and kept["accepted_at"], kept
    assert len(await incidents_for(server, alarm["alert_id"])) == 1


async def test_a_used_card_says_so_and_signs_nobody_in(server: Running) -> None:
    member, url = await enrolment_url(server, "周大哥")
    code = url.split("#enrol=", 1)[1]
    await server.api.post("/api/enrol", {"code": code, "device_name": "the first phone"})
    async with phone_page(url, lon=G03[0], lat=G03[1]) as phone:
        await phone.wait_js("document.documentElement.dataset.signedIn === 'false'")
        await phone.wait_js("document.getElementById('enrol-text').textContent.includes('用过')")
        assert "没有成功" in await phone.text("#enrol-title")
        assert await phone.js("window.handheld.kv.get('token')") is None
        # The browser itself logs the refused exchange; nothing else went wrong.
        assert all("409 (Conflict)" in e for e in phone.errors), phone.errors
        phone.errors.clear()
    devices = await server.api.get(f"/api/members/{member['member_id']}/devices")
    assert [d["name"] for d in devices] == ["the first phone"]
