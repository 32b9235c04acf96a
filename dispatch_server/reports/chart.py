"""The bar chart per grid, as reportlab graphics: one horizontal bar per grid (names on the
left read better than slanted ones under columns), its length the share answered within
the target time, green when the target share is met and red when not, and a dashed line
at the target share across every bar."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from reportlab.graphics.shapes import Drawing, Line, Rect, String
from reportlab.lib.colors import Color, HexColor
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth

GREEN = HexColor("#2a9d4b")
RED = HexColor("#c1121f")
BLUE = HexColor("#1d3557")
GREY = HexColor("#6b7280")
LIGHT = HexColor("#dddddd")
ROW_H = 7 * mm
BAR_H = 4.6 * mm
LABEL_W = 48 * mm
VALUE_W = 22 * mm
AXIS_H = 8 * mm


@dataclass(frozen=True)
class Bar:
    label: str
    share: float | None  # None: no alarms to judge by
    text: str  # the share as the report writes it


def bar_chart(bars: Sequence[Bar], target: float, width: float, font: str) -> Drawing:
    """`target`: the target share (0..1)."""
    height = AXIS_H + ROW_H * max(1, len(bars))
    d = Drawing(width, height)
    plot_w = width - LABEL_W - VALUE_W
    x0 = LABEL_W
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        x = x0 + tick * plot_w
        d.add(Line(x, AXIS_H, x, height, strokeColor=LIGHT, strokeWidth=0.5))
        d.add(
            String(
                x,
                AXIS_H - 10,
                f"{tick * 100:.0f}%",
                fontName=font,
                fontSize=7,
                fillColor=GREY,
                textAnchor="middle",
            )
        )
    for i, bar in enumerate(bars):
        y = height - (i + 1) * ROW_H
        mid = y + (ROW_H - 8) / 2 + 1
        label, size = fitted(bar.label, font, LABEL_W - 3 * mm)
        d.add(String(x0 - 2 * mm, mid, label, fontName=font, fontSize=size, textAnchor="end"))
        if bar.share is not None:
            colour: Color = GREEN if bar.share >= target else RED
            bar_y = y + (ROW_H - BAR_H) / 2
            rect = Rect(x0, bar_y, max(0.5, bar.share * plot_w), BAR_H)
            rect.fillColor, rect.strokeColor = colour, None
            d.add(rect)
        d.add(String(x0 + plot_w + 2 * mm, mid, bar.text, fontName=font, fontSize=8))
    tx = x0 + target * plot_w
    d.add(Line(tx, AXIS_H, tx, height, strokeColor=BLUE, strokeWidth=1.2, strokeDashArray=[3, 2]))
    return d


def fitted(
    text: str, font: str, width: float, size: float = 8, smallest: float = 6
) -> tuple[str, float]:
    """The label at the largest size down to `smallest` at which it fits `width`; at the
    smallest, cut with "…" until it does (a grid's long English name)."""
    while size > smallest and stringWidth(text, font, size) > width:
        size -= 0.5
    if stringWidth(text, font, size) <= width:
        return text, size
    while text and stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text.rstrip() + "…", size
