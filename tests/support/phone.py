"""The phone handheld page (/h/) in real headless Chromium, as a phone: a 360×740 touch
screen, emulated geolocation, offline mode, and Chromium's fake camera and microphone.

Calls to `navigator.vibrate` are counted in the page (`window.__vibrations`), since a
headless browser has no motor to feel; the sound is counted by the page itself
(`<html data-rings>`, only when its AudioContext really runs).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.async_api import BrowserContext, CDPSession, Page, async_playwright

from tests.support.browser import ARGS, CHROMIUM, EXPECTED_WHILE_DOWN, SCREENSHOTS

PHONE_ARGS = [
    *ARGS,
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
]
# What the browser logs by itself while the page is offline or the server is down.
EXPECTED_OFFLINE = re.compile(
    EXPECTED_WHILE_DOWN.pattern + r"|ERR_INTERNET_DISCONNECTED|Failed to fetch|net::ERR_FAILED"
)
VIBRATE_SPY = """
window.__vibrations = [];
navigator.vibrate = (pattern) => { window.__vibrations.push(pattern); return true; };
"""


@dataclass
class PhonePage:
    page: Page
    context: BrowserContext
    cdp: CDPSession
    errors: list[str] = field(default_factory=list)

    async def js(self, expression: str) -> Any:
        return await self.page.evaluate(expression)

    async def wait_js(self, expression: str, timeout_s: float = 10.0) -> None:
        await self.page.wait_for_function(expression, timeout=timeout_s * 1000)

    async def text(self, selector: str) -> str:
        return str(await self.page.locator(selector).inner_text())

    async def hold(self, selector: str, seconds: float) -> None:
        """A finger on `selector` for `seconds`: real touch events, so the page sees
        pointer events of type "touch" as on a phone."""
        box = await self.page.locator(selector).bounding_box()
        assert box is not None, selector
        point = {"x": box["x"] + box["width"] / 2, "y": box["y"] + box["height"] / 2}
        await self.cdp.send(
            "Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [point]}
        )
        await asyncio.sleep(seconds)
        await self.cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})

    async def tap(self, selector: str) -> None:
        await self.page.locator(selector).tap()

    async def set_offline(self, offline: bool) -> None:
        await self.context.set_offline(offline)

    async def moved_to(self, lon: float, lat: float, accuracy: float = 8.0) -> None:
        await self.context.set_geolocation(
            {"longitude": lon, "latitude": lat, "accuracy": accuracy}
        )

    async def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        await self.page.screenshot(path=str(path))
        return path


@contextlib.asynccontextmanager
async def phone_page(
    url: str, *, lon: float, lat: float, lang: str = "zh-CN"
) -> AsyncIterator[PhonePage]:
    """A fresh phone (no stored token, no service worker) opening `url`, standing at
    (lon, lat) with location and camera allowed."""
    if not await asyncio.to_thread(CHROMIUM.exists):
        raise RuntimeError(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    origin = re.match(r"https?://[^/]+", url)
    assert origin is not None, url
    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=PHONE_ARGS
        )
        try:
            context = await browser.new_context(
                viewport={"width": 360, "height": 740},
                device_scale_factor=2,
                is_mobile=True,
                has_touch=True,
                locale=lang,
                geolocation={"longitude": lon, "latitude": lat, "accuracy": 8},
                permissions=["geolocation", "camera", "microphone"],
                accept_downloads=True,
            )
            await context.add_init_script(VIBRATE_SPY)
            page = await context.new_page()
            phone = PhonePage(page, context, await context.new_cdp_session(page))
            # A phone lets a visible page keep the screen on. Playwright's permission list
            # has no name for it (and its grant denies every other), so it is set in
            # Chromium's own terms, for this context.
            target = await phone.cdp.send("Target.getTargetInfo")
            await phone.cdp.send(
                "Browser.setPermission",
                {
                    "permission": {"name": "screen-wake-lock"},
                    "setting": "granted",
                    "origin": origin.group(0),
                    "browserContextId": target["targetInfo"]["browserContextId"],
                },
            )
            page.on("pageerror", lambda exc: phone.errors.append(f"page error: {exc}"))
            page.on(
                "console",
                lambda m: (
                    phone.errors.append(f"console.{m.type}: {m.text}")
                    if m.type == "error" and not EXPECTED_OFFLINE.search(m.text)
                    else None
                ),
            )
            await page.goto(url)
            try:
                yield phone
            except BaseException:
                test = os.environ.get("PYTEST_CURRENT_TEST", "test").split(" ")[0]
                with contextlib.suppress(Exception):
                    await phone.screenshot("failed-" + re.sub(r"\W+", "-", test)[-80:])
                if phone.errors:
                    print("page errors:", *phone.errors, sep="\n  ")
                raise
            assert phone.errors == [], phone.errors
        finally:
            await browser.close()
