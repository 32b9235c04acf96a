"""`GET /api/kpis` on a real server: alarms raised and acknowledged move the figures."""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pypdf

from tests.support.servers import Running, in_process, settings_for


async def _kpis(server: Running, token: str, **params: Any) -> dict[str, Any]:
    body: dict[str, Any] = await server.api.get("/api/kpis", token, **params)
    return body


async def test_alarms_and_acknowledgements_move_the_figures(server: Running) -> None:
    m = await server.api.member("王大爷", "G03")
    d = await server.api.dispatcher("张阿姨")
    empty = await _kpis(server, d["token"])
    assert empty["by"] == "grid" and empty["real"]["total"]["alarms"] == 0
    assert empty["real"]["groups"] == [] and empty["drills"]["total"]["alarms"] == 0
    assert empty["targets"] == {
        "answer_s": 10,
        "answer_share": 0.9,
        "answer_also_s": 40,
        "process_s": 60,
        "process_share": 0.9,
        "arrival_s": [60, 180, 300],
    }
    assert empty["shifts"] == {"morning": "07:00-15:00", "evening": "15:00-23:00"}

    handheld = await server.handheld(m["token"]).connect()
    first = await handheld.alarm(category="medical")
    second = await handheld.alarm(category="fire")
    await server.api.post(f"/api/incidents/{first['incident_id']}/acknowledge", {}, d["token"])
    await server.api.post(
        f"/api/incidents/{second['incident_id']}/resolve", {"disposition": "false_alarm"}
    )

    by_grid = await _kpis(server, d["token"])
    total = by_grid["real"]["total"]
    assert (total["alarms"], total["unacknowledged"]) == (2, 1)
    assert total["answer"]["base"] == 2 and total["answer"]["ended"] == 1
    # Acknowledged at once (well within 10 s); the other never: half of the alarms.
    assert total["answer"]["within"] == {"10": 0.5, "40": 0.5}
    assert total["answer_met"] is False and total["process_met"] is None
    assert total["dispositions"] == {"false_alarm": 1, "unresolved": 1}
    assert [(g["key"], g["alarms"]) for g in by_grid["real"]["groups"]] == [("G03", 2)]

    who = await _kpis(server, server.api.admin_token, by="dispatcher")
    groups = {g["key"]: g for g in who["real"]["groups"]}
    mine = f"dispatcher:{d['dispatcher_id']}"
    assert list(groups) == [mine, None]
    assert (groups[mine]["name"], groups[mine]["alarms"]) == ("张阿姨", 1)
    assert (groups[None]["name"], groups[None]["unacknowledged"]) == (None, 1)

    shifts = await _kpis(server, d["token"], by="shift")
    [window] = shifts["real"]["groups"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d (morning|evening)", window["key"]), window["key"]
    months = await _kpis(server, d["token"], by="month")
    assert [g["alarms"] for g in months["real"]["groups"]] == [2]
    weeks = await _kpis(server, d["token"], by="week")
    [week] = weeks["real"]["groups"]
    assert re.fullmatch(r"\d{4}-W\d\d", week["key"]) and week["alarms"] == 2, week["key"]
    # One answered at once, in the first bucket; the unanswered one is in none.
    assert [(b["from_s"], b["to_s"]) for b in total["answer_buckets"]] == [
        (0, 5),
        (5, 10),
        (10, 20),
        (20, 40),
        (40, 60),
        (60, None),
    ]
    assert [b["count"] for b in total["answer_buckets"]] == [1, 0, 0, 0, 0, 0]

    before = await _kpis(server, d["token"], since="2020-01-01", until="2020-02-01T00:00:00+08:00")
    assert before["real"]["total"]["alarms"] == 0
    assert before["since"] == "2020-01-01T00:00:00.000Z"
    assert before["until"] == "2020-01-31T16:00:00.000Z"


async def test_who_may_ask_and_what_is_refused(server: Running) -> None:
    m = await server.api.member("王大爷", "G03")
    async with server.api.client(m["token"]) as member:
        assert (await member.get("/api/kpis")).status_code == 403
    async with server.api.client(server.api.admin_token) as api:
        for params, where in [
            ({"by": "year"}, "by"),
            ({"since": "2026-02-30"}, "since"),
            ({"since": "2026-03-01", "until": "2026-03-01"}, "since"),
            ({"since": "2025-01-01", "until": "2026-03-01"}, "since"),  # over 366 days
            ({"since": "1969-12-31", "until": "1970-01-02"}, "since"),
            ({"until": "0001-01-01T00:00:00+14:00"}, "until"),
        ]:
            r = await api.get("/api/kpis", params=params)
            assert r.status_code == 422, (params, r.status_code, r.text)
            assert ["query", where] in [e["loc"] for e in r.json()["detail"]], (params, r.text)


async def test_shift_windows_and_months_in_the_communitys_time_zone(database_url: str) -> None:
    settings = settings_for(
        database_url,
        timezone="Asia/Shanghai",
        shift_morning="06:00-14:00",
        shift_evening="18:00-02:00",
    )
    async with in_process(settings) as server:
        m = await server.api.member("王大爷", "G03")
        handheld = await server.handheld(m["token"]).connect()
        taken = await handheld.alarm()
        view = await server.api.get(f"/api/incidents/{taken['incident_id']}")
        opened = datetime.fromisoformat(view["opened_at"]).astimezone(ZoneInfo("Asia/Shanghai"))
        if opened.hour < 6:
            expected = f"{(opened.date() - timedelta(days=1)).isoformat()} evening"
        else:
            expected = f"{opened.date().isoformat()} {'morning' if opened.hour < 18 else 'evening'}"
        got = await _kpis(server, server.api.admin_token, by="shift")
        assert (got["timezone"], got["shifts"]) == (
            "Asia/Shanghai",
            {"morning": "06:00-14:00", "evening": "18:00-02:00"},
        )
        assert [g["key"] for g in got["real"]["groups"]] == [expected]
        months = await _kpis(server, server.api.admin_token, by="month")
        assert [g["key"] for g in months["real"]["groups"]] == [opened.strftime("%Y-%m")]


async def test_the_monthly_report_as_a_pdf(database_url: str) -> None:
    settings = settings_for(database_url, timezone="Asia/Shanghai")
    async with in_process(settings) as server:
        m = await server.api.member("王大爷", "G03")
        d = await server.api.dispatcher("张阿姨")
        handheld = await server.handheld(m["token"]).connect()
        taken = await handheld.alarm(category="medical")
        await server.api.post(f"/api/incidents/{taken['incident_id']}/acknowledge", {}, d["token"])
        view = await server.api.get(f"/api/incidents/{taken['incident_id']}")
        opened = datetime.fromisoformat(view["opened_at"]).astimezone(ZoneInfo("Asia/Shanghai"))
        month = opened.strftime("%Y-%m")
        async with server.api.client(d["token"]) as c:
            r = await c.get("/api/kpis/report.pdf", params={"month": month})
            en = await c.get("/api/kpis/report.pdf", params={"month": month, "lang": "en"})
            empty = await c.get("/api/kpis/report.pdf", params={"month": "2020-02"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    assert f'filename="kpi-report-{month}-zh.pdf"' in r.headers["content-disposition"]
    zh_text = _pdf_text(r.content)
    for words in ["锦江酒店街区（G03）", "张阿姨", "Asia/Shanghai", "10秒内接警", "100.0%"]:
        assert words in zh_text, words
    en_text = _pdf_text(en.content)
    assert "Jinjiang Hotel Block (G03)" in en_text and "张阿姨" in en_text
    assert "No alarms this month" not in en_text
    assert "本月没有报警" in _pdf_text(empty.content)


async def test_the_report_refuses_bad_months_and_members(server: Running) -> None:
    m = await server.api.member("王大爷", "G03")
    async with server.api.client(m["token"]) as member:
        assert (await member.get("/api/kpis/report.pdf?month=2026-11")).status_code == 403
    async with server.api.client(server.api.admin_token) as api:
        for params in [
            {},
            {"month": "2026-13"},
            {"month": "2026-00"},
            {"month": "2026-1"},
            {"month": "0000-01"},
            {"month": "1970-01"},
            {"month": "9999-12"},
            {"month": "٢٠٢٦-11"},  # digits of another script
            {"month": "2026-11", "lang": "fr"},
        ]:
            r = await api.get("/api/kpis/report.pdf", params=params)
            assert r.status_code == 422, (params, r.status_code, r.text)
            where = "lang" if "lang" in params else "month"
            assert ["query", where] in [e["loc"] for e in r.json()["detail"]], (params, r.text)


def _pdf_text(pdf: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)
