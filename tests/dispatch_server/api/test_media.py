"""Photos and clips over REST on a real server: chunked and resumable uploads, one media and
one event per content, the sha256 check, the limits, who may upload and read, the export
bundle checked byte for byte, and random chunk sequences (hypothesis) that end in the exact
bytes or a clear refusal."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from typing import Any

import httpx
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from dispatch_server.store.engine import make_engine
from dispatch_server.store.tables import MEDIA, MEDIA_CHUNK
from tests.dispatch_server.services.conftest import Hands
from tests.support.clients import Handheld
from tests.support.fuzz import quietly
from tests.support.servers import Running, in_process, settings_for

# A real 1x1 PNG and a few bytes standing for a clip (the server never decodes them).
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201e2b1cb7b0000000049454e44ae426082"
)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def clip(n: int = 3000, seed: int = 7) -> bytes:
    return bytes((i * 31 + seed) % 251 for i in range(n))


@dataclass
class Incident:
    server: Running
    incident_id: int
    reporter: dict[str, Any]
    handheld: Handheld

    async def declare(
        self,
        data: bytes,
        token: str | None = None,
        *,
        kind: str = "clip",
        content_type: str = "video/webm",
        **extra: Any,
    ) -> httpx.Response:
        body = {
            "sha256": sha(data),
            "size": len(data),
            "content_type": content_type,
            "kind": kind,
            **extra,
        }
        async with self.server.api.client(token or self.reporter["token"]) as c:
            return await c.post(f"/api/incidents/{self.incident_id}/media", json=body)

    async def put(
        self, media_id: int, offset: int, chunk: bytes, token: str | None = None
    ) -> httpx.Response:
        async with self.server.api.client(token or self.reporter["token"]) as c:
            return await c.put(
                f"/api/media/{media_id}/content",
                params={"offset": offset},
                content=chunk,
                headers={"Content-Type": "application/octet-stream"},
            )

    async def upload(self, data: bytes, pieces: int = 3, **declare: Any) -> dict[str, Any]:
        made = await self.declare(data, **declare)
        assert made.status_code == 201, made.text
        media_id = made.json()["media_id"]
        step = -(-len(data) // pieces)
        answer: dict[str, Any] = {}
        for at in range(0, len(data), step):
            r = await self.put(media_id, at, data[at : at + step])
            assert r.status_code == 200, r.text
            answer = r.json()
        assert answer == {"media_id": media_id, "received": len(data), "complete": True}
        return made.json()

    async def view(self) -> dict[str, Any]:
        got: dict[str, Any] = await self.server.api.get(f"/api/incidents/{self.incident_id}")
        return got


async def opened(server: Running, category: str = "theft", grid: str = "G01") -> Incident:
    m = await server.api.member("王大爷", grid)
    h = await server.handheld(m["token"]).connect()
    incident_id = (await h.alarm(category=category))["incident_id"]
    return Incident(server, incident_id, m, h)


def count(database_url: str, table: Any, **where: int) -> int:
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            q = select(func.count()).select_from(table)
            for column, value in where.items():
                q = q.where(table.c[column] == value)
            return int(conn.execute(q).scalar_one())
    finally:
        engine.dispose()


def attached(view: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in view["timeline"] if e["type"] == "media_attached"]


async def test_an_upload_in_chunks_is_stored_once_and_logged_once(
    server: Running, database_url: str
) -> None:
    inc = await opened(server)
    data = clip(10_000)
    made = await inc.upload(data, pieces=4, duration_s=2.5, content_type="video/webm;codecs=vp8")
    assert made["received"] == 0 and made["complete"] is False
    assert made["content_type"] == "video/webm" and made["kind"] == "clip"
    media_id = made["media_id"]

    # The same file again: the same media, complete; a PUT to it writes nothing.
    again = await inc.declare(data, content_type="video/webm")
    assert again.status_code == 200, again.text
    assert again.json() == {**made, "received": len(data), "complete": True}
    chunk_rows = count(database_url, MEDIA_CHUNK, media_id=media_id)
    put = await inc.put(media_id, 0, data[:100])
    assert put.status_code == 200 and put.json()["complete"] is True
    assert count(database_url, MEDIA, incident_id=inc.incident_id) == 1
    assert count(database_url, MEDIA_CHUNK, media_id=media_id) == chunk_rows == 4

    view = await inc.view()
    events = attached(view)
    assert len(events) == 1
    assert {k: events[0][k] for k in ("media_id", "member_id", "kind", "size", "duration_s")} == {
        "media_id": media_id,
        "member_id": inc.reporter["member_id"],
        "kind": "clip",
        "size": len(data),
        "duration_s": 2.5,
    }
    assert events[0]["sha256"] == sha(data) and events[0]["content_type"] == "video/webm"
    [listed] = view["media"]
    assert listed["media_id"] == media_id and listed["url"] == f"/api/media/{media_id}"
    assert listed["member_id"] == inc.reporter["member_id"] and listed["expired"] is False
    assert view["names"][f"member:{inc.reporter['member_id']}"] == "王大爷"

    async with server.api.client(server.api.admin_token) as c:
        whole = await c.get(f"/api/media/{media_id}")
        assert whole.status_code == 200 and whole.content == data
        assert whole.headers["content-type"] == "video/webm"
        assert whole.headers["content-length"] == str(len(data))
        part = await c.get(f"/api/media/{media_id}", headers={"Range": "bytes=2490-7600"})
        assert part.status_code == 206 and part.content == data[2490:7601]
        assert part.headers["content-range"] == f"bytes 2490-7600/{len(data)}"
        tail = await c.get(f"/api/media/{media_id}", headers={"Range": "bytes=-10"})
        assert tail.status_code == 206 and tail.content == data[-10:]
        past = await c.get(f"/api/media/{media_id}", headers={"Range": "bytes=10000-"})
        assert past.status_code == 416 and past.json()["detail"]


async def test_a_crash_mid_upload_resumes_where_the_server_is(server: Running) -> None:
    inc = await opened(server)
    data = clip(9000)
    media_id = (await inc.declare(data)).json()["media_id"]
    assert (await inc.put(media_id, 0, data[:3000])).json()["received"] == 3000
    assert (await inc.put(media_id, 3000, data[3000:5000])).json()["received"] == 5000
    # The phone reloads: it knows only the file, and asks again.
    resumed = await inc.declare(data)
    assert resumed.status_code == 200
    assert resumed.json()["received"] == 5000 and resumed.json()["complete"] is False
    # A retry of a chunk whose answer was lost: refused, with where to go on from.
    stale = await inc.put(media_id, 3000, data[3000:5000])
    assert stale.status_code == 409
    assert stale.json()["received"] == 5000 and "offset" in stale.json()["detail"]
    ahead = await inc.put(media_id, 6000, data[6000:])
    assert ahead.status_code == 409 and ahead.json()["received"] == 5000
    done = await inc.put(media_id, 5000, data[5000:])
    assert done.json() == {"media_id": media_id, "received": 9000, "complete": True}
    async with server.api.client(server.api.admin_token) as c:
        assert (await c.get(f"/api/media/{media_id}")).content == data
    assert len(attached(await inc.view())) == 1


async def test_bytes_that_do_not_match_the_hash_are_dropped(
    server: Running, database_url: str
) -> None:
    inc = await opened(server)
    data = clip(4000)
    media_id = (await inc.declare(data)).json()["media_id"]
    assert (await inc.put(media_id, 0, data[:2000])).status_code == 200
    wrong = await inc.put(media_id, 2000, bytes(2000))
    assert wrong.status_code == 422, wrong.text
    assert wrong.json()["detail"].startswith("content does not match sha256")
    assert wrong.json()["received"] == 0
    assert count(database_url, MEDIA_CHUNK, media_id=media_id) == 0
    assert (await inc.declare(data)).json()["received"] == 0
    async with server.api.client(server.api.admin_token) as c:
        assert (await c.get(f"/api/media/{media_id}")).status_code == 404
    past = await inc.put(media_id, 0, data + b"x")
    assert past.status_code == 422 and "past the declared size" in past.json()["detail"]
    assert (await inc.put(media_id, 0, data)).json()["complete"] is True
    assert attached(await inc.view())[0]["media_id"] == media_id


async def test_limits_are_refused_with_what_they_are(database_url: str) -> None:
    hands = Hands()
    limits = {"media_max_bytes": 5000, "media_max_per_incident": 2, "media_chunk_bytes": 1000}
    async with in_process(settings_for(database_url, **limits), hands) as server:
        inc = await opened(server)
        big = await inc.declare(clip(5001))
        assert big.status_code == 413 and "5000 bytes" in big.json()["detail"]
        odd = await inc.declare(clip(100), content_type="application/pdf")
        assert odd.status_code == 415 and "image/jpeg" in odd.json()["detail"]
        no_kind = await inc.declare(clip(100), kind="voice")
        assert no_kind.status_code == 422
        first = (await inc.declare(clip(3000, 1), content_type="video/mp4")).json()
        long = await inc.put(first["media_id"], 0, clip(1001, 1))
        assert long.status_code == 413 and "1000 bytes" in long.json()["detail"]
        assert (await inc.declare(PNG, kind="photo", content_type="image/png")).status_code == 201
        third = await inc.declare(clip(100, 3))
        assert third.status_code == 409 and "at most 2" in third.json()["detail"]
        # Nothing written by a refusal: the first is still at 0.
        assert (await inc.declare(clip(3000, 1), content_type="video/mp4")).json()["received"] == 0

        # An hour after it is resolved, an incident takes no more media.
        other = await opened(server)
        await server.api.post(
            f"/api/incidents/{other.incident_id}/resolve", {"disposition": "true_alarm"}
        )
        hands.now += 3500
        assert (await other.declare(clip(10, 1))).status_code == 201
        hands.now += 200
        late = await other.declare(clip(10, 2))
        assert late.status_code == 409 and "resolved more than" in late.json()["detail"]


async def _escalated_to(server: Running, partner_token: str, incident_id: int) -> None:
    """Until the incident is in the partner's list (the immediate step lands just after)."""
    async with asyncio.timeout(10):
        while True:
            mine = await server.api.get("/api/partner/incidents", partner_token)
            if any(i["incident_id"] == incident_id for i in mine):
                return
            await asyncio.sleep(0.05)


