"""The handheld's screen, driven key by key with Textual's pilot against a real server."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from textual.widgets import Static
from textual.widgets._footer import FooterKey

from patrol_client.client import Link, PatrolClient
from patrol_client.outbox import Outbox
from patrol_client.tui import KEYS, HandheldApp
from tests.support.servers import Running


def text(app: HandheldApp, widget_id: str) -> str:
    return str(app.query_one(f"#{widget_id}", Static).render())


async def settle(pilot: object, check: object, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():  # type: ignore[operator]
            await pilot.pause(0.05)  # type: ignore[attr-defined]


async def test_alarm_accepted_and_roll_call_answered(server: Running, tmp_path: Path) -> None:
    m = await server.api.member("李伟", "G02")
    client = PatrolClient(server.base, m["token"], Outbox(tmp_path / "o.sqlite3"))
    app = HandheldApp(client, "zh")
    async with app.run_test(size=(80, 40)) as pilot:
        await settle(pilot, lambda: "在线" in text(app, "status"))
        await pilot.press("s")
        await settle(
            pilot, lambda: "在岗" in text(app, "status") and "未上岗" not in text(app, "status")
        )
        await pilot.press("a")
        await settle(pilot, lambda: "中心已收到" in text(app, "alarms"))
        listing = await server.api.get("/api/incidents")
        assert len(listing["incidents"]) == 1
        assert f"#{listing['incidents'][0]['incident_id']}" in text(app, "alarms")
        # A roll call: one key answers it.
        d = await server.api.dispatcher()
        async with server.api.client(d["token"]) as api:
            rid = (await api.post("/api/roll-calls", json={"grid_ids": ["G02"]})).json()[
                "roll_call_id"
            ]
        await settle(pilot, lambda: app.query_one("#roll_call_box").display)
        assert f"#{rid}" in text(app, "roll_call")
        await pilot.press("1")
        await settle(pilot, lambda: client.view.roll_calls[rid].recorded)
        assert not app.query_one("#roll_call_box").display
        rc = await server.api.get(f"/api/roll-calls/{rid}")
        assert rc["tally"]["G02"]["all_normal"] == [m["member_id"]]
        await pilot.press("q")


async def test_english_screen_and_assignment_answered_with_one_key(
    server: Running, tmp_path: Path
) -> None:
    reporter = await server.api.member("reporter", "G01")
    me = await server.api.member("guard", "G01", ["security"])
    d = await server.api.dispatcher()
    client = PatrolClient(server.base, me["token"], Outbox(tmp_path / "o.sqlite3"))
    app = HandheldApp(client, "en")
    async with app.run_test(size=(80, 40)) as pilot:
        await settle(pilot, lambda: "online" in text(app, "status"))
        assert client.view.link is Link.ONLINE
        assert not app.query_one("#assignment_box").display
        r = server.handheld(reporter["token"])
        await r.connect()
        iid = (await r.alarm(category="theft"))["incident_id"]
        async with server.api.client(d["token"]) as c:
            await c.post(f"/api/incidents/{iid}/dispatch", json={"member_ids": [me["member_id"]]})
        await settle(pilot, lambda: app.query_one("#assignment_box").display)
        assert f"#{iid}" in text(app, "assignment") and "theft" in text(app, "assignment")
        await pilot.press("y")
        await settle(pilot, lambda: client.view.assignments[iid].recorded)
        detail = await server.api.get(f"/api/incidents/{iid}")
        assert detail["status"] == "responding"
        # From the scene: R (arrived), then D (done), each heard by the centre.
        await pilot.press("r")
        await settle(pilot, lambda: client.view.assignments[iid].status_recorded)
        await pilot.press("d")
        a = client.view.assignments[iid]
        await settle(pilot, lambda: a.status == "done" and a.status_recorded)
        detail = await server.api.get(f"/api/incidents/{iid}")
        assert detail["assignments"][0]["arrived_at"] and detail["assignments"][0]["done_at"]
        await pilot.press("q")


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_the_footer_speaks_the_chosen_language_and_fits_80_columns(
    server: Running, tmp_path: Path, lang: str
) -> None:
    m = await server.api.member("footer", "G01")
    client = PatrolClient(server.base, m["token"], Outbox(tmp_path / "o.sqlite3"))
    app = HandheldApp(client, lang)
    other = "en" if lang == "zh" else "zh"
    async with app.run_test(size=(80, 40)) as pilot:
        await pilot.pause()
        shown = {key.key: key for key in app.query(FooterKey)}
        assert sorted(shown) == sorted(key for key, _, _ in KEYS)
        for key, _, words in KEYS:
            assert shown[key].description == words[lang]
            assert shown[key].description != words[other] or words[lang] == words[other]
            region = shown[key].region
            assert region.width > 0 and region.right <= 80, (key, region)
        await pilot.press("q")
