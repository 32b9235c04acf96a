"""The console redraws its map when an administrator applies a new grid file (decision 45):
`grids_changed` on the console socket, then `GET /api/grids`, in real Chromium."""

from __future__ import annotations

from tests.dispatch_server.api.test_grids import new_map
from tests.support.browser import console_page
from tests.support.servers import Running


async def test_the_map_and_the_roll_call_buttons_follow_an_applied_grid_file(
    server: Running,
) -> None:
    duty = await server.api.dispatcher("张阿姨")
    async with console_page(server.base) as page:
        await page.sign_in(duty["token"])
        await page.page.locator('#map path.grid[data-grid="G08"]').wait_for()
        before = await page.feed_stats()
        async with server.api.client(server.api.admin_token) as admin:
            answer = await admin.put("/api/grids", json=new_map())
        assert answer.status_code == 200, answer.text
        await page.page.locator('#map path.grid[data-grid="G11"]').wait_for()
        await page.page.locator('#map path.grid[data-grid="G08"]').wait_for(state="detached")
        ids = await page.js("window.dispatchConsole.grids.features.map((f) => f.id)")
        assert "G11" in ids and "G08" not in ids
        buttons = await page.js("document.getElementById('rc-buttons').innerText")
        assert "G11" in buttons or "新区" in buttons or "New Block" in buttons, buttons
        # The notice is not an event: the feed's seq moved by the logged event alone.
        await page.wait_js(f"window.dispatchConsole.feed.stats.applied === {before['applied'] + 1}")
        after = await page.feed_stats()
        assert after["gaps"] == before["gaps"] == 0