async def test_who_may_upload_and_read(server: Running) -> None:
    async with server.api.client(server.api.admin_token) as c:
        rules = [{"trigger": "immediate", "to": "security", "category": "fire"}]
        (await c.put("/api/escalation-rules", json=rules)).raise_for_status()
    hotel = await server.api.post("/api/partners", {"name": "hotel", "grids": ["G01"]})
    school = await server.api.post("/api/partners", {"name": "school", "grids": ["G05"]})
    dispatcher = await server.api.dispatcher()
    inc = await opened(server, category="fire")
    await _escalated_to(server, hotel["token"], inc.incident_id)
    stranger = await server.api.member("Zhao", "G01")
    responder = await server.api.member("Qian", "G01")
    code = (await server.api.post(f"/api/members/{inc.reporter['member_id']}/enrolment", {}))[
        "code"
    ]
    device = await server.api.post("/api/enrol", {"code": code, "device_name": "phone"})
    spare = (await server.api.post(f"/api/members/{inc.reporter['member_id']}/enrolment", {}))[
        "code"
    ]

    # The phone's device token is the reporter's: it uploads.
    media = await inc.upload(
        PNG, pieces=2, token=device["token"], kind="photo", content_type="image/png"
    )
    media_id = media["media_id"]
    data = clip(500)

    for token, wanted in (
        (stranger["token"], 403),
        (dispatcher["token"], 403),
        (hotel["token"], 403),
        (server.api.admin_token, 403),
        (code, 401),
        (spare, 401),
        ("nobody", 401),
    ):
        r = await inc.declare(data, token)
        assert r.status_code == wanted, (token, r.text)
        assert r.json()["detail"]
        r = await inc.put(media_id, 0, b"x", token)
        assert r.status_code == wanted, (token, r.text)
    async with server.api.client(stranger["token"]) as c:
        missing = await c.post(
            "/api/incidents/999999/media",
            json={"sha256": sha(data), "size": 500, "content_type": "image/png", "kind": "photo"},
        )
        assert missing.status_code == 404

    # A responder who accepted may add media too.
    h = await server.handheld(responder["token"]).connect()
    await server.api.post(
        f"/api/incidents/{inc.incident_id}/dispatch", {"member_ids": [responder["member_id"]]}
    )
    await h.expect("assignment", incident_id=inc.incident_id)
    before = await inc.declare(data, responder["token"])
    assert before.status_code == 403, "called, but not yet accepted"
    await h.send({"type": "assignment_reply", "incident_id": inc.incident_id, "accept": True})
    async with asyncio.timeout(10):
        while (await inc.declare(data, responder["token"])).status_code != 201:
            await asyncio.sleep(0.05)

    for token, wanted in (
        (server.api.admin_token, 200),
        (dispatcher["token"], 200),
        (hotel["token"], 200),
        (inc.reporter["token"], 200),
        (device["token"], 200),
        (school["token"], 403),
        (stranger["token"], 403),
        (responder["token"], 403),
        (code, 401),
        (None, 401),
    ):
        async with server.api.client(token) as c:
            r = await c.get(f"/api/media/{media_id}")
        assert r.status_code == wanted, (token, r.status_code, r.text)
        if wanted == 200:
            assert r.content == PNG and r.headers["content-type"] == "image/png"
    async with server.api.client(school["token"]) as c:
        assert (await c.get("/api/media/999999")).status_code == 403
    partner_view = await server.api.get(f"/api/partner/incidents/{inc.incident_id}", hotel["token"])
    assert [m["media_id"] for m in partner_view["media"]] == [media_id]
    assert "member_id" not in partner_view["media"][0]
    shown = [e for e in partner_view["timeline"] if e["type"] == "media_attached"]
    assert len(shown) == 1 and "member_id" not in shown[0]


