"""Making a line of text fit its box: shrink it down to a smallest size, then cut it with an
ellipsis. Pure but for reportlab's font metrics, so a card never overflows whatever the name
(long names, CJK, emoji: hypothesis checks it in tests/dispatch_server/cards)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import cache

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont

# Adobe's standard Simplified Chinese font: every PDF reader knows it by name, so nothing is
# embedded (decision 38). It has Latin letters too, but Helvetica reads better for those.
CJK_FONT = "STSong-Light"
LATIN_FONT = "Helvetica"
LATIN_BOLD = "Helvetica-Bold"
ELLIPSIS = "…"
# Drawn for a character the fonts cannot show: one outside the Basic Multilingual Plane (an
# emoji, a rare CJK ideograph) is written as two UTF-16 units, which PDF readers draw wider
# than the font's metrics say, so it could overflow its box.
MISSING = "□"
STEP = 0.5  # points between the sizes tried


@cache
def register_fonts() -> None:
    """Once per process: reportlab keeps a global registry of fonts."""
    pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))


def font_for(text: str, bold: bool = False) -> str:
    """Helvetica when every character is in its encoding (WinAnsi, about Latin-1), else the
    CJK font, which has Latin letters as well as Chinese."""
    register_fonts()
    try:
        text.encode("cp1252")
    except UnicodeEncodeError:
        return CJK_FONT
    return LATIN_BOLD if bold else LATIN_FONT


def width(text: str, font: str, size: float) -> float:
    register_fonts()
    return float(pdfmetrics.stringWidth(text, font, size))


@dataclass(frozen=True)
class Fitted:
    text: str
    font: str
    size: float

    @property
    def width(self) -> float:
        return width(self.text, self.font, self.size)


def fit(text: str, box_width: float, size: float, min_size: float, bold: bool = False) -> Fitted:
    """The largest size from `size` down to `min_size` at which `text` fits `box_width`;
    if it does not fit even at `min_size`, the longest start of it that does, with "…"."""
    text = printable(text)
    font = font_for(text, bold)
    s = size
    while s >= min_size:
        if width(text, font, s) <= box_width:
            return Fitted(text, font, s)
        s -= STEP
    return Fitted(_cut(text, font, min_size, box_width), font, min_size)


def printable(text: str) -> str:
    """One line of what the fonts can draw: whitespace runs as one space, control and
    format characters dropped (they have no glyph), and the rest beyond U+FFFF as □."""
    kept = (
        MISSING if ord(ch) > 0xFFFF else ch
        for ch in " ".join(text.split())
        if unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn")
    )
    return "".join(kept)


def _cut(text: str, font: str, size: float, box_width: float) -> str:
    """The longest prefix that fits with the ellipsis after it (binary search: widths grow
    with length); just the ellipsis, or nothing, when even one character does not fit."""
    lo, hi = 0, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if width(text[:mid].rstrip() + ELLIPSIS, font, size) <= box_width:
            lo = mid
        else:
            hi = mid - 1
    cut = text[:lo].rstrip() + ELLIPSIS
    return cut if width(cut, font, size) <= box_width else ""
