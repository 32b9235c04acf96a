"""The card layout, pure: whatever the name (long, CJK, emoji, control characters) every
line stays inside its box and the card, the PDF draws, and the QR codes in it decode."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta, timezone

import pypdf
import pypdfium2
import zxingcpp
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch_server.cards import face, qr
from dispatch_server.cards.face import Card
from dispatch_server.cards.fit import ELLIPSIS, MISSING, fit, printable, width
from dispatch_server.cards.sheet import (
    CARD_H,
    CARD_W,
    PAD,
    QR_SIDE,
    lines,
    pages,
    render,
    slots,
)

NOON = datetime(2026, 3, 1, 12, 0, tzinfo=UTC).timestamp()
names = st.text(min_size=1, max_size=100) | st.text(
    st.sampled_from("王李张欧阳娜扎西多吉😀👩‍👩‍👧 ÜéMaxAlexander-"), min_size=1, max_size=100
)


def _card(name: str, grid_zh: str | None = "东区第一网格", member_id: int = 7) -> Card:
    return Card(
        member_id,
        name,
        "G01",
        grid_zh,
        "East grid 1",
        f"https://p.example.org/h/#enrol={name}",
        NOON,
    )


@settings(max_examples=300)
@given(names, st.none() | st.text(max_size=60), st.integers(1, 2**53))
def test_no_line_overflows_its_box_or_the_card(name: str, grid: str | None, member: int) -> None:
    for line in lines(_card(name, grid, member)):
        assert line.x >= PAD and line.x + line.box_width <= CARD_W - PAD / 2 + 1e-6
        assert line.text.width <= line.box_width + 1e-6, line
        assert PAD <= line.y <= CARD_H - PAD - line.text.size * 0.7, line
        qr_left, qr_bottom = CARD_W - PAD / 2 - QR_SIDE, CARD_H - PAD / 2 - QR_SIDE
        if line.y + line.text.size > qr_bottom:  # beside the QR code: clear of it
            assert line.x + line.box_width < qr_left, line


@given(names, st.floats(20, 400), st.floats(5, 30))
def test_fit_shrinks_then_cuts(text: str, box: float, size: float) -> None:
    got = fit(text, box, size, min_size=5)
    assert got.width <= box + 1e-6
    assert 5 <= got.size <= size
    shown = printable(text)
    if got.text != shown:  # cut only at the smallest size, and marked
        assert got.size == 5 and (got.text == "" or got.text.endswith(ELLIPSIS))
        assert shown.startswith(got.text.removesuffix(ELLIPSIS).rstrip())


def test_what_the_fonts_cannot_draw_is_marked() -> None:
    assert printable("李\n四\t😀\x07") == f"李 四 {MISSING}"
    assert fit("王小明", 200, 24, 10).size == 24
    assert width("王小明", "STSong-Light", 10) == 30


def test_expiry_in_local_wording() -> None:
    china = timezone(timedelta(hours=8))
    assert face.expiry_zh(NOON, china) == "有效期至 2026年3月1日 20:00（UTC+8）"
    assert face.expiry_en(NOON, china) == "Valid until 1 Mar 2026, 20:00 (UTC+8)"
    india = timezone(timedelta(hours=5, minutes=30))
    assert face.expiry_en(NOON, india).endswith("17:30 (UTC+5:30)")
    assert face.expiry_en(NOON, UTC).endswith("12:00 (UTC)")


@settings(max_examples=30, deadline=None)
@given(st.lists(names, min_size=1, max_size=3))
def test_any_names_render(batch: list[str]) -> None:
    pdf = render([_card(n) for n in batch])
    assert pdf.startswith(b"%PDF-")


def test_a_sheet_of_nine_has_two_pages_text_and_codes_that_decode() -> None:
    cards = [_card(f"队员{i}号", member_id=i) for i in range(1, 10)]
    pdf = render(cards, timezone(timedelta(hours=8)))
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == pages(9) == 2
    text = reader.pages[0].extract_text()
    for expected in (
        "队员1号",
        "G01 东区第一网格",
        face.INSTRUCTION_ZH,
        face.INSTRUCTION_EN,
        "有效期至 2026年3月1日 20:00",
    ):
        assert expected in text, expected
    doc = pypdfium2.PdfDocument(pdf)
    try:
        found = [
            b.text
            for page in doc
            for b in zxingcpp.read_barcodes(page.render(scale=2).to_pil())
            if b.format == zxingcpp.BarcodeFormat.QRCode
        ]
    finally:
        doc.close()
    assert sorted(found) == sorted(c.url for c in cards)


def test_eight_slots_a_page_inside_the_page() -> None:
    placed = list(slots())
    assert len(placed) == 8 and len(set(placed)) == 8
    for x, y in placed:
        assert x >= 10 and y >= 10 and x + CARD_W <= 595.3 - 10 and y + CARD_H <= 841.9 - 10


def test_qr_runs_cover_exactly_the_dark_modules() -> None:
    code = qr.encode("https://p.example.org/h/#enrol=abc")
    dark = {(r.row, r.col + i) for r in code.runs for i in range(r.length)}
    assert sum(r.length for r in code.runs) == len(dark)
    assert all(qr.BORDER <= row < code.size - qr.BORDER for row, _ in dark)
