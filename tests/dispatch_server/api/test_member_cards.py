"""Member cards over REST on a real server: the PDF (pages, text, QR codes that decode to
working one-time links), each code logged, all or nothing, and the usual refusals."""

from __future__ import annotations

import io
from typing import Any

import httpx
import pypdf
import pypdfium2
import zxingcpp

from dispatch_server.cards import face
from tests.support.servers import ADMIN, Running, in_process, settings_for
from tests.support.snapshot import Snapshots

NAMES = ["王小明", "欧阳娜娜", "Li Wei", "扎西多吉", "张三", "李四", "王五", "赵六", "Maximilian"]


def decoded(pdf: bytes) -> list[str]:
    """Every QR code on every page, as a phone camera would read it off the printout."""
    doc = pypdfium2.PdfDocument(pdf)
    try:
        return [
            b.text
            for page in doc
            for b in zxingcpp.read_barcodes(page.render(scale=2).to_pil())
            if b.format == zxingcpp.BarcodeFormat.QRCode
        ]
    finally:
        doc.close()


async def _cards(server: Running, body: Any, token: str = ADMIN) -> httpx.Response:
    async with server.api.client(token) as c:
        return await c.post("/api/member-cards", json=body)


async def _enrol(server: Running, code: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.base, timeout=10) as c:
        return await c.post("/api/enrol", json={"code": code, "device_name": "phone"})


async def test_nine_members_two_pages_of_working_codes(server: Running, database_url: str) -> None:
    members = [await server.api.member(n, f"G0{i % 3 + 1}") for i, n in enumerate(NAMES)]
    ids = [m["member_id"] for m in members]
    snapshots = Snapshots(database_url)
    try:
        before = snapshots.take()
        r = await _cards(server, {"member_ids": ids})
        after = snapshots.take()
    finally:
        snapshots.close()
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"].startswith('attachment; filename="member-cards-2')
    assert r.headers["content-disposition"].endswith('.pdf"')
    assert r.content.startswith(b"%PDF-")
    assert after.rows["enrolment"] - before.rows["enrolment"] == 9
    assert after.last_seq - before.last_seq == 9, "one enrolment_created each"

    reader = pypdf.PdfReader(io.BytesIO(r.content))
    assert len(reader.pages) == 2
    text = "".join(p.extract_text() for p in reader.pages)
    for name in NAMES:
        assert name in text
    assert face.INSTRUCTION_ZH in text and face.INSTRUCTION_EN in text

    urls = decoded(r.content)
    assert len(urls) == 9 and len(set(urls)) == 9
    prefix = f"{server.base}/h/#enrol="  # no DISPATCH_PUBLIC_URL: this request's address
    assert all(u.startswith(prefix) for u in urls), urls
    enrolled = []
    for url in urls:
        first = await _enrol(server, url.removeprefix(prefix))
        assert first.status_code == 200, first.text
        enrolled.append(first.json()["member_id"])
    assert sorted(enrolled) == sorted(ids), "each card's code is its member's"
    again = await _enrol(server, urls[0].removeprefix(prefix))
    assert again.status_code == 409, "each code works once"


async def test_an_unknown_member_writes_nothing(server: Running, database_url: str) -> None:
    m = await server.api.member("Li", "G01")
    snapshots = Snapshots(database_url)
    try:
        before = snapshots.take(digest=True)
        r = await _cards(server, {"member_ids": [m["member_id"], 999_999]})
        assert r.status_code == 404 and "999999" in r.json()["detail"], r.text
        for body in (
            {"member_ids": []},
            {"member_ids": [m["member_id"], m["member_id"]]},
            {"member_ids": list(range(1, 202))},
            {"member_ids": [0]},
            {"member_ids": ["x"]},
            {"member_ids": [m["member_id"]], "public_url": "ftp://example.org"},
            {"member_ids": [m["member_id"]], "public_url": "https://example.org/#x"},
            {},
            [],
        ):
            bad = await _cards(server, body)
            assert bad.status_code == 422 and bad.json()["detail"], (body, bad.text)
        dispatcher = await server.api.dispatcher()
        assert (await _cards(server, {"member_ids": [m["member_id"]]}, "nope")).status_code == 401
        refused = await _cards(server, {"member_ids": [m["member_id"]]}, dispatcher["token"])
        assert refused.status_code == 403
        refused = await _cards(server, {"member_ids": [m["member_id"]]}, m["token"])
        assert refused.status_code == 403
        after = snapshots.take(digest=True)
    finally:
        snapshots.close()
    # Only the duty volunteer registered on the way, and its `dispatcher_registered`.
    assert after.rows == before.rows | {
        "dispatcher": before.rows["dispatcher"] + 1,
        "token": before.rows["token"] + 1,
        "event": before.rows["event"] + 1,
    }
    assert after.last_seq == before.last_seq + 1


async def test_the_links_base(database_url: str) -> None:
    """The body's public_url, else DISPATCH_PUBLIC_URL."""
    settings = settings_for(database_url, public_url="https://patrol.example.org")
    async with in_process(settings) as server:
        m = await server.api.member("Li", "G01")
        r = await _cards(server, {"member_ids": [m["member_id"]]})
        assert r.status_code == 200, r.text
        [url] = decoded(r.content)
        assert url.startswith("https://patrol.example.org/h/#enrol=")
        body = {"member_ids": [m["member_id"]], "public_url": "https://lan.example.org:8443/"}
        r = await _cards(server, body)
        [url] = decoded(r.content)
        assert url.startswith("https://lan.example.org:8443/h/#enrol=")
