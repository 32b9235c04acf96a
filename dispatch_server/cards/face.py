"""What one card says, as plain strings: the member, their grid in both languages, the
link, when it stops working (in the reader's own wording and local time), and what to do.
Pure: the sheet draws these and decides nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

INSTRUCTION_ZH = "用手机相机扫码，打开巡逻页面"
INSTRUCTION_EN = "Scan with the phone camera to open the patrol page"
TITLE_ZH = "巡逻队员卡"
TITLE_EN = "Patrol member card"
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class Card:
    member_id: int
    name: str
    grid_id: str
    grid_zh: str | None
    grid_en: str | None
    url: str
    expires_at: float  # epoch seconds


def grid_line_zh(card: Card) -> str:
    return f"{card.grid_id} {card.grid_zh}" if card.grid_zh else f"网格 {card.grid_id}"


def grid_line_en(card: Card) -> str:
    return f"{card.grid_id} {card.grid_en}" if card.grid_en else f"Grid {card.grid_id}"


def _offset(at: datetime) -> str:
    """UTC+8, UTC-3:30, UTC: short, and unambiguous across a border or on a server in UTC."""
    delta = at.utcoffset()
    minutes = 0 if delta is None else int(delta.total_seconds() // 60)
    if minutes == 0:
        return "UTC"
    sign = "+" if minutes > 0 else "-"
    h, m = divmod(abs(minutes), 60)
    return f"UTC{sign}{h}" + (f":{m:02d}" if m else "")


def local(expires_at: float, tz: tzinfo | None = None) -> datetime:
    """In `tz`, or the server's own time zone (TZ) when None."""
    at = datetime.fromtimestamp(expires_at, UTC)
    return at.astimezone(tz) if tz is not None else at.astimezone()


def expiry_zh(expires_at: float, tz: tzinfo | None = None) -> str:
    at = local(expires_at, tz)
    return f"有效期至 {at.year}年{at.month}月{at.day}日 {at:%H:%M}（{_offset(at)}）"


def expiry_en(expires_at: float, tz: tzinfo | None = None) -> str:
    at = local(expires_at, tz)
    return f"Valid until {at.day} {MONTHS[at.month - 1]} {at.year}, {at:%H:%M} ({_offset(at)})"


def member_line(card: Card) -> str:
    return f"编号 No. {card.member_id}"