async def test_the_bundle_holds_every_file_byte_for_byte(server: Running) -> None:
    inc = await opened(server)
    photo = await inc.upload(PNG, pieces=1, kind="photo", content_type="image/png")
    data = clip(20_000)
    video = await inc.upload(data, pieces=5, content_type="video/webm", duration_s=4.0)
    await server.api.post(f"/api/incidents/{inc.incident_id}/notes", {"text": "拍到了"})
    async with server.api.client(server.api.admin_token) as c:
        r = await c.get(f"/api/incidents/{inc.incident_id}/bundle")
        missing = await c.get("/api/incidents/999999/bundle")
    assert missing.status_code == 404
    async with server.api.client(inc.reporter["token"]) as c:
        assert (await c.get(f"/api/incidents/{inc.incident_id}/bundle")).status_code == 403
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    assert f"incident-{inc.incident_id}-bundle.zip" in r.headers["content-disposition"]
    zf = zipfile.ZipFile(io.BytesIO(r.content))
    photo_path = f"media/{photo['media_id']}-photo.png"
    video_path = f"media/{video['media_id']}-clip.webm"
    assert sorted(zf.namelist()) == sorted(
        ["incident.json", "manifest.json", photo_path, video_path]
    )
    assert zf.read(photo_path) == PNG and zf.read(video_path) == data
    incident = json.loads(zf.read("incident.json"))
    assert incident["incident_id"] == inc.incident_id
    assert [m["media_id"] for m in incident["media"]] == [photo["media_id"], video["media_id"]]
    assert any(e["type"] == "note_added" for e in incident["timeline"])
    assert incident["names"][f"member:{inc.reporter['member_id']}"] == "王大爷"
    manifest = json.loads(zf.read("manifest.json"))
    listed = {f["path"]: f for f in manifest["files"]}
    assert set(listed) == {"incident.json", photo_path, video_path}
    for path, entry in listed.items():
        content = zf.read(path)
        assert entry["sha256"] == sha(content) and entry["size"] == len(content)
    assert listed[video_path]["sha256"] == sha(data)


