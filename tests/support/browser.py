"""The console in real headless Chromium (Debian's, driven by Playwright; no browser download).

`make test` installs Debian's chromium (see the Makefile); DISPATCH_TEST_CHROMIUM points
elsewhere if needed. Every page error or failed script fails the test that saw it.
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

from playwright.async_api import Page, async_playwright

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = Path(os.environ.get("DISPATCH_TEST_CHROMIUM", "/usr/bin/chromium"))
# As the machine notes say: without the background-networking flags Chromium keeps trying to
# reach Google's hosts, which this closed network refuses.
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# What the browser logs by itself while a test has killed the server.
EXPECTED_WHILE_DOWN = re.compile(
    r"WebSocket|ERR_CONNECTION_REFUSED|ERR_CONNECTION_RESET|ERR_EMPTY_RESPONSE"
    r"|ERR_SOCKET_NOT_CONNECTED"  # a poll on a kept-alive socket of the killed server
)
CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef\u3000-\u303f]")


@dataclass
class ConsolePage:
    page: Page
    errors: list[str] = field(default_factory=list)

    async def sign_in(self, token: str) -> None:
        await self.page.fill("#token", token)
        await self.page.click("#go")
        await self.page.wait_for_selector("#conn[data-state=online]", timeout=10_000)

    async def js(self, expression: str) -> Any:
        return await self.page.evaluate(expression)

    async def wait_js(self, expression: str, timeout_s: float = 10.0) -> None:
        await self.page.wait_for_function(expression, timeout=timeout_s * 1000)

    async def sound(self) -> str:
        return str(await self.js("document.documentElement.dataset.sound"))

    async def chimes(self) -> int:
        return int(await self.js("Number(document.documentElement.dataset.chimes || 0)"))

    async def queue(self) -> list[tuple[int, str]]:
        """The queue as shown, top to bottom: (incident id, status)."""
        cards = await self.js(
            "[...document.querySelectorAll('#queue .card')]"
            ".map(c => [Number(c.dataset.incident), c.dataset.status])"
        )
        return [(int(i), str(s)) for i, s in cards]

    async def feed_stats(self) -> dict[str, int]:
        return dict(await self.js("({...window.dispatchConsole.feed.stats})"))

    async def visible_text(self) -> str:
        return str(await self.js("document.body.innerText"))

    async def download(self, selector: str) -> str:
        """Click what starts a download, and return the file's text (BOM dropped)."""
        async with self.page.expect_download() as started:
            await self.page.click(selector)
        path = Path(await (await started.value).path())
        return await asyncio.to_thread(path.read_text, encoding="utf-8-sig")

    async def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        await self.page.screenshot(path=str(path))
        return path


@contextlib.asynccontextmanager
async def console_page(
    base: str, width: int = 1280, height: int = 800, path: str = "/"
) -> AsyncIterator[ConsolePage]:
    """A fresh browser (no stored token, no granted sound) on the console at `base` (or on
    another of the server's pages: `path="/partner/"`)."""
    if not await asyncio.to_thread(CHROMIUM.exists):
        raise RuntimeError(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        try:
            page = await browser.new_page(
                viewport={"width": width, "height": height}, accept_downloads=True
            )
            console = ConsolePage(page)
            page.on("pageerror", lambda exc: console.errors.append(f"page error: {exc}"))
            page.on(
                "console",
                lambda m: (
                    console.errors.append(f"console.{m.type}: {m.text}")
                    if m.type == "error" and not EXPECTED_WHILE_DOWN.search(m.text)
                    else None
                ),
            )
            await page.goto(base + path)
            try:
                yield console
            except BaseException:
                # What the page looked like when the test failed, beside the other screenshots.
                test = os.environ.get("PYTEST_CURRENT_TEST", "test").split(" ")[0]
                await console.screenshot("failed-" + re.sub(r"\W+", "-", test)[-80:])
                if console.errors:
                    print("page errors:", *console.errors, sep="\n  ")
                raise
            assert console.errors == [], console.errors
        finally:
            await browser.close()
