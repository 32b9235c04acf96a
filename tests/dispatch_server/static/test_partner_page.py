"""The security partner's page (/partner/) in real headless Chromium, against real servers.

A hotel security desk signs in with its partner token, an alarm in a grid it covers rings
the page until the desk acknowledges, and what the desk does shows in the duty console.
Screenshots go to test-artifacts/screenshots (docs/console.md, "The partner page").
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.async_api import WebSocketRoute

from patrol_client.client import Link, PatrolClient
from patrol_client.outbox import Outbox
from patrol_client.position import FixedPoint
from tests.e2e.test_escalation import PARTNER_PAGE_CALLS
from tests.support.browser import CJK, ConsolePage, console_page
from tests.support.patrols import fast_backoff, running, until
from tests.support.servers import Running

G03 = (113.041186, 28.1332667)  # inside the sample grid G03 (Jinjiang Hotel Block)
G05 = (113.047233, 28.133991)  # inside G05 (Farmers' Market)


def handheld(base: str, member: dict[str, Any], box: Path) -> PatrolClient:
    return PatrolClient(
        base, member["token"], Outbox(box), FixedPoint(*G03), backoff=fast_backoff()
    )


RINGING = "document.documentElement.dataset.sound === 'playing'"
QUIET = "document.documentElement.dataset.sound === 'on'"


def record_calls(page: ConsolePage) -> list[tuple[str, str]]:
    """Every request the page makes to the server's API, as (method, path)."""
    calls: list[tuple[str, str]] = []

    def seen(request: Any) -> None:
        path = urlsplit(request.url).path
        if path.startswith(("/api/", "/ws/")):
            calls.append((request.method, path))

    page.page.on("request", seen)
    page.page.on("websocket", lambda ws: calls.append(("WS", urlsplit(ws.url).path)))
    return calls


def covered(calls: list[tuple[str, str]]) -> None:
    """The page calls nothing but what the isolation test checks with another partner."""
    patterns = [
        (m, re.compile(re.sub(r"\{\w+\}", r"\\d+", p) + "$")) for m, p in PARTNER_PAGE_CALLS
    ]
    for method, path in calls:
        assert any(m == method and p.match(path) for m, p in patterns), (method, path)


async def _fits(page: ConsolePage) -> None:
    """Nothing to scroll sideways, the header on one line, type and targets large."""
    layout = await page.js(
        """() => ({
          overflow: document.documentElement.scrollWidth - window.innerWidth,
          tall: document.documentElement.scrollHeight - window.innerHeight,
          header: document.getElementById('top').getBoundingClientRect().height,
          fontPx: parseFloat(getComputedStyle(document.documentElement).fontSize),
          button: document.getElementById('lang').getBoundingClientRect().height,
          map: document.getElementById('map')?.getBoundingClientRect().width ?? 0,
        })"""
    )
    assert layout["overflow"] <= 0 and layout["tall"] <= 0, layout
    assert layout["header"] < 4.5 * layout["fontPx"], layout
    assert layout["fontPx"] >= 20 and layout["button"] >= 50, layout
    assert layout["map"] > 150, layout


