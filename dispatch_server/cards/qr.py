"""A link as a QR code, as the rectangles to fill: one per run of dark modules in a row, so
a sheet of 200 codes stays small and prints sharp at any size (vector, not an image)."""

from __future__ import annotations

from dataclasses import dataclass

import segno

# Quiet zone in modules, as the standard asks: phone cameras find the code by it.
BORDER = 4


@dataclass(frozen=True)
class Run:
    row: int
    col: int
    length: int


@dataclass(frozen=True)
class Code:
    size: int  # modules across, quiet zone included
    runs: tuple[Run, ...]


def encode(text: str) -> Code:
    """Error correction M (15 %): a bent or smudged card still reads; segno picks the
    smallest version that holds the text, and may raise the level when that costs nothing."""
    qr = segno.make(text, error="m", micro=False, boost_error=True)
    rows = [list(row) for row in qr.matrix_iter(border=BORDER)]
    return Code(len(rows), tuple(_runs(rows)))


def _runs(rows: list[list[int]]) -> list[Run]:
    found: list[Run] = []
    for r, row in enumerate(rows):
        c = 0
        while c < len(row):
            if row[c]:
                start = c
                while c < len(row) and row[c]:
                    c += 1
                found.append(Run(r, start, c - start))
            else:
                c += 1
    return found
