"""A server with something on every route: an incident escalated to a partner, an open
roll call, and a token of each kind; and the app's OpenAPI document."""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.support.servers import Running, in_process, settings_for
from tests.support.snapshot import Snapshots

# Routes for a member's token (a device's too): the phone page's alarms and uploads, by the
# path as sent or as templated; every other kind is 403 there.
MEMBER_PATHS = re.compile(r"^/api/(alarms|incidents/[^/]+/media|media/[^/]+/content)$")
# A photo in the scene: a real 1x1 PNG.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201e2b1cb7b0000000049454e44ae426082"
)


async def settle(snapshots: Snapshots, timeout: float = 10.0) -> None:
    """Until the database stays the same for 0.2 s (what a command set going is written)."""
    async with asyncio.timeout(timeout):
        last = await asyncio.to_thread(snapshots.take, digest=True)
        while True:
            await asyncio.sleep(0.2)
            now = await asyncio.to_thread(snapshots.take, digest=True)
            if now == last:
                return
            last = now


@pytest.fixture
async def server(database_url: str) -> AsyncIterator[Running]:
    """As tests/conftest.py's, with the duty-room watch's grace at its longest: these tests
    compare the database before and after a request, and no console is open, so the watch
    would write `duty_room_empty` a minute in (decision 51), blamed on whichever request
    came then."""
    async with in_process(settings_for(database_url, duty_room_grace_s=3600)) as running:
        yield running


@dataclass
class Scene:
    server: Running
    snapshots: Snapshots
    incident_id: int
    roll_call_id: int
    partner_token: str
    member_token: str
    dispatcher_token: str
    openapi: dict[str, Any]
    member_id: int
    device_id: int
    # A complete photo on the incident, uploaded by the member (its reporter); and another
    # member, who may neither upload to the incident nor read the photo.
    media_id: int
    other_member_token: str
    clients: dict[str, httpx.AsyncClient] = field(default_factory=dict)

    def client(self, path: str) -> httpx.AsyncClient:
        token = self.token_for(path)
        if token not in self.clients:
            self.clients[token] = self.server.api.client(token)
        return self.clients[token]

    def token_for(self, path: str) -> str:
        if MEMBER_PATHS.match(path):
            return self.member_token
        return (
            self.partner_token if path.startswith("/api/partner/") else self.server.api.admin_token
        )

    def fill(self, path: str, **ids: str) -> str:
        values = {
            "incident_id": str(self.incident_id),
            "roll_call_id": str(self.roll_call_id),
            "grid_id": "G03",
            "shift": "morning",
            "member_id": str(self.member_id),
            "device_id": str(self.device_id),
            "media_id": str(self.media_id),
            # The scene's partner and duty volunteer are the first of each; no named
            # administrator exists.
            "partner_id": "1",
            "dispatcher_id": "1",
            "administrator_id": "1",
            **ids,
        }
        return path.format(**values)

    def routes(self) -> list[tuple[str, str]]:
        return [(m.upper(), p) for p, ops in self.openapi["paths"].items() for m in ops]

    async def request(
        self, method: str, path: str, content: bytes | None = None, **kw: Any
    ) -> httpx.Response:
        headers = {"Content-Type": "application/json"} if content is not None else {}
        return await self.client(path).request(method, path, content=content, headers=headers, **kw)


@pytest.fixture
async def scene(server: Running, database_url: str) -> AsyncIterator[Scene]:
    """An incident escalated to a partner (immediately: a fire), an open roll call, and a
    member with an enrolled handheld."""
    # Only the step that fires at once: with the default rules the no_ack step falls due 60 s
    # later, while the fuzzer runs, and its event was blamed on whatever request came then.
    async with server.api.client(server.api.admin_token) as c:
        rules = [{"trigger": "immediate", "to": "security", "category": "fire"}]
        (await c.put("/api/escalation-rules", json=rules)).raise_for_status()
    partner = await server.api.post("/api/partners", {"name": "hotel", "grids": ["G01"]})
    m = await server.api.member("Li", "G01")
    d = await server.api.dispatcher()
    h = await server.handheld(m["token"]).connect()  # off shift: no supervision events
    incident_id = (await h.alarm(category="fire"))["incident_id"]
    roll_call = await server.api.post("/api/roll-calls", {"grid_ids": ["G01"], "timeout_s": 3600})
    code = (await server.api.post(f"/api/members/{m['member_id']}/enrolment", {}))["code"]
    device = await server.api.post("/api/enrol", {"code": code, "device_name": "phone"})
    other = await server.api.member("Wang", "G01")
    photo = {"sha256": hashlib.sha256(PNG).hexdigest(), "size": len(PNG)}
    async with server.api.client(m["token"]) as c:
        declared = await c.post(
            f"/api/incidents/{incident_id}/media",
            json={**photo, "content_type": "image/png", "kind": "photo"},
        )
        media_id = declared.json()["media_id"]
        put = await c.put(f"/api/media/{media_id}/content", params={"offset": 0}, content=PNG)
        assert put.json()["complete"] is True, put.text
    snapshots = Snapshots(database_url)
    async with server.api.client() as c:
        openapi = (await c.get("/openapi.json")).json()
    # The escalation lands just after the alarm: let it, so that nothing moves after this.
    await settle(snapshots)
    made = Scene(
        server,
        snapshots,
        incident_id,
        roll_call["roll_call_id"],
        partner["token"],
        m["token"],
        d["token"],
        openapi,
        m["member_id"],
        device["device_id"],
        media_id,
        other["token"],
    )
    yield made
    for c in made.clients.values():
        await c.aclose()
    snapshots.close()
