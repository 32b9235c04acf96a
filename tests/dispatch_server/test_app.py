"""The server's front door: the console page, health and the OpenAPI schema."""

from __future__ import annotations

import httpx

from tests.support.servers import Running


async def test_console_page_and_openapi(server: Running) -> None:
    async with httpx.AsyncClient(base_url=server.base) as c:
        page = await c.get("/")
        assert page.status_code == 200 and "/ws/console" in page.text and "zh-CN" in page.text
        schema = (await c.get("/openapi.json")).json()
        for path in (
            "/api/members",
            "/api/dispatchers",
            "/api/partners",
            "/api/grids",
            "/api/incidents",
            "/api/incidents/{incident_id}",
            "/api/incidents/{incident_id}/resolve",
        ):
            assert path in schema["paths"], path
        health = (await c.get("/api/health")).json()
        assert health["ok"] is True and health["grids"] == 10