async def test_an_escalated_fire_rings_the_partner_page_until_acknowledged_and_the_console_sees_it(
    server: Running, tmp_path: Path
) -> None:
    hotel = await server.api.post("/api/partners", {"name": "锦江酒店保安部", "grids": ["G03"]})
    await server.api.post("/api/partners", {"name": "物业", "grids": ["G05"]})
    duty = await server.api.dispatcher("张阿姨")
    reporter = handheld(server.base, await server.api.member("王大爷", "G03"), tmp_path / "r")
    async with (
        console_page(server.base, path="/partner/") as partner,
        console_page(server.base) as console,
        running(reporter),
    ):
        calls = record_calls(partner)
        await partner.screenshot("partner-01-sign-in")
        await partner.sign_in(hotel["token"])
        assert await partner.sound() == "on", "the sign-in click must unlock the sound"
        assert "锦江酒店保安部" in await partner.page.locator("#top").inner_text()
        await console.sign_in(duty["token"])  # attended: the fire goes to security at once
        await until(lambda: reporter.view.link is Link.ONLINE)

        await reporter.alarm("fire", "饭店排烟管道冒浓烟")
        card = partner.page.locator('#list .card[data-mine="unacked"]')
        await card.wait_for(timeout=5000)
        incident_id = int(await card.get_attribute("data-incident") or 0)
        await partner.wait_js(RINGING, 5)
        first = await partner.chimes()
        await partner.wait_js(f"Number(document.documentElement.dataset.chimes) > {first + 1}", 6)
        detail = partner.page.locator("#detail")
        await detail.locator('#d-timeline li[data-type="incident_escalated"]').wait_for()
        await detail.locator(f'#map .incident.unacked[data-incident="{incident_id}"]').wait_for()
        text = await detail.inner_text()
        assert "火情" in text and "锦江酒店街区（G03）" in text and "饭店排烟管道冒浓烟" in text
        assert "王大爷" not in await partner.visible_text(), "a partner never sees who"
        await partner.screenshot("partner-02-ringing")

        await detail.locator("#ack").click()
        await partner.wait_js(QUIET, 5)
        stopped = await partner.chimes()
        await asyncio.sleep(2.5)
        assert await partner.chimes() == stopped, "the chime went on after the acknowledgement"
        await detail.locator("#update").fill("两名保安已到场，正在排烟")
        await detail.locator("#post-update").click()
        await detail.locator('#d-timeline li[data-type="partner_update"]').wait_for()
        await detail.locator('#d-timeline li[data-type="partner_acknowledged"]').wait_for()
        assert await detail.locator("#update").input_value() == ""
        assert await card.count() == 0
        await partner.screenshot("partner-1280x800-zh")
        await partner.page.click("#lang")
        await partner.wait_js("document.documentElement.lang === 'en'")
        assert "You acknowledged" in await detail.inner_text()
        await partner.screenshot("partner-1280x800-en")

        # The duty console shows both in the incident's timeline, live.
        await console.page.click(f'#queue .card[data-incident="{incident_id}"]')
        panel = console.page.locator("#panel")
        acked = panel.locator('.timeline li[data-type="partner_acknowledged"]')
        await acked.wait_for()
        update = panel.locator('.timeline li[data-type="partner_update"]')
        await update.wait_for()
        # With the partner's name, not "a partner" (issue 12).
        assert "锦江酒店保安部" in await acked.inner_text()
        assert "两名保安已到场，正在排烟" in await update.inner_text()
        assert "锦江酒店保安部" in await update.inner_text()
        logged = await server.api.get(f"/api/incidents/{incident_id}", duty["token"])
        assert logged["partner_acks"] == [hotel["partner_id"]]
        steps = {e["type"]: e for e in logged["timeline"]}
        assert steps["partner_acknowledged"]["partner_id"] == hotel["partner_id"]
        assert steps["partner_update"]["partner_id"] == hotel["partner_id"]
        assert steps["partner_update"]["actor"] == f"partner:{hotel['partner_id']}"
    assert ("WS", "/ws/partner") in calls and ("GET", "/api/partner/me") in calls
    covered(calls)


async def test_language_and_a_1920_screen_with_two_escalations(server: Running) -> None:
    """ASCII names and texts: in English nothing Chinese may remain visible. A second
    escalation while the first is acknowledged is shown at once and rings again."""
    hotel = await server.api.post(
        "/api/partners", {"name": "Jinjiang Hotel security", "grids": ["G03", "G04"]}
    )
    estate = await server.api.post("/api/partners", {"name": "Estate", "grids": ["G05"]})
    duty = await server.api.dispatcher()
    await server.console(duty["token"]).connect()
    h = await server.handheld((await server.api.member("Li", "G03"))["token"]).connect()
    async with console_page(server.base, 1920, 1080, "/partner/") as page:
        calls = record_calls(page)
        await page.sign_in(hotel["token"])
        fight = (await h.alarm(category="violence", lon=G03[0], lat=G03[1]))["incident_id"]
        await page.page.locator(
            f'#detail[data-incident="{fight}"], #d-one[data-incident="{fight}"]'
        ).wait_for()
        await page.page.click("#ack")
        await page.page.fill("#update", "Two guards on the way")
        await page.page.click("#post-update")
        await page.page.locator('#d-timeline li[data-type="partner_update"]').wait_for()
        async with server.api.client(duty["token"]) as api:
            await api.post(f"/api/incidents/{fight}/acknowledge")
            await api.post(f"/api/incidents/{fight}/notes", json={"text": "Police called too"})
        await page.page.locator('#d-timeline li[data-type="note_added"]').wait_for()
        # Elsewhere: a fight in G05 goes to the estate, never here.
        elsewhere = (await h.alarm(category="violence", lon=G05[0], lat=G05[1]))["incident_id"]
        fire = (await h.alarm(category="fire", lon=G03[0], lat=G03[1]))["incident_id"]
        await page.page.locator(f'#d-one[data-incident="{fire}"] #ack').wait_for(timeout=5000)
        await page.wait_js(RINGING, 5)
        assert [c for c in await _cards(page)] == [(fire, "unacked"), (fight, "acked")]
        assert elsewhere not in [i for i, _ in await _cards(page)]
        await page.page.locator('#d-timeline li[data-type="incident_escalated"]').wait_for()
        await page.wait_js("document.getElementById('clock').textContent !== ''")
        await _fits(page)
        zh = await page.visible_text()
        assert "待您确认" in zh and not re.search(r"\b(null|undefined|NaN)\b", zh), zh
        await page.screenshot("partner-1920x1080-zh")
        await page.page.click("#lang")
        switch = str(await page.js("document.getElementById('lang').innerText"))
        en = (await page.visible_text()).replace(switch, "", 1)  # 中文, in its own script
        assert CJK.findall(en) == [], sorted(set(CJK.findall(en)))
        assert "Acknowledge (stop the alarm)" in en and "Fire" in en, en
        assert not re.search(r"\b(null|undefined|NaN)\b", en), en
        await _fits(page)
        await page.screenshot("partner-1920x1080-en")
        # An earlier one, its timeline as this partner sees it.
        await page.page.click(f'#list .card[data-incident="{fight}"]')
        lines = page.page.locator(f'#d-one[data-incident="{fight}"] #d-timeline li')
        await lines.filter(has_text="Dispatch centre note: Police called too").wait_for()
        texts = await lines.all_inner_texts()
        assert any("escalated it to you" in t for t in texts), texts
        assert any("Your message: Two guards on the way" in t for t in texts), texts
        await page.page.click("#lang")
        await page.page.locator("#ack").wait_for(state="detached")
        assert await page.sound() == "playing"  # the fire still waits
    covered(calls)
    async with server.api.client(estate["token"]) as api:
        mine = (await api.get("/api/partner/incidents")).json()
    assert [i["incident_id"] for i in mine] == [elsewhere]


