"""The admin pages (/admin/) in real headless Chromium, against a real server.

A named administrator signs in, registers a member and a partner, tests the partner's
webhook against a real receiver, edits an escalation rule, uploads a grid file with one broken
feature, sees the fault on that feature, uploads the fixed file and applies it; the audit trail
then shows every step with the administrator's name. Screenshots go to
test-artifacts/screenshots (docs/admin.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import re
from pathlib import Path
from typing import Any

from websockets.exceptions import ConnectionClosed

from tests.support.browser import CJK, ConsolePage, console_page
from tests.support.servers import Running
from tests.support.webhook import Receiver

SAMPLE = Path(__file__).resolve().parents[3] / "grids" / "changsha_sample.geojson"


def sample() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SAMPLE.read_text(encoding="utf-8"))
    return data


def with_new_grid(grids: dict[str, Any]) -> dict[str, Any]:
    """The sample plus G11: G10's shape moved 2 km east, clear of every other grid."""
    out = copy.deepcopy(grids)
    g10 = next(f for f in out["features"] if f["properties"]["grid_id"] == "G10")
    g11 = copy.deepcopy(g10)
    g11["id"] = "G11"
    g11["properties"].update(grid_id="G11", name_zh="新建小区", name_en="New Estate")
    g11["geometry"]["coordinates"] = [
        [[lon + 0.02, lat] for lon, lat in ring] for ring in g10["geometry"]["coordinates"]
    ]
    out["features"].append(g11)
    return out


def broken(grids: dict[str, Any], index: int) -> dict[str, Any]:
    """The same file with one feature's outer ring left open (its last position dropped)."""
    out = copy.deepcopy(grids)
    ring = out["features"][index]["geometry"]["coordinates"][0]
    ring.pop()
    return out


def as_file(name: str, data: dict[str, Any]) -> dict[str, Any]:
    body = json.dumps(data, ensure_ascii=False).encode()
    return {"name": name, "mimeType": "application/geo+json", "buffer": body}


async def tab(page: ConsolePage, view: str) -> None:
    await page.page.click(f'#tabs .tab[data-view="{view}"]')
    await page.page.locator(f'#section[data-view="{view}"] h2').wait_for()


async def take_secrets(page: ConsolePage) -> list[str]:
    """The values the one-time dialog shows, then close it."""
    dialog = page.page.locator("dialog#secret")
    await dialog.locator(".secret-value").first.wait_for()
    values = [v.strip() for v in await dialog.locator(".secret-value").all_inner_texts()]
    await dialog.locator("#secret-close").click()
    return values


async def test_an_administrator_runs_the_community_from_the_admin_pages(
    server: Running, tmp_path: Path
) -> None:
    chief = await server.api.post("/api/administrators", {"name": "王主任"})
    receiver = await Receiver().start()
    try:
        async with console_page(server.base, 1280, 900, "/admin/") as page:
            await page.screenshot("admin-01-sign-in")
            await page.page.fill("#token", chief["token"])
            await page.page.click("#go")
            await page.page.locator("#who").wait_for()
            assert "王主任" in await page.page.locator("#who").inner_text()

            member_id = await _add_member(page, server)
            partner_id = await _add_partner_and_test_its_webhook(page, server, receiver)
            await _edit_a_rule(page, server)
            await _upload_broken_then_fixed_grids(page, server)

            await tab(page, "audit")
            rows = page.page.locator("#audit tbody tr")
            await rows.first.wait_for()
            seen = [
                (await r.get_attribute("data-type"), await r.locator(".who").inner_text())
                for r in await rows.all()
            ]
            steps = [t for t, _ in seen]
            for step in (
                "grids_applied",
                "escalation_rules_replaced",
                "webhook_tested",
                "partner_registered",
                "member_registered",
            ):
                assert step in steps, (step, seen)
            # Newest first, in the order they were done, each by the chief by name.
            order = [
                steps.index(s) for s in ("grids_applied", "webhook_tested", "member_registered")
            ]
            assert order == sorted(order), seen
            # Each by the chief by name; the chief's own registration by the initial token.
            assert seen[-1] == ("administrator_registered", "初始管理员令牌"), seen
            assert all(who == "王主任" for _, who in seen[:-1]), seen
            audit = await page.visible_text()
            assert f"member_id: {member_id}" in audit and f"partner_id: {partner_id}" in audit
            await page.screenshot("admin-06-audit-zh")

            await page.page.locator("#toast").wait_for(state="hidden")  # said in Chinese
            await page.page.click("#lang")
            await page.wait_js("document.documentElement.lang === 'en'")
            await page.page.locator("#audit th", has_text="Administrator").wait_for()
            switch = str(await page.js("document.getElementById('lang').innerText"))
            shown = (await page.visible_text()).replace(switch, "", 1)
            # In English only the names people were given stay in Chinese.
            for name in ("王主任", "李阿姨", "锦江酒店保安部"):
                shown = shown.replace(name, "")
            assert CJK.findall(shown) == [], sorted(set(CJK.findall(shown)))
            assert "Audit trail" in shown and "grids applied" in shown, shown
            assert not re.search(r"\b(null|undefined|NaN)\b", shown), shown
            await page.screenshot("admin-07-audit-en")
            assert page.errors == [], page.errors
    finally:
        await receiver.stop()


