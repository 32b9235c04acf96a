"""The monthly report: a pure function from a month's scored KPIs, the names behind the
keys and a language to the bytes of an A4 PDF (decision 49).

Sections, in order: title and period; the headline figures against their targets (green
when met, red when not, the target written beside); the bar chart per grid; tables per
grid, per shift and per duty volunteer (names, not ids); escalations by trigger;
dispositions (false alarms among them); the drills, scored apart.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta, tzinfo
from typing import Any

from reportlab.lib.colors import HexColor, white
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from dispatch_server.domain.kpis import Figures, Report, Scores, Targets, local
from dispatch_server.reports.chart import GREEN, RED, Bar, bar_chart
from dispatch_server.reports.fonts import Font
from dispatch_server.reports.words import Lang, say, seconds, share

MARGIN = 15 * mm
WIDTH = A4[0] - 2 * MARGIN
HEAD_BG = HexColor("#e8edf3")
RULE = HexColor("#bbbbbb")
CREATOR = "grid-patrol-dispatch"


@dataclass(frozen=True)
class GridName:
    zh: str | None = None
    en: str | None = None


@dataclass(frozen=True)
class MonthData:
    """One month, scored three ways (each with real alarms and drills apart). `people`:
    actor key (`dispatcher:2`) -> name; `tz`: the community's zone (None: the server's)."""

    month: str
    since: float
    until: float
    made_at: float
    tz: tzinfo | None
    zone_name: str | None
    targets: Targets
    by_grid: Report
    by_shift: Report
    by_dispatcher: Report
    grids: Mapping[str, GridName] = field(default_factory=dict)
    people: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Look:
    """The language and font a report is drawn in, and its paragraph styles."""

    lang: Lang
    font: Font

    def style(self, size: float, leading: float | None = None, **kw: Any) -> ParagraphStyle:
        return ParagraphStyle(
            f"s{size}",
            fontName=self.font.name,
            fontSize=size,
            leading=leading or size * 1.35,
            wordWrap="CJK" if self.lang is Lang.ZH else None,
            **kw,
        )

    def p(self, text: str, size: float = 9, **kw: Any) -> Paragraph:
        return Paragraph(_escape(text), self.style(size, **kw))

    def say(self, key: str, **values: object) -> str:
        return say(self.lang, key, **values)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render(data: MonthData, lang: Lang, font: Font) -> bytes:
    look = Look(lang, font)
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=f"{look.say('title')} {data.month}",
        author=CREATOR,
        subject=f"{look.say('title')} {data.month}",
        creator=CREATOR,
        # Which font drew it, as the task asks the metadata to say (decision 49).
        keywords=[f"font: {font.label}"],
        lang="zh-CN" if lang is Lang.ZH else "en",
    )

    def footer(canvas: Canvas, _doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(font.name, 8)
        canvas.drawString(MARGIN, 8 * mm, f"{look.say('title')} {data.month}")
        canvas.drawRightString(A4[0] - MARGIN, 8 * mm, look.say("page", n=canvas.getPageNumber()))
        canvas.restoreState()

    doc.build(_story(data, look), onFirstPage=footer, onLaterPages=footer)
    return out.getvalue()


def _story(data: MonthData, look: Look) -> list[Flowable]:
    real = data.by_grid.real.total
    story: list[Flowable] = [
        look.p(f"{look.say('title')}  {data.month}", 16, spaceAfter=4),
        look.p(_period(data, look), 9),
        look.p(look.say("generated", at=_when(data.made_at, data.tz)), 8),
        look.p(look.say("font", font=look.font.label), 7, textColor=HexColor("#6b7280")),
        Spacer(1, 4 * mm),
        _heading(look, "headline"),
    ]
    if real.alarms == 0:
        story.append(look.p(look.say("no_alarms"), 10))
    story += [_headline(real, data.targets, look), Spacer(1, 4 * mm)]
    story += _chart(data, look)
    t = data.targets
    story += _section(look, "by_grid", "grid", data.by_grid.real, lambda k: _grid(data, k, look), t)
    story += _section(look, "by_shift", "shift", data.by_shift.real, lambda k: _shift(k, look), t)
    story += _section(
        look,
        "by_dispatcher",
        "dispatcher",
        data.by_dispatcher.real,
        lambda k: _who(data, k, look),
        t,
    )
    story += _counts(look, "escalations", "trigger", real.escalations)
    story += _counts(look, "dispositions", "disposition", real.dispositions)
    story += _drills(data, look)
    return story


def _period(data: MonthData, look: Look) -> str:
    last_day = local(data.until, data.tz) - timedelta(seconds=1)
    zone = data.zone_name or look.say("server_zone")
    first = local(data.since, data.tz).strftime("%Y-%m-%d")
    return look.say("period", since=first, until=last_day.strftime("%Y-%m-%d"), zone=zone)


def _when(at: float, tz: tzinfo | None) -> str:
    return local(at, tz).strftime("%Y-%m-%d %H:%M")


def _heading(look: Look, key: str) -> Paragraph:
    return look.p(look.say(key), 12, spaceBefore=6, spaceAfter=3, textColor=HexColor("#1d3557"))


# --- the headline -------------------------------------------------------------------------


def _headline(f: Figures, t: Targets, look: Look) -> Table:
    """Figure, value, target, verdict: each target the setting it was judged by."""
    p90_met = None if f.answer.p90_s is None else f.answer.p90_s <= t.answer_s
    rows: list[tuple[str, str, str, bool | None]] = [
        (look.say("alarms"), look.say("count", n=f.alarms), "", None),
        (
            look.say("answer_within", s=t.answer_s),
            share(f.answer.within[t.answer_s], look.lang),
            look.say("share_at_least", share=_pct(t.answer_share)),
            f.answer_met,
        ),
        (
            look.say("answer_times"),
            f"{seconds(f.answer.p50_s, look.lang)} / {seconds(f.answer.p90_s, look.lang)}",
            look.say("p90_at_most", s=t.answer_s),
            p90_met,
        ),
        (
            look.say("answer_within", s=t.answer_also_s),
            share(f.answer.within[t.answer_also_s], look.lang),
            look.say("for_reference"),
            None,
        ),
        (
            look.say("process_within", s=t.process_s),
            share(f.process.within[t.process_s], look.lang),
            look.say("share_at_least", share=_pct(t.process_share)),
            f.process_met,
        ),
        *(
            (
                look.say("arrival_within", m=s // 60),
                share(f.arrival.within[s], look.lang),
                look.say("circles"),
                None,
            )
            for s in t.arrival_s
        ),
        (look.say("unacknowledged"), look.say("count", n=f.unacknowledged), "", None),
        (look.say("unattended"), look.say("count", n=f.unattended), "", None),
    ]
    head = [look.say(k) for k in ("figure", "value", "target", "verdict")]
    body = [[look.p(a, 9), b, c, _verdict(m, look)] for a, b, c, m in rows]
    widths = [72 * mm, 40 * mm, 40 * mm, 28 * mm]
    table = Table([head, *body], colWidths=widths, repeatRows=1, hAlign="LEFT")
    style = _table_style(look)
    for i, (*_, met) in enumerate(rows, start=1):
        if met is not None:
            style.add("BACKGROUND", (3, i), (3, i), GREEN if met else RED)
            style.add("TEXTCOLOR", (3, i), (3, i), white)
    table.setStyle(style)
    return table


def _verdict(met: bool | None, look: Look) -> str:
    return "" if met is None else look.say("met" if met else "missed")


def _pct(value: float) -> str:
    return f"{value * 100:g}%"


def _table_style(look: Look, size: float = 9) -> TableStyle:
    return TableStyle(
        [
            ("FONT", (0, 0), (-1, -1), look.font.name, size),
            ("BACKGROUND", (0, 0), (-1, 0), HEAD_BG),
            ("GRID", (0, 0), (-1, -1), 0.4, RULE),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("TOPPADDING", (0, 0), (-1, -1), 2),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
        ]
    )


# --- the chart and the tables ---------------------------------------------------------------


def _chart(data: MonthData, look: Look) -> list[Flowable]:
    t = data.targets
    groups = data.by_grid.real.groups
    bars = [
        Bar(
            _grid(data, key, look),
            f.answer.within[t.answer_s],
            share(f.answer.within[t.answer_s], look.lang),
        )
        for key, f in groups.items()
    ]
    if not bars:
        return []
    title = look.say("chart", s=t.answer_s, share=_pct(t.answer_share))
    return [
        look.p(title, 12, spaceBefore=6, spaceAfter=3, textColor=HexColor("#1d3557")),
        bar_chart(bars, t.answer_share, WIDTH, look.font.name),
        Spacer(1, 3 * mm),
    ]


def _section(
    look: Look, title: str, column: str, scores: Scores, name: Any, t: Targets
) -> list[Flowable]:
    """One row per group: alarms, unacknowledged, the answer share and times, the dispatch
    share, the arrival circles."""
    if not scores.groups:
        return []
    t_ans, t_proc = t.answer_s, t.process_s
    head = [
        look.say(column),
        look.say("col_alarms"),
        look.say("col_unack"),
        look.say("col_answer", s=t_ans),
        look.say("col_times"),
        look.say("col_process", s=t_proc),
        look.say("col_arrival"),
    ]
    rows = [[look.p(name(k), 8), *_row(f, t_ans, t_proc, look)] for k, f in scores.groups.items()]
    widths = [44 * mm, 14 * mm, 14 * mm, 24 * mm, 28 * mm, 24 * mm, 32 * mm]
    table = Table(
        [[look.p(h, 8) for h in head], *rows], colWidths=widths, repeatRows=1, hAlign="LEFT"
    )
    table.setStyle(_table_style(look, 8))
    return [_heading(look, title), table, Spacer(1, 3 * mm)]


def _row(f: Figures, t_ans: int, t_proc: int, look: Look) -> list[str]:
    arrival = " / ".join("—" if v is None else f"{v * 100:.0f}%" for v in f.arrival.within.values())
    times = f"{seconds(f.answer.p50_s, look.lang)} / {seconds(f.answer.p90_s, look.lang)}"
    process = share(f.process.within[t_proc], look.lang)
    return [
        str(f.alarms),
        str(f.unacknowledged),
        share(f.answer.within[t_ans], look.lang),
        times,
        process,
        arrival,
    ]


def _counts(look: Look, title: str, kind: str, counts: Mapping[str, int]) -> list[Flowable]:
    rows = [[look.say(f"{kind}.{k}"), str(n)] for k, n in counts.items()]
    if not rows:
        return [_heading(look, title), look.p(look.say("none"), 9)]
    head = [look.say(kind), look.say("alarms_col")]
    table = Table([head, *rows], colWidths=[80 * mm, 30 * mm], hAlign="LEFT")
    table.setStyle(_table_style(look))
    return [KeepTogether([_heading(look, title), table]), Spacer(1, 3 * mm)]


def _drills(data: MonthData, look: Look) -> list[Flowable]:
    drills = data.by_grid.drills
    if drills.total.alarms == 0:
        return [_heading(look, "drills"), look.p(look.say("no_drills"), 9)]
    return [
        _heading(look, "drills"),
        _headline(drills.total, data.targets, look),
        Spacer(1, 3 * mm),
        *_section(look, "by_grid", "grid", drills, lambda k: _grid(data, k, look), data.targets)[
            1:
        ],
    ]


# --- names ----------------------------------------------------------------------------------


def _grid(data: MonthData, key: str | None, look: Look) -> str:
    if key is None:
        return "—"
    g = data.grids.get(key, GridName())
    name = g.zh if look.lang is Lang.ZH else g.en
    name = name or g.en or g.zh
    if not name:
        return key
    return f"{name}（{key}）" if look.lang is Lang.ZH else f"{name} ({key})"


def _shift(key: str | None, look: Look) -> str:
    day, _, which = (key or "").partition(" ")
    return f"{day} {look.say(which)}" if which in ("morning", "evening") else (key or "—")


def _who(data: MonthData, key: str | None, look: Look) -> str:
    if key is None:
        return look.say("nobody")
    if key.startswith("admin:"):
        return look.say("admin")
    return data.people.get(key) or key
