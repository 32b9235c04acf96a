"""Names and records in the console, in real headless Chromium (issue 12): the timeline names
the duty volunteers and the partners and keeps the closing note, the CSV export too, and a
roll call's cry for help reads as one, in Chinese and in English."""

from __future__ import annotations

import csv
import io
import re

from tests.support.browser import ConsolePage, console_page
from tests.support.servers import Running

G03 = (113.041186, 28.1332667)  # inside the sample grid G03 (锦江酒店街区)


async def _timeline(page: ConsolePage, kind: str) -> str:
    """The text of the timeline's (last) entry of this type, once it shows."""
    entry = page.page.locator(f'#panel .timeline li[data-type="{kind}"]').last
    await entry.wait_for(timeout=10_000)
    return await entry.inner_text()


async def _shot(page: ConsolePage, name: str) -> None:
    """A screenshot with the panel scrolled to its timeline's end, where these entries are."""
    # In one step in the page: the panel is redrawn under a locator's feet (every second
    # while an escalation clock runs).
    await page.js("document.querySelector('#panel .timeline li:last-child').scrollIntoView(false)")
    await page.screenshot(name)


async def test_the_timeline_names_duty_volunteers_and_partners_and_keeps_the_closing_note(
    server: Running,
) -> None:
    hotel = await server.api.post("/api/partners", {"name": "锦江酒店保安", "grids": ["G03"]})
    duty = await server.api.dispatcher("张阿姨")
    member = await server.api.member("王大爷", "G03")
    reporter = await server.handheld(member["token"]).connect()
    async with console_page(server.base) as page:
        await page.sign_in(duty["token"])
        incident_id = (await reporter.alarm(category="fire", note="厨房排烟管冒烟"))["incident_id"]
        await page.page.click(f'#queue .card[data-incident="{incident_id}"]')
        await page.page.locator("#panel #ack").click()
        assert "值班员张阿姨确认收到" in await _timeline(page, "incident_acknowledged")
        # A fire goes to the partners at once; the hotel's guards answer from their side.
        assert "锦江酒店保安" in await _timeline(page, "incident_escalated")
        partner_path = f"/api/partner/incidents/{incident_id}"
        await server.api.post(f"{partner_path}/acknowledge", {}, hotel["token"])
        await server.api.post(f"{partner_path}/updates", {"text": "两名保安已到场"}, hotel["token"])
        assert "合作方锦江酒店保安已确认" in await _timeline(page, "partner_acknowledged")
        update = await _timeline(page, "partner_update")
        assert "合作方锦江酒店保安消息：两名保安已到场" in update
        # A duty volunteer registered after this page loaded is named too.
        later = await server.api.dispatcher("李值班")
        notes = f"/api/incidents/{incident_id}/notes"
        await server.api.post(notes, {"text": "已通知物业"}, later["token"])
        assert "值班员李值班备注：已通知物业" in await _timeline(page, "note_added")

        panel = page.page.locator("#panel")
        await panel.locator('input[name="disposition"][value="true_alarm"]').check()
        await panel.locator("#closing").fill("灭火器扑灭，无人受伤")
        await panel.locator("#resolve").click()
        resolved = await _timeline(page, "incident_resolved")
        assert "值班员张阿姨结案：真实警情。结案说明：灭火器扑灭，无人受伤" in resolved
        text = await panel.inner_text()
        assert not re.search(r"值班员\d|合作方#|\b(null|undefined|NaN)\b", text), text
        await _shot(page, "12-timeline-names")

        await page.page.click("#lang")
        await page.wait_js("document.documentElement.lang === 'en'")
        assert "Duty volunteer 张阿姨 acknowledged" in await _timeline(
            page, "incident_acknowledged"
        )
        assert "Partner 锦江酒店保安 acknowledged" in await _timeline(page, "partner_acknowledged")
        assert "Update from partner 锦江酒店保安" in await _timeline(page, "partner_update")
        assert "Closing note: 灭火器扑灭，无人受伤" in await _timeline(page, "incident_resolved")
        await _shot(page, "en-12-timeline-names")
        await page.page.click("#lang")

        # The spreadsheet says the same.
        await page.page.click('#tabs [data-view="log"]')
        await page.page.click("#log-search")
        await page.page.locator(".log-table tr[data-incident]").first.wait_for()
        [row] = list(csv.DictReader(io.StringIO(await page.download("#export-csv"))))
        assert row["acknowledged_by_name"] == row["resolved_by_name"] == "张阿姨"
        assert row["reporter_name"] == "王大爷" and row["escalated_to_names"] == "锦江酒店保安"
        assert row["partner_acks_names"] == "锦江酒店保安"
        assert row["closing_note"] == "灭火器扑灭，无人受伤"
        assert (
            "锦江酒店保安: 两名保安已到场" in row["notes"] and "李值班: 已通知物业" in row["notes"]
        )


async def test_a_cry_for_help_at_roll_call_reads_as_one(server: Running) -> None:
    duty = await server.api.dispatcher("张阿姨")
    member = await server.api.member("王大爷", "G03")
    patrol = await server.handheld(member["token"]).connect()
    await patrol.start_shift(*G03)
    async with console_page(server.base) as page:
        await page.sign_in(duty["token"])
        await page.page.click('#tabs [data-view="rollcall"]')
        await page.page.click('#rc-buttons [data-grid="G03"]')
        rid = (await patrol.expect("roll_call"))["roll_call_id"]
        reply = {"type": "roll_call_reply", "roll_call_id": rid, "status": "need_help"}
        await patrol.send({**reply, "note": "脚扭伤了"})
        await patrol.expect("roll_call_recorded", roll_call_id=rid)

        await page.page.click('#tabs [data-view="incidents"]')
        card = page.page.locator("#queue .card").first
        await card.wait_for(timeout=10_000)
        assert f"点名时报告需要支援（第{rid}次点名）" in await card.inner_text()
        await card.click()
        opened = await _timeline(page, "incident_opened")
        assert f"王大爷在第{rid}次点名时报告需要支援：锦江酒店街区（G03）" in opened, opened
        assert "按报警人最近定位" in opened and "28.13" in opened
        assert "按下报警键" not in await page.page.locator("#panel").inner_text()
        assert "脚扭伤了" in await page.page.locator("#panel .facts").inner_text()
        await _shot(page, "13-roll-call-need-help")

        await page.page.click("#lang")
        await page.wait_js("document.documentElement.lang === 'en'")
        opened = await _timeline(page, "incident_opened")
        assert f"王大爷 asked for help during roll call {rid}: " in opened, opened
        assert "Jinjiang" in opened and "from the reporter's last fix" in opened
        assert "pressed the alarm key" not in await page.page.locator("#panel").inner_text()
        assert f"asked for help during roll call {rid}" in await card.inner_text()
        await _shot(page, "en-13-roll-call-need-help")