async def _add_member(page: ConsolePage, server: Running) -> int:
    await tab(page, "members")
    form = page.page.locator("form#add-member")
    await form.locator('input[name="name"]').fill("李阿姨")
    await form.locator('select[name="grid_id"]').select_option("G03")
    await form.locator('input[name="skills"][value="first_aid"]').check()
    await form.locator('button[type="submit"]').click()
    (token,) = await take_secrets(page)
    me = await server.api.get("/api/whoami", token)
    assert me["kind"] == "member" and me["name"] == "李阿姨"
    row = page.page.locator(f'tr[data-member="{me["id"]}"]')
    await row.wait_for()
    assert "急救" in await row.inner_text()
    await page.screenshot("admin-02-members")
    return int(me["id"])


async def _add_partner_and_test_its_webhook(
    page: ConsolePage, server: Running, receiver: Receiver
) -> int:
    await tab(page, "partners")
    form = page.page.locator("form#add-partner")
    await form.locator('input[name="name"]').fill("锦江酒店保安部")
    await form.locator('input[name="grids"][value="G03"]').check()
    await form.locator('input[name="webhook_url"]').fill(receiver.url)
    await form.locator('button[type="submit"]').click()
    token, secret = await take_secrets(page)
    me = await server.api.get("/api/whoami", token)
    assert me["kind"] == "partner"
    row = page.page.locator(f'tr[data-partner="{me["id"]}"]')
    await row.locator("button.test-webhook").click()
    result = row.locator(".test-result strong")
    await result.wait_for()
    assert "HTTP 200" in await result.inner_text()
    assert len(receiver.got) == 1 and receiver.got[0].signed_by(secret)
    assert receiver.got[0].json["type"] == "test"
    await page.screenshot("admin-03-partner-webhook-tested")
    return int(me["id"])


async def _edit_a_rule(page: ConsolePage, server: Running) -> None:
    await tab(page, "rules")
    assert "1-3-5" in await page.page.locator(".explain").inner_text()
    rows = page.page.locator("#rules tr.rule")
    triggers = [await r.locator('select[name="trigger"]').input_value() for r in await rows.all()]
    no_ack = rows.nth(triggers.index("no_ack"))
    await no_ack.locator('input[name="after_s"]').fill("90")
    await page.page.click("#save-rules")
    await page.page.locator("#toast").wait_for()
    rules = await server.api.get("/api/escalation-rules")
    assert [r["after_s"] for r in rules if r["trigger"] == "no_ack"] == [90.0]
    assert len(rules) == len(triggers)
    await page.screenshot("admin-04-rules")


async def _upload_broken_then_fixed_grids(page: ConsolePage, server: Running) -> None:
    await tab(page, "grids")
    fixed = with_new_grid(sample())
    await page.page.set_input_files("#grid-file", as_file("grids.geojson", broken(fixed, 4)))
    await page.page.locator("#fault-list").wait_for()
    faults = page.page.locator("#fault-list > li.fault")
    assert await faults.count() == 1, await page.page.locator("#fault-list").inner_text()
    assert await faults.first.get_attribute("data-index") == "4"
    said = await faults.first.inner_text()
    assert "G05" in said and "外边界" in said and "没有闭合" in said, said
    bad = page.page.locator("#grid-map g.bad")
    assert await bad.count() == 1 and await bad.get_attribute("data-index") == "4"
    assert "✖" in (await bad.text_content() or ""), "the fault is written beside its feature"
    assert await page.page.locator("#apply-grids").is_disabled()
    await page.screenshot("admin-05-grids-fault")
    assert "G11" not in [f["id"] for f in (await server.api.get("/api/grids"))["features"]]

    await page.page.set_input_files("#grid-file", as_file("grids.geojson", fixed))
    await page.page.locator("#grid-status.ok").wait_for()
    assert await page.page.locator("#fault-list > li.fault").count() == 0
    assert await page.page.locator("#grid-map g.added").count() == 1
    await page.screenshot("admin-05-grids-ready")
    await page.page.click("#apply-grids")
    await page.page.locator("#grid-status.ok", has_text="已启用").wait_for()
    grids = [f["id"] for f in (await server.api.get("/api/grids"))["features"]]
    assert grids[-1] == "G11" and len(grids) == 11


