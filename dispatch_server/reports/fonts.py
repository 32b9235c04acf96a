"""The report's font: a CJK TrueType font embedded in the PDF, so the report reads the same
on any reader and prints as seen; reportlab's built-in `STSong-Light` when none is found.

Debian's `fonts-noto-cjk` (which the console's screenshots use) is OpenType with CFF
outlines, which reportlab cannot embed; the WenQuanYi and AR PL fonts are TrueType
collections it can, by index. The Makefile installs `fonts-wqy-microhei`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFError, TTFont

log = logging.getLogger(__name__)

FALLBACK = "STSong-Light"


@dataclass(frozen=True)
class Candidate:
    family: str
    path: str
    index: int = 0  # which font of a TrueType collection (.ttc)


# Tried in order: sans-serif first, for elderly eyes.
CANDIDATES = (
    Candidate("WenQuanYi Micro Hei", "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Candidate("WenQuanYi Zen Hei", "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
    Candidate("AR PL UMing CN", "/usr/share/fonts/truetype/arphic/uming.ttc"),
)


@dataclass(frozen=True)
class Font:
    """A font registered with reportlab: `name` to draw with, `label` for the PDF's metadata
    (which font was used, and whether it is embedded)."""

    name: str
    label: str
    embedded: bool


@cache
def cjk_font(candidates: tuple[Candidate, ...] = CANDIDATES) -> Font:
    """The first candidate that loads, registered once per process (reportlab's registry is
    global); STSong-Light, which every PDF reader has and nothing embeds, when none does."""
    for c in candidates:
        if not Path(c.path).is_file():
            continue
        name = "Report-" + "".join(ch for ch in c.family if ch.isalnum())
        try:
            pdfmetrics.registerFont(TTFont(name, c.path, subfontIndex=c.index))
        except (TTFError, OSError) as exc:
            log.warning("the report font %s (%s) does not load: %s", c.family, c.path, exc)
            continue
        return Font(name, f"{c.family} (embedded, from {c.path})", embedded=True)
    log.warning("no CJK TrueType font found: the KPI report uses %s, not embedded", FALLBACK)
    pdfmetrics.registerFont(UnicodeCIDFont(FALLBACK))
    return Font(FALLBACK, f"{FALLBACK} (Adobe CID font, not embedded)", embedded=False)
