"""Cards on A4 sheets, as a PDF: 2 columns by 4 rows of 95 × 66 mm cards (larger than a
bank card, for older eyes), a thin border round each and cut marks in the margins, so a
paper cutter or scissors along the marks gives eight cards a page.

`lines(card)` places every line of text in its box (pure: the property test measures it);
`render(cards)` draws them with the QR codes.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import tzinfo

from reportlab.lib.colors import Color, black
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from dispatch_server.cards import face, qr
from dispatch_server.cards.face import Card
from dispatch_server.cards.fit import Fitted, fit

PAGE_W, PAGE_H = A4
COLS, ROWS = 2, 4
PER_PAGE = COLS * ROWS
CARD_W, CARD_H = 95 * mm, 66 * mm
MARGIN_X = (PAGE_W - COLS * CARD_W) / 2
MARGIN_Y = (PAGE_H - ROWS * CARD_H) / 2
PAD = 4 * mm
QR_SIDE = 38 * mm  # quiet zone included: about 0.9 mm a module for a link of 60 characters
GAP = 2 * mm
TEXT_W = CARD_W - 2 * PAD - QR_SIDE - GAP + PAD / 2  # the QR's quiet zone is white margin
BAND_W = CARD_W - 2 * PAD
CUT_MARK = 5 * mm
GREY = Color(0.55, 0.55, 0.55)
LIGHT = Color(0.8, 0.8, 0.8)


@dataclass(frozen=True)
class Line:
    """One line of text in card coordinates (origin at the card's bottom left; `y` is the
    baseline), with the width of the box it must stay in."""

    x: float
    y: float
    box_width: float
    text: Fitted
    grey: bool = False


def lines(card: Card, tz: tzinfo | None = None) -> list[Line]:
    """Top to bottom: title, name (large), member number, grid (zh, en), expiry (zh, en)
    beside the QR code; then the instruction (zh, en) across the card's foot."""
    column = [
        (fit(f"{face.TITLE_ZH}  {face.TITLE_EN}", TEXT_W, 7, 5), 9.0, True),
        (fit(card.name, TEXT_W, 24, 10, bold=True), 30.0, False),
        (fit(face.member_line(card), TEXT_W, 9, 6), 12.0, True),
        (fit(face.grid_line_zh(card), TEXT_W, 11, 6), 15.0, False),
        (fit(face.grid_line_en(card), TEXT_W, 10, 6), 13.0, False),
        (fit(face.expiry_zh(card.expires_at, tz), TEXT_W, 7.5, 5), 11.0, False),
        (fit(face.expiry_en(card.expires_at, tz), TEXT_W, 7.5, 5), 10.0, False),
    ]
    placed: list[Line] = []
    y = CARD_H - PAD
    for text, advance, grey in column:
        y -= advance
        placed.append(Line(PAD, y, TEXT_W, text, grey))
    foot = [
        (fit(face.INSTRUCTION_ZH, BAND_W, 11, 6), PAD + 5.5 * mm),
        (fit(face.INSTRUCTION_EN, BAND_W, 9, 5), PAD + 1.0 * mm),
    ]
    placed += [Line(PAD, y0, BAND_W, text) for text, y0 in foot]
    return placed


def slots() -> Iterator[tuple[float, float]]:
    """Where each card of a page goes (bottom left corner), left to right, top to bottom."""
    for row in range(ROWS):
        for col in range(COLS):
            yield MARGIN_X + col * CARD_W, PAGE_H - MARGIN_Y - (row + 1) * CARD_H


def pages(count: int) -> int:
    return max(1, -(-count // PER_PAGE))


def render(cards: Sequence[Card], tz: tzinfo | None = None, title: str = "Member cards") -> bytes:
    """The PDF: `pages(len(cards))` A4 pages (one empty sheet with its cut marks for none)."""
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, pageCompression=1)
    canvas.setTitle(title)
    canvas.setCreator("grid-patrol-dispatch")
    for page in range(pages(len(cards))):
        _cut_marks(canvas)
        chunk = cards[page * PER_PAGE : (page + 1) * PER_PAGE]
        for card, (x, y) in zip(chunk, slots(), strict=False):
            _card(canvas, card, x, y, tz)
        canvas.showPage()
    canvas.save()
    return out.getvalue()


def _card(canvas: Canvas, card: Card, x: float, y: float, tz: tzinfo | None) -> None:
    canvas.saveState()
    canvas.translate(x, y)
    canvas.setStrokeColor(LIGHT)
    canvas.setLineWidth(0.4)
    canvas.rect(0, 0, CARD_W, CARD_H, stroke=1, fill=0)
    for line in lines(card, tz):
        canvas.setFillColor(GREY if line.grey else black)
        canvas.setFont(line.text.font, line.text.size)
        canvas.drawString(line.x, line.y, line.text.text)
    _qr(canvas, card.url, CARD_W - PAD / 2 - QR_SIDE, CARD_H - PAD / 2 - QR_SIDE)
    canvas.restoreState()


def _qr(canvas: Canvas, url: str, x: float, y: float) -> None:
    """Dark runs as one filled path: adjacent squares join with no hairline between them."""
    code = qr.encode(url)
    module = QR_SIDE / code.size
    path = canvas.beginPath()
    for run in code.runs:
        top = y + QR_SIDE - run.row * module
        path.rect(x + run.col * module, top - module, run.length * module, module)
    canvas.setFillColor(black)
    canvas.drawPath(path, stroke=0, fill=1)


def _cut_marks(canvas: Canvas) -> None:
    """Short lines in the margins along every card edge, clear of the cards themselves."""
    canvas.saveState()
    canvas.setStrokeColor(black)
    canvas.setLineWidth(0.3)
    top, bottom = PAGE_H - MARGIN_Y, MARGIN_Y
    left, right = MARGIN_X, PAGE_W - MARGIN_X
    for col in range(COLS + 1):
        x = MARGIN_X + col * CARD_W
        canvas.line(x, top + GAP, x, top + GAP + CUT_MARK)
        canvas.line(x, bottom - GAP, x, bottom - GAP - CUT_MARK)
    for row in range(ROWS + 1):
        y = MARGIN_Y + row * CARD_H
        canvas.line(left - GAP, y, left - GAP - CUT_MARK, y)
        canvas.line(right + GAP, y, right + GAP + CUT_MARK, y)
    canvas.restoreState()