async def _closed(ws: Any, within: float = 5.0) -> int:
    """Read until the server closes the socket; its close code."""
    with contextlib.suppress(ConnectionClosed):
        while True:
            await asyncio.wait_for(ws.recv(), within)
    code: int = ws.close_code
    return code


async def test_tokens_deactivation_roster_and_check_ins_from_the_pages(server: Running) -> None:
    """The account buttons, the roster and check-ins, each against what the server then
    does: a replaced token is refused, a deactivated member's handheld is cut off (4401)."""
    li = await server.api.member("李阿姨", "G03")
    wang = await server.api.member("王大爷", "G03")
    handheld = await server.handheld(li["token"]).connect()
    async with console_page(server.base, 1280, 900, "/admin/") as page:
        page.page.on("dialog", lambda d: asyncio.ensure_future(d.accept()))
        await page.page.fill("#token", server.api.admin_token)
        await page.page.click("#go")
        await page.page.locator("#who").wait_for()
        await tab(page, "members")

        row = page.page.locator(f'tr[data-member="{wang["member_id"]}"]')
        await row.locator("button.rotate").click()
        (token,) = await take_secrets(page)
        assert (await server.api.get("/api/whoami", token))["id"] == wang["member_id"]
        async with server.api.client(wang["token"]) as c:
            assert (await c.get("/api/whoami")).status_code == 401, "the old token still works"

        row = page.page.locator(f'tr[data-member="{li["member_id"]}"]')
        await row.locator("button.deactivate").click()
        assert await _closed(handheld.ws) == 4401
        row = page.page.locator(f'tr.inactive[data-member="{li["member_id"]}"]')
        await row.locator("button.reactivate").click()
        (token,) = await take_secrets(page)
        assert (await server.api.get("/api/whoami", token))["name"] == "李阿姨"

        await tab(page, "dispatchers")
        await page.page.locator('form#add-dispatchers input[name="name"]').fill("张阿姨")
        await page.page.locator('form#add-dispatchers button[type="submit"]').click()
        (duty,) = await take_secrets(page)
        assert (await server.api.get("/api/whoami", duty))["kind"] == "dispatcher"

        await tab(page, "roster")
        cell = page.page.locator('#roster tr[data-grid="G03"] .slot[data-shift="morning"]')
        for member in (li, wang):
            await cell.locator(f'input[value="{member["member_id"]}"]').check()
        await cell.locator("button.save-slot").click()
        await page.page.locator("#toast").wait_for()
        slots = {
            (s["grid_id"], s["shift"]): s["members"] for s in await server.api.get("/api/roster")
        }
        planned = sorted(m["member_id"] for m in slots[("G03", "morning")])
        assert planned == sorted([li["member_id"], wang["member_id"]])

        await tab(page, "checkins")
        form = page.page.locator("form#set-check-in")
        await form.locator('select[name="target"]').select_option("grid:G03")
        await form.locator('input[name="period_min"]').fill("20")
        await form.locator('button[type="submit"]').click()
        await page.page.locator("#check-in-rules").wait_for()
        rules = await server.api.get("/api/check-in-rules")
        assert [(r.get("grid_id"), r["period_s"]) for r in rules] == [("G03", 1200.0)]

        await tab(page, "audit")
        await page.page.locator('#audit tr[data-type="check_in_rule_set"]').wait_for()
        steps = await page.page.locator("#audit tbody tr").evaluate_all(
            "rows => rows.map(r => r.dataset.type)"
        )
        for step in (
            "token_rotated",
            "member_deactivated",
            "member_reactivated",
            "roster_slot_set",
        ):
            assert step in steps, steps
        assert page.errors == [], page.errors
