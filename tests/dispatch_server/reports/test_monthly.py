"""The monthly report, pure: hand-made months drawn to PDF, read back with pypdf (text,
metadata, embedded font) and drawn to PNG with pypdfium2 for a person to look at."""

from __future__ import annotations

import io
from datetime import UTC, time

import pypdf
import pypdfium2
import pytest
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth

from dispatch_server.domain import kpis
from dispatch_server.domain.kpis import By, ShiftTimes, Targets
from dispatch_server.reports.chart import LABEL_W, fitted
from dispatch_server.reports.fonts import FALLBACK, Candidate, cjk_font
from dispatch_server.reports.monthly import GridName, MonthData, render
from dispatch_server.reports.words import Lang
from tests.dispatch_server.domain.test_kpis import five_alarms
from tests.support.browser import SCREENSHOTS

GRIDS = {
    "G01": GridName("芙蓉幼儿园片区", "Furong Kindergarten Block"),
    "G02": GridName("东塘小区", "Dongtang Residential Compound"),
    "G03": GridName("锦江酒店街区", "Jinjiang Hotel Block"),
}
PEOPLE = {"dispatcher:1": "张阿姨", "dispatcher:2": "Li Shushu"}
TARGETS = Targets()


def month(with_drill: bool = True, alarms: bool = True) -> MonthData:
    log = five_alarms() if alarms else five_alarms().__class__()
    if with_drill:
        log.open(6, 5000.0, "G03", drill=True).ack(6, 5002.0).resolve(6, 5200.0, "test")
    shifts = ShiftTimes(time(7, 0), time(19, 0))
    by = {b: kpis.report(log.events, b, TARGETS, shifts, UTC) for b in By}
    since, until = kpis.month_bounds(1970, 1, UTC)
    return MonthData(
        month="1970-01",
        since=since,
        until=until,
        made_at=86400.0 * 40,
        tz=UTC,
        zone_name="UTC",
        targets=TARGETS,
        by_grid=by[By.GRID],
        by_shift=by[By.SHIFT],
        by_dispatcher=by[By.DISPATCHER],
        grids=GRIDS,
        people=PEOPLE,
    )


def text_of(pdf: bytes) -> tuple[pypdf.PdfReader, str]:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return reader, "\n".join(page.extract_text() for page in reader.pages)


def embedded_fonts(reader: pypdf.PdfReader) -> set[str]:
    """The base names of the fonts whose program is in the file (FontFile2: TrueType)."""
    found = set()
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            for desc in font.get("/DescendantFonts", [font]):
                d = desc.get_object().get("/FontDescriptor")
                if d is not None and "/FontFile2" in d.get_object():
                    found.add(str(font["/BaseFont"]))
    return found


def save_png(pdf: bytes, name: str, page: int = 0) -> None:
    doc = pypdfium2.PdfDocument(pdf)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    doc[page].render(scale=1.6).to_pil().save(SCREENSHOTS / f"{name}.png")
    doc.close()


def test_the_chinese_report_embeds_its_font_and_says_everything() -> None:
    font = cjk_font()
    if not font.embedded:
        pytest.skip("no CJK TrueType font installed (the Makefile installs fonts-wqy-microhei)")
    pdf = render(month(), Lang.ZH, font)
    reader, text = text_of(pdf)
    assert pdf.startswith(b"%PDF-")
    assert len(reader.pages) >= 2
    meta = reader.metadata
    assert meta is not None and "1970-01" in str(meta.title)
    assert font.label in str(meta["/Keywords"]) and "embedded" in str(meta["/Keywords"])
    assert embedded_fonts(reader), "the CJK font is not embedded"
    # Grid names, the duty volunteer's name (not their id), shifts, triggers, dispositions.
    for words in [
        "接警处置月报",
        "1970-01-01 至 1970-01-31",
        "芙蓉幼儿园片区（G01）",
        "东塘小区（G02）",
        "张阿姨",
        "Li Shushu",
        "无人确认",
        "1969-12-31 晚班",  # 00:00-01:30 is the evening shift of the day before
        "立即上报",
        "误报",
        "未结案",
        "演练",
        "未达标",
    ]:
        assert words in text, words
    assert "dispatcher:1" not in text
    # Five real alarms, one answered within 10 s: 20.0%, against a target of 90%.
    assert "20.0%" in text and "≥ 90%" in text
    save_png(pdf, "kpi-report-zh-page1")
    save_png(pdf, "kpi-report-zh-page2", 1)


def test_the_english_report() -> None:
    pdf = render(month(), Lang.EN, cjk_font())
    _, text = text_of(pdf)
    for words in [
        "monthly response report",
        "Jinjiang Hotel Block (G03)",
        "By duty volunteer",
        "Nobody acknowledged",
        "1969-12-31 evening",
        "False alarm",
        "Drills (scored apart",
        "missed",
    ]:
        assert words in text, words
    save_png(pdf, "kpi-report-en-page1")


def test_a_month_with_no_alarms_and_no_drills() -> None:
    pdf = render(month(with_drill=False, alarms=False), Lang.ZH, cjk_font())
    reader, text = text_of(pdf)
    assert len(reader.pages) == 1
    assert "本月没有报警" in text and "本月没有演练" in text


def test_without_a_truetype_font_it_falls_back_to_stsong_and_says_so() -> None:
    font = cjk_font((Candidate("Nowhere Sans", "/nonexistent/nowhere.ttc"),))
    assert (font.name, font.embedded) == (FALLBACK, False)
    pdf = render(month(), Lang.ZH, font)
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    meta = reader.metadata
    assert meta is not None and "STSong-Light" in str(meta["/Keywords"])
    assert "not embedded" in str(meta["/Keywords"])
    assert not embedded_fonts(reader)
    fonts = {
        str(f.get_object()["/BaseFont"])
        for page in reader.pages
        for f in page["/Resources"]["/Font"].values()
    }
    assert any("STSong-Light" in f for f in fonts), fonts


def test_chart_labels_fit_their_column() -> None:
    font = cjk_font().name
    for text in ["G01", "锦江酒店街区（G03）", "Dongtang Residential Compound (G02)", "x" * 300]:
        label, size = fitted(text, font, LABEL_W - 3 * mm)
        assert 6 <= size <= 8
        assert stringWidth(label, font, size) <= LABEL_W - 3 * mm
        assert label == text or label.endswith("…")
    assert fitted("G01", font, LABEL_W) == ("G01", 8)
