"""The team watch and coverage gaps where people see them, in real headless Chromium: the
phone shows its big "I am fine" button with the team-check words and answers with it; the
console shows an amber strip (a warning, not an alarm) for a drift and a coverage gap, in
Chinese and in English, and the strip empties when they end."""

from __future__ import annotations

from tests.dispatch_server.live.test_team_watch import _windows_now
from tests.dispatch_server.static.test_handheld_page import G03, enrolled, enrolment_url, on_shift
from tests.support.browser import console_page
from tests.support.phone import phone_page
from tests.support.servers import ADMIN, in_process, settings_for

FAR = (G03[0], G03[1] + 450 / 111_320)


async def test_a_drift_and_a_gap_reach_the_phone_and_the_console(database_url: str) -> None:
    settings = settings_for(
        database_url,
        team_drift_grace_s=1.0,
        coverage_grace_s=1.0,
        check_in_overdue_after_s=600.0,
        **_windows_now(),
    )
    async with in_process(settings) as server:
        for name in ("甲", "乙"):
            mate = await server.handheld((await server.api.member(name, "G03"))["token"]).connect()
            await mate.start_shift(*G03)
        member, url = await enrolment_url(server, "丙")
        idle = await server.api.member("丁", "G07")
        async with server.api.client(ADMIN) as api:
            plan = {"member_ids": [idle["member_id"]]}
            assert (await api.put("/api/roster/G07/morning", json=plan)).status_code == 200
        duty = await server.api.dispatcher("张阿姨")
        async with (
            console_page(server.base) as console,
            phone_page(url, lon=G03[0], lat=G03[1]) as phone,
        ):
            await console.sign_in(duty["token"])
            strip = console.page.locator("#watch")
            gap = console.page.locator('#watch [data-watch="gap-G07"]')
            await gap.wait_for(timeout=10_000)
            assert "早班在岗0人，少于2人" in await gap.inner_text()

            await enrolled(phone)
            await on_shift(phone)
            await phone.moved_to(*FAR)
            prompt = phone.page.locator("#checkin")
            await prompt.wait_for(state="visible", timeout=10_000)
            assert "离队友较远" in await phone.text("#checkin-text")
            await phone.screenshot("phone-09-team-check")
            drift = console.page.locator(f'#watch [data-watch="team-{member["member_id"]}"]')
            await drift.wait_for(timeout=10_000)
            assert "丙" in await drift.inner_text() and "米" in await drift.inner_text()
            assert await console.page.locator("#duties").is_hidden(), "a warning, not a fault"
            await console.page.click("#lang")
            assert "fewer than 2" in await gap.inner_text()
            assert "from their team" in await drift.inner_text()
            await console.screenshot("12-team-watch-strip")

            await phone.tap("#im-fine")
            await prompt.wait_for(state="hidden", timeout=5000)
            await phone.moved_to(*G03)
            await drift.wait_for(state="detached", timeout=10_000)
            async with server.api.client(ADMIN) as api:
                assert (
                    await api.put("/api/roster/G07/morning", json={"member_ids": []})
                ).is_success
            await strip.wait_for(state="hidden", timeout=10_000)
            assert console.errors == [] and phone.errors == []