async def _cards(page: ConsolePage) -> list[tuple[int, str]]:
    cards = await page.js(
        "[...document.querySelectorAll('#list .card')]"
        ".map(c => [Number(c.dataset.incident), c.dataset.mine])"
    )
    return [(int(i), str(m)) for i, m in cards]


async def test_the_link_drops_events_meanwhile_arrive_once_on_resume_with_since(
    server: Running,
) -> None:
    """The page's socket is cut (the server keeps running) while the dispatch centre works
    on the partner's incident and a new one is escalated; the page shows the offline banner,
    reconnects by itself with `since`, and gets each missed event once, without a reload."""
    hotel = await server.api.post("/api/partners", {"name": "hotel", "grids": ["G03"]})
    duty = await server.api.dispatcher()
    await server.console(duty["token"]).connect()
    h = await server.handheld((await server.api.member("Li", "G03"))["token"]).connect()
    down = False
    sockets: list[Any] = []
    hellos: list[dict[str, Any]] = []

    async def route(ws: WebSocketRoute) -> None:
        if down:  # the network is out: refused at once, as a dead link is
            await ws.close()
            return
        upstream = ws.connect_to_server()

        def from_page(message: str | bytes) -> None:
            hellos.append(json.loads(message))
            upstream.send(message)

        ws.on_message(from_page)
        sockets.append((ws, upstream))

    async with console_page(server.base, path="/partner/") as page:
        await page.page.route_web_socket(re.compile(r".*/ws/partner$"), route)
        await page.sign_in(hotel["token"])
        await page.js("window.sameDocument = true")
        first = (await h.alarm(category="fire"))["incident_id"]
        await page.page.locator(f'#list .card[data-incident="{first}"]').wait_for()
        await page.page.click("#ack")
        await page.wait_js(QUIET, 5)
        await page.page.locator('#d-timeline li[data-type="partner_acknowledged"]').wait_for()
        seen = await page.js("window.partnerPage.feed.seq")

        down = True
        for ws, upstream in sockets:
            await ws.close()
            await upstream.close()
        await page.page.locator("#offline").wait_for(state="visible", timeout=5000)
        await page.screenshot("partner-offline")
        async with server.api.client(duty["token"]) as api:
            await api.post(f"/api/incidents/{first}/notes", json={"text": "fire brigade called"})
        second = (await h.alarm(category="fire"))["incident_id"]
        await asyncio.sleep(0.5)
        assert await page.js("window.partnerPage.connState") != "online"
        down = False

        await page.page.locator("#offline").wait_for(state="hidden", timeout=15_000)
        await page.page.locator(f'#list .card[data-incident="{second}"]').wait_for()
        await page.wait_js(RINGING, 5)
        assert hellos[0].get("since") is None and hellos[-1]["since"] == seen, hellos
        assert sorted(i for i, _ in await _cards(page)) == [first, second]
        await page.page.click(f'#list .card[data-incident="{first}"]')
        await page.page.locator('#d-timeline li[data-type="note_added"]').wait_for()
        stats = await page.js("({...window.partnerPage.feed.stats})")
        assert stats["duplicates"] == 0 and stats["connects"] == len(hellos), stats
        assert await page.js("window.sameDocument") is True, "the page must not reload"
