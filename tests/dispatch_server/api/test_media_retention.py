"""The media retention duty on a real server, with the clock moved by hand: bytes deleted
DISPATCH_MEDIA_RETENTION_DAYS after the incident was resolved (one `media_expired` event,
the record kept), and a failing sweep shown in health until it works again."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from dispatch_server.services import media
from dispatch_server.services.retention import RETENTION
from dispatch_server.store.tables import MEDIA_CHUNK
from tests.dispatch_server.api.test_media import PNG, clip, count, opened
from tests.dispatch_server.services.conftest import Hands
from tests.support.clients import Console
from tests.support.servers import Running, in_process, settings_for

DAY = 86400.0


async def _next(console: Console, kind: str, **match: Any) -> dict[str, Any]:
    async with asyncio.timeout(10):
        while True:
            ev = await console.event()
            if ev["type"] == kind and all(ev.get(k) == v for k, v in match.items()):
                return ev


async def _health(server: Running) -> tuple[int, dict[str, Any]]:
    async with server.api.client() as c:
        r = await c.get("/api/health")
    return r.status_code, r.json()


async def test_bytes_are_deleted_after_retention_and_the_record_stays(database_url: str) -> None:
    hands = Hands()
    async with in_process(settings_for(database_url, media_retention_days=90), hands) as server:
        d = await server.api.dispatcher()
        console = await server.console(d["token"]).connect()
        old = await opened(server)
        photo = await old.upload(PNG, pieces=1, kind="photo", content_type="image/png")
        data = clip(2000)
        video = await old.upload(data, pieces=2)
        unfinished = (await old.declare(clip(900, 9))).json()["media_id"]
        assert (await old.put(unfinished, 0, clip(900, 9)[:400])).status_code == 200
        recent = await opened(server)
        kept = await recent.upload(PNG, pieces=1, kind="photo", content_type="image/png")
        await server.api.post(
            f"/api/incidents/{old.incident_id}/resolve", {"disposition": "true_alarm"}
        )
        hands.now += 89 * DAY
        await server.api.post(
            f"/api/incidents/{recent.incident_id}/resolve", {"disposition": "true_alarm"}
        )
        hands.now += 1 * DAY + 1
        server.ctx.scheduler.wake()
        expired = await _next(console, "media_expired")

        assert expired["incident_id"] == old.incident_id
        assert expired["media_ids"] == sorted([photo["media_id"], video["media_id"]])
        assert expired["actor"] == "system:retention"
        for media_id in (photo["media_id"], video["media_id"], unfinished):
            assert count(database_url, MEDIA_CHUNK, media_id=media_id) == 0
        async with server.api.client(d["token"]) as c:
            gone = await c.get(f"/api/media/{photo['media_id']}")
            assert gone.status_code == 410 and "retention" in gone.json()["detail"]
            still = await c.get(f"/api/media/{kept['media_id']}")
            assert still.status_code == 200 and still.content == PNG
            bundle = await c.get(f"/api/incidents/{old.incident_id}/bundle")
            assert bundle.status_code == 200
        view = await old.view()
        assert [(m["media_id"], m["expired"]) for m in view["media"]] == [
            (photo["media_id"], True),
            (video["media_id"], True),
        ]
        assert [e["type"] for e in view["timeline"]].count("media_attached") == 2
        # Resolved a day ago: kept.
        recent_view = await recent.view()
        assert [m["expired"] for m in recent_view["media"]] == [False]


async def test_a_failing_sweep_shows_in_health_until_it_works(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    hands = Hands()
    async with in_process(settings_for(database_url), hands) as server:
        d = await server.api.dispatcher()
        console = await server.console(d["token"]).connect()
        assert (await _health(server))[0] == 200

        def broken(*_: object) -> dict[int, list[int]]:
            raise OSError("disk on fire")

        monkeypatch.setattr(media, "expired_media", broken)
        hands.now += server.settings.media_sweep_s
        server.ctx.scheduler.wake()
        failed = await _next(console, "duty_failed", duty=RETENTION)
        assert "disk on fire" in failed["error"]
        status, body = await _health(server)
        assert status == 503 and body["failing"] == [RETENTION]
        assert body["duties"][RETENTION]["state"] == "failing"

        monkeypatch.undo()
        hands.now += 60  # past the backoff
        server.ctx.scheduler.wake()
        await _next(console, "duty_recovered", duty=RETENTION)
        assert (await _health(server))[0] == 200
