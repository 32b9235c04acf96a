"""Photos and clips in real headless Chromium: attached through the API while the panel is
open, they show there without a reload (a decoded <img>, a <video> with its clip loaded),
the timeline says who added what in Chinese and in English, and the partner the incident
was escalated to sees the same media on its page."""

from __future__ import annotations

import base64
import hashlib
import json
import zipfile
from typing import Any

import httpx

from tests.dispatch_server.api.conftest import PNG
from tests.support.browser import ConsolePage, console_page
from tests.support.servers import Running

# A short webm recorded by the browser itself (no video file or encoder on the machine):
# a canvas that changes colour, through MediaRecorder, for half a second.
RECORD_WEBM = """async () => {
  const canvas = Object.assign(document.createElement('canvas'), {width: 64, height: 48});
  const g = canvas.getContext('2d');
  const rec = new MediaRecorder(canvas.captureStream(10), {mimeType: 'video/webm;codecs=vp8'});
  const parts = [];
  rec.ondataavailable = (e) => parts.push(e.data);
  const stopped = new Promise((done) => { rec.onstop = done; });
  let i = 0;
  const paint = () => { g.fillStyle = i++ % 2 ? '#c1121f' : '#1d3557'; g.fillRect(0, 0, 64, 48); };
  paint();
  const timer = setInterval(paint, 50);
  rec.start(100);
  await new Promise((done) => setTimeout(done, 500));
  rec.stop();
  await stopped;
  clearInterval(timer);
  const bytes = new Uint8Array(await new Blob(parts).arrayBuffer());
  let text = '';
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text);
}"""

PHOTO_SHOWN = """() => {
  const img = document.querySelector('#panel img[data-media]');
  return img !== null && img.complete && img.naturalWidth > 0;
}"""
CLIP_SHOWN = """() => {
  const video = document.querySelector('#panel video[data-media]');
  return video !== null && video.src.startsWith('blob:') && video.readyState >= 1;
}"""


async def _upload(server: Running, token: str, incident_id: int, data: bytes, **kw: Any) -> int:
    """As the phone page will: declare, then the bytes in two chunks."""
    auth = {"Authorization": f"Bearer {token}"}
    body = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data), **kw}
    async with httpx.AsyncClient(base_url=server.base, headers=auth, timeout=10) as c:
        made = await c.post(f"/api/incidents/{incident_id}/media", json=body)
        assert made.status_code == 201, made.text
        media_id: int = made.json()["media_id"]
        half = len(data) // 2
        for offset, chunk in ((0, data[:half]), (half, data[half:])):
            r = await c.put(
                f"/api/media/{media_id}/content", params={"offset": offset}, content=chunk
            )
            assert r.status_code == 200, r.text
        assert r.json()["complete"] is True
    return media_id


async def _timeline(page: ConsolePage, root: str) -> list[str]:
    return list(
        await page.js(
            f"[...document.querySelectorAll('{root} .timeline li[data-type=media_attached]')]"
            ".map(li => li.innerText)"
        )
    )


async def test_photos_and_clips_show_in_the_panel_and_on_the_partner_page(
    server: Running,
) -> None:
    hotel = await server.api.post("/api/partners", {"name": "锦江酒店保安", "grids": ["G03"]})
    duty = await server.api.dispatcher("张阿姨")
    member = await server.api.member("王大爷", "G03")
    reporter = await server.handheld(member["token"]).connect()
    async with console_page(server.base) as page:
        await page.sign_in(duty["token"])
        incident_id = (await reporter.alarm(category="fire"))["incident_id"]
        await page.page.click(f'#queue .card[data-incident="{incident_id}"]')
        await page.page.wait_for_selector("#panel .timeline li")
        webm = base64.b64decode(await page.js(RECORD_WEBM))
        assert webm[:4] == b"\x1a\x45\xdf\xa3", "an EBML (webm) header"

        photo = await _upload(
            server, member["token"], incident_id, PNG, kind="photo", content_type="image/png"
        )
        clip = await _upload(
            server,
            member["token"],
            incident_id,
            webm,
            kind="clip",
            content_type="video/webm;codecs=vp8",
            duration_s=0.5,
        )
        # Live: the open panel shows both without a reload.
        await page.wait_js(PHOTO_SHOWN)
        await page.wait_js(CLIP_SHOWN)
        shown = await page.js(
            "[...document.querySelectorAll('#panel-media [data-media]')]"
            ".filter(e => e.tagName !== 'FIGURE').map(e => Number(e.dataset.media))"
        )
        assert shown == [photo, clip]
        size = await page.js(
            "document.querySelector('#panel img[data-media]').getBoundingClientRect().height"
        )
        assert size >= 150, "large enough to see"
        entries = "#panel .timeline li[data-type=media_attached]"
        await page.wait_js(f"document.querySelectorAll('{entries}').length === 2")
        chinese = await _timeline(page, "#panel")
        assert chinese[0].endswith(" 王大爷 添加了照片") and chinese[1].endswith(
            " 王大爷 添加了视频"
        )
        await page.screenshot("console-media-zh")
        # The panel's export: the incident with every file, byte for byte.
        async with page.page.expect_download() as started:
            await page.page.click("#bundle")
        download = await started.value
        assert download.suggested_filename == f"incident-{incident_id}.zip"
        with zipfile.ZipFile(await download.path()) as bundle:
            files = {n: bundle.read(n) for n in bundle.namelist()}
        assert files[f"media/{photo}-photo.png"] == PNG
        assert files[f"media/{clip}-clip.webm"] == webm
        assert json.loads(files["incident.json"])["incident_id"] == incident_id
        await page.page.click("#lang")
        await page.wait_js("document.documentElement.lang === 'en'")
        english = await _timeline(page, "#panel")
        assert english[0].endswith("王大爷 added a photo") and english[1].endswith(
            "王大爷 added a clip"
        )
        assert await page.js(PHOTO_SHOWN) and await page.js(CLIP_SHOWN)
        assert not page.errors, page.errors

    async with console_page(server.base, path="/partner/") as partner:
        await partner.sign_in(hotel["token"])
        await partner.page.click(f'#list .card[data-incident="{incident_id}"]')
        await partner.wait_js(PHOTO_SHOWN.replace("#panel", "#d-media"))
        await partner.wait_js(CLIP_SHOWN.replace("#panel", "#d-media"))
        await partner.wait_js(
            "document.querySelectorAll('#d-timeline li[data-type=media_attached]').length === 2"
        )
        words = await partner.js(
            "[...document.querySelectorAll('#d-timeline li[data-type=media_attached]')]"
            ".map(li => li.innerText)"
        )
        assert words[0].endswith("巡逻队员添加了现场照片") and "王大爷" not in " ".join(words)
        await partner.screenshot("partner-media-zh")
        assert not partner.errors, partner.errors
