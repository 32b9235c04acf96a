"""Drills and duress through the real pages (decision 50), in headless Chromium: a drill
scheduled for a member runs through the phone page and the console (unannounced: DRILL only
once acknowledged); a duress alarm from the phone's header leaves the phone's screen as it
was and shows DURESS on the console.

Screenshots go to test-artifacts/screenshots (copied to docs/img for docs/phone.md and
docs/console.md).
"""

from __future__ import annotations

import asyncio
from typing import Any

from tests.dispatch_server.static.test_handheld_page import G03, enrolled, enrolment_url, on_shift
from tests.support.browser import console_page
from tests.support.phone import PhonePage, phone_page
from tests.support.servers import Running

# What the phone shows, as text and as markup (everything the member, or whoever holds the
# phone, could see or inspect), and whether it rang or vibrated.
# (After the test's touch on the header, Chromium had given the hidden file input an empty
# `style=""`: that shows nothing, and is left out; the screenshots are compared too.)
SCREEN = """({
  text: document.body.innerText,
  html: document.body.outerHTML.replaceAll(' style=""', ""),
  vibrations: window.__vibrations.length,
  rings: document.documentElement.dataset.rings ?? null,
})"""


async def _only_incident(server: Running) -> dict[str, Any]:
    async with asyncio.timeout(10):
        while not (listing := await server.api.get("/api/incidents"))["incidents"]:
            await asyncio.sleep(0.05)
    [incident] = listing["incidents"]
    detail: dict[str, Any] = await server.api.get(f"/api/incidents/{incident['incident_id']}")
    return detail


async def test_an_unannounced_drill_through_the_phone_and_the_console(server: Running) -> None:
    duty = await server.api.dispatcher("张阿姨")
    member, url = await enrolment_url(server, "王大爷")
    async with (
        console_page(server.base) as console,
        phone_page(url, lon=G03[0], lat=G03[1]) as phone,
    ):
        await console.sign_in(duty["token"])
        await enrolled(phone)
        await on_shift(phone)
        body = {"member_id": member["member_id"], "announced": False}
        drill = await server.api.post("/api/drills", body, duty["token"])

        prompt = phone.page.locator("#drill")
        await prompt.wait_for(state="visible", timeout=10_000)
        said = await prompt.inner_text()
        assert "演练" in said and "请按红色报警键" in said
        await phone.screenshot("phone-12-drill-prompt")

        await phone.hold("#key", 1.3)
        await phone.page.locator("#mine[data-state=accepted]").wait_for(timeout=10_000)
        assert await prompt.is_hidden()
        assert await phone.page.locator("#mine-drill").is_visible()
        await phone.screenshot("phone-13-drill-raised")

        # The console: a real alarm, as far as it knows.
        incident = await _only_incident(server)
        incident_id = incident["incident_id"]
        assert incident["drill"] is False, "unannounced: not a drill to the console yet"
        [listed] = await server.api.get("/api/drills", duty["token"])
        assert listed["incident_id"] == incident_id
        card = console.page.locator(f'#queue .card[data-incident="{incident_id}"]')
        await card.wait_for(timeout=10_000)
        await card.click()
        await console.page.locator("#ack").wait_for(timeout=5000)
        assert await console.page.locator(".drill-mark, #panel-drill").count() == 0
        assert "演练" not in await console.visible_text()
        await console.screenshot("console-14-drill-before-ack")

        # The duty volunteer acknowledges: now it says DRILL, in the panel and on the card.
        await console.page.click("#ack")
        banner = console.page.locator("#panel-drill")
        await banner.wait_for(timeout=10_000)
        assert "演练" in await banner.inner_text()
        await card.locator(".drill-mark").wait_for(timeout=10_000)
        await console.screenshot("console-15-drill-acknowledged")

    listed = await server.api.get("/api/drills", duty["token"])
    assert [(d["drill_id"], d["state"]) for d in listed] == [(drill["drill_id"], "raised")]
    kpis = await server.api.get("/api/kpis", duty["token"])
    assert kpis["real"]["total"]["alarms"] == 0 and kpis["drills"]["total"]["alarms"] == 1


async def _screen(phone: PhonePage) -> dict[str, Any]:
    shown: dict[str, Any] = await phone.js(SCREEN)
    return shown


async def test_a_duress_alarm_leaves_the_phone_as_it_was(server: Running) -> None:
    duty = await server.api.dispatcher("张阿姨")
    _, url = await enrolment_url(server, "王大爷")
    async with (
        console_page(server.base) as console,
        phone_page(url, lon=G03[0], lat=G03[1]) as phone,
    ):
        await console.sign_in(duty["token"])
        await enrolled(phone)
        await on_shift(phone)
        await phone.wait_js("document.getElementById('gps').textContent.includes('8')")
        await asyncio.sleep(0.5)  # the first render after the fix has settled
        before = await _screen(phone)
        shot_before = await phone.screenshot("phone-14-duress-before")

        await phone.hold("#who", 3.3)
        incident = await _only_incident(server)
        assert (incident["duress"], incident["category"]) == (True, "violence")
        # The alarm was accepted (the phone's outbox has it), and the centre acknowledges:
        # still nothing on the phone.
        await phone.wait_js(
            "window.handheld.outbox.all().then(a => a.length === 1 && a[0].state === 'accepted')"
            " && window.handheld.state.alarms.some(a => a.state === 'accepted')"
        )
        path = f"/api/incidents/{incident['incident_id']}/acknowledge"
        await server.api.post(path, {}, duty["token"])
        await asyncio.sleep(1.0)
        after = await _screen(phone)
        shot_after = await phone.screenshot("phone-15-duress-after")
        assert after == before
        assert shot_after.read_bytes() == shot_before.read_bytes(), "the screen changed"

        card = console.page.locator(f'#queue .card[data-incident="{incident["incident_id"]}"]')
        await card.locator(".duress-mark").wait_for(timeout=10_000)
        await card.click()
        banner = console.page.locator("#panel-duress")
        await banner.wait_for(timeout=10_000)
        assert "胁迫" in await banner.inner_text()
        await console.screenshot("console-16-duress")
