"""The server's front door: the console page, health and the OpenAPI schema."""

from __future__ import annotations

import re

import httpx

from dispatch_server.app import STATIC
from tests.support.servers import Running


async def test_console_page_and_openapi(server: Running) -> None:
    async with httpx.AsyncClient(base_url=server.base) as c:
        page = await c.get("/")
        assert page.status_code == 200 and "zh-CN" in page.text
        assert "/static/js/main.js" in page.text and "/static/console.css" in page.text
        schema = (await c.get("/openapi.json")).json()
        for path in (
            "/api/members",
            "/api/dispatchers",
            "/api/partners",
            "/api/grids",
            "/api/incidents",
            "/api/incidents/{incident_id}",
            "/api/incidents/{incident_id}/resolve",
            "/api/incidents/export",
            "/api/console-config",
        ):
            assert path in schema["paths"], path
        health = (await c.get("/api/health")).json()
        assert health["ok"] is True and health["grids"] == 10


async def test_the_console_needs_nothing_from_the_internet(server: Running) -> None:
    """No CDN, no web fonts, no map tiles unless a deployment sets a tile server: every file
    the page loads comes from the dispatch server itself."""
    files = sorted(p for p in STATIC.rglob("*") if p.is_file())
    assert {p.name for p in files} >= {"index.html", "console.css", "main.js"}
    async with httpx.AsyncClient(base_url=server.base) as c:
        for path in files:
            if path.suffix == ".png":  # the phone page's icons: pictures, no addresses
                served = await c.get("/static/" + path.relative_to(STATIC).as_posix())
                assert served.status_code == 200, path
                continue
            text = path.read_text(encoding="utf-8")
            # The one absolute URL allowed is SVG's namespace name, which is never fetched.
            urls = set(re.findall(r"https?://[^\s\"'`)]+", text)) - {"http://www.w3.org/2000/svg"}
            assert urls == set(), (path.name, urls)
            if path.name != "index.html":
                served = await c.get("/static/" + path.relative_to(STATIC).as_posix())
                assert served.status_code == 200, path
        imports = re.findall(r'from "\./([\w.]+)"', (STATIC / "js" / "main.js").read_text())
        assert imports and all((STATIC / "js" / name).is_file() for name in imports)


async def test_the_phone_page_and_its_worker_are_served_under_h(server: Running) -> None:
    async with httpx.AsyncClient(base_url=server.base) as c:
        page = await c.get("/h/")
        assert page.status_code == 200 and "zh-CN" in page.text
        assert "/static/h/main.js" in page.text and "/static/h/manifest.webmanifest" in page.text
        moved = await c.get("/h")
        assert moved.status_code == 307 and moved.headers["location"] == "/h/"
        worker = await c.get("/h/sw.js")
        assert worker.status_code == 200
        assert worker.headers["content-type"].startswith("text/javascript")
        # Everything the worker keeps for an offline start is there to keep.
        listed = worker.text.split("const FILES = [", 1)[1].split("];", 1)[0]
        kept = re.findall(r'"([^"]+)"', listed)
        assert "/h/" in kept and len(kept) > 5
        for path in kept:
            assert (await c.get(path)).status_code == 200, path
        files = {p.name for p in (STATIC / "h").iterdir()} - {"sw.js", "index.html"}
        assert {k.rsplit("/", 1)[-1] for k in kept if k.startswith("/static/")} == files
        schema = (await c.get("/openapi.json")).json()
        assert not any(p.startswith("/h") for p in schema["paths"])


async def test_the_partner_page_is_served_at_partner(server: Running) -> None:
    async with httpx.AsyncClient(base_url=server.base) as c:
        for path in ("/partner/", "/partner"):
            page = await c.get(path)
            assert page.status_code == 200 and "zh-CN" in page.text, path
            assert "/static/js/partner.js" in page.text and "/static/partner.css" in page.text
        schema = (await c.get("/openapi.json")).json()
        assert "/api/partner/me" in schema["paths"] and "/api/partner/grids" in schema["paths"]
    for module in ("partner.js", "partner_i18n.js"):
        imports = re.findall(r'from "\./([\w.]+)"', (STATIC / "js" / module).read_text())
        assert imports and all((STATIC / "js" / name).is_file() for name in imports)


async def test_a_path_with_a_stray_slash_is_refused_not_redirected(server: Running) -> None:
    """The REST fuzzer found it: an id ending in an encoded slash was answered 307."""
    headers = {"Authorization": f"Bearer {server.api.admin_token}"}
    async with httpx.AsyncClient(base_url=server.base, headers=headers) as c:
        for path in ("/api/media/1%2F", "/api/incidents/1/", "/api/incidents/", "/api/health/"):
            answer = await c.get(path)
            assert answer.status_code == 404, (path, answer.status_code)