# --- random chunk sequences -------------------------------------------------------------------

STEP = st.tuples(
    st.sampled_from(["right", "stale", "ahead", "corrupt", "past"]), st.integers(1, 700)
)


async def test_random_chunk_sequences_end_in_the_exact_bytes_or_a_clear_refusal(
    database_url: str,
) -> None:
    """Any split, with retried (stale), skipped-ahead, corrupted and overlong chunks mixed
    in: each answer is what the bytes stored so far say, and once the phone finishes from
    where the server says, the stored file is exactly the one declared, with one event."""
    limits = {"media_max_per_incident": 1000, "media_chunk_bytes": 1024}
    async with in_process(settings_for(database_url, **limits)) as server:
        inc = await opened(server)
        client = httpx.Client(base_url=server.base, timeout=10)
        auth = {"Authorization": f"Bearer {inc.reporter['token']}"}
        outcomes: dict[str, int] = {}

        def put(media_id: int, offset: int, chunk: bytes) -> httpx.Response:
            return client.put(
                f"/api/media/{media_id}/content",
                params={"offset": offset},
                content=chunk,
                headers=auth,
            )

        @settings(
            max_examples=25,
            deadline=None,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(st.binary(min_size=1, max_size=3000), st.lists(STEP, max_size=12))
        def run(data: bytes, steps: list[tuple[str, int]]) -> None:
            body = {
                "sha256": sha(data),
                "size": len(data),
                "content_type": "image/jpeg",
                "kind": "photo",
            }
            made = client.post(f"/api/incidents/{inc.incident_id}/media", json=body, headers=auth)
            assert made.status_code in (200, 201), made.text
            media_id = made.json()["media_id"]
            if made.json()["complete"]:
                return  # the same bytes drawn again: already there
            received, corrupted = made.json()["received"], False
            for how, n in steps:
                left = len(data) - received
                if not left:
                    break  # complete: nothing more to send
                if how == "stale" and received:
                    r = put(media_id, max(0, received - n), data[:n])
                    assert r.status_code == 409 and r.json()["received"] == received, r.text
                elif how == "ahead":
                    r = put(media_id, received + n, data[:1])
                    assert r.status_code == 409 and r.json()["received"] == received, r.text
                elif how == "past":
                    r = put(media_id, received, bytes(left + n))
                    refused = 413 if left + n > 1024 else 422
                    assert r.status_code == refused, r.text
                elif how in ("right", "corrupt"):
                    chunk = data[received : received + min(n, left)]
                    if how == "corrupt":
                        chunk = bytes(b ^ 0x5A for b in chunk)
                        corrupted = True
                    r = put(media_id, received, chunk)
                    received += len(chunk)
                    if received == len(data) and corrupted:
                        assert r.status_code == 422 and r.json()["received"] == 0, r.text
                        received, corrupted = 0, False
                    else:
                        assert r.status_code == 200, r.text
                        assert r.json()["received"] == received
                        assert r.json()["complete"] is (received == len(data))
                outcomes[how] = outcomes.get(how, 0) + 1
            # The phone goes on from where the server says.
            resumed = client.post(
                f"/api/incidents/{inc.incident_id}/media", json=body, headers=auth
            )
            assert resumed.json()["received"] == received
            if corrupted:  # what is stored is wrong: finishing it is refused, then redone
                r = put(media_id, received, data[received:])
                assert r.status_code == 422 and r.json()["received"] == 0
                received = 0
            if not resumed.json()["complete"]:
                r = put(media_id, received, data[received:])
                assert r.json()["complete"] is True, r.text
            got = client.get(f"/api/media/{media_id}", headers=auth)
            assert got.content == data

        try:
            await asyncio.to_thread(quietly, run)
        finally:
            await asyncio.to_thread(client.close)
        view = await inc.view()
        ids = [e["media_id"] for e in attached(view)]
        assert len(ids) == len(set(ids)) == len(view["media"])
        assert outcomes.get("corrupt") and outcomes.get("stale"), outcomes
