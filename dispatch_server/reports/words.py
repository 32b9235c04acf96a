"""What the monthly report says, in Chinese (the default) and English, and how it writes
numbers: shares to one decimal (a rounded "90%" must not hide 89.6% against a 90% target),
seconds to one decimal."""

from __future__ import annotations

from enum import StrEnum


class Lang(StrEnum):
    ZH = "zh"
    EN = "en"


WORDS: dict[Lang, dict[str, str]] = {
    Lang.ZH: {
        "title": "社区网格巡逻调度 接警处置月报",
        "period": "统计期间：{since} 至 {until}（{zone}）",
        "generated": "生成时间：{at}",
        "font": "字体：{font}",
        "headline": "主要指标与目标",
        "figure": "指标",
        "value": "本月",
        "target": "目标",
        "verdict": "结果",
        "met": "达标",
        "missed": "未达标",
        "no_data": "无数据",
        "for_reference": "参考",
        "alarms": "报警",
        "unacknowledged": "未确认",
        "unattended": "无人值守时报警",
        "answer_within": "{s}秒内接警（确认）",
        "answer_times": "接警时间 中位数 / 90%",
        "process_within": "接警后{s}秒内派遣",
        "arrival_within": "{m}分钟内到场",
        "share_at_least": "≥ {share}",
        "p90_at_most": "90% ≤ {s}秒",
        "circles": "1-3-5分钟圈",
        "seconds": "{s}秒",
        "count": "{n}起",
        "by_grid": "各网格",
        "by_shift": "各班次",
        "by_dispatcher": "各值班员",
        "grid": "网格",
        "shift": "班次",
        "dispatcher": "值班员",
        "col_alarms": "报警",
        "col_unack": "未确认",
        "col_answer": "{s}秒内接警",
        "col_times": "接警 中位/90%",
        "col_process": "{s}秒内派遣",
        "col_arrival": "到场 1/3/5分钟",
        "chart": "各网格{s}秒内接警比例（虚线：目标{share}）",
        "escalations": "自动上报（按触发原因）",
        "dispositions": "结案方式（含误报）",
        "trigger": "触发原因",
        "disposition": "结案方式",
        "alarms_col": "报警数",
        "none": "无",
        "drills": "演练（单独计分，不计入以上数字）",
        "no_drills": "本月没有演练。",
        "no_alarms": "本月没有报警。",
        "morning": "早班",
        "evening": "晚班",
        "nobody": "无人确认",
        "admin": "管理员",
        "server_zone": "服务器时区",
        "page": "第{n}页",
        "trigger.immediate": "立即上报",
        "trigger.no_ack": "无人确认",
        "trigger.no_responder": "无人接受派遣",
        "trigger.unattended": "无人值守",
        "disposition.true_alarm": "真实警情",
        "disposition.false_alarm": "误报",
        "disposition.test": "测试",
        "disposition.handled_by_partner": "已交安保/警方处理",
        "disposition.unresolved": "未结案",
    },
    Lang.EN: {
        "title": "Grid patrol dispatch: monthly response report",
        "period": "Period: {since} to {until} ({zone})",
        "generated": "Made: {at}",
        "font": "Font: {font}",
        "headline": "Headline figures against targets",
        "figure": "Figure",
        "value": "This month",
        "target": "Target",
        "verdict": "Result",
        "met": "met",
        "missed": "missed",
        "no_data": "no data",
        "for_reference": "for reference",
        "alarms": "Alarms",
        "unacknowledged": "Never acknowledged",
        "unattended": "Came in with no console staffed",
        "answer_within": "Answered (acknowledged) within {s} s",
        "answer_times": "Answer time, median / 90th percentile",
        "process_within": "Dispatched within {s} s of the answer",
        "arrival_within": "Arrived within {m} min",
        "share_at_least": "≥ {share}",
        "p90_at_most": "90th ≤ {s} s",
        "circles": "1-3-5 minute circles",
        "seconds": "{s} s",
        "count": "{n}",
        "by_grid": "By grid",
        "by_shift": "By shift",
        "by_dispatcher": "By duty volunteer",
        "grid": "Grid",
        "shift": "Shift",
        "dispatcher": "Duty volunteer",
        "col_alarms": "Alarms",
        "col_unack": "Unack.",
        "col_answer": "Answered ≤ {s} s",
        "col_times": "Answer p50/p90",
        "col_process": "Dispatched ≤ {s} s",
        "col_arrival": "Arrived ≤ 1/3/5 min",
        "chart": "Share answered within {s} s by grid (dashed: the {share} target)",
        "escalations": "Escalations by trigger",
        "dispositions": "Dispositions (false alarms among them)",
        "trigger": "Trigger",
        "disposition": "Disposition",
        "alarms_col": "Alarms",
        "none": "None",
        "drills": "Drills (scored apart, never in the figures above)",
        "no_drills": "No drills this month.",
        "no_alarms": "No alarms this month.",
        "morning": "morning",
        "evening": "evening",
        "nobody": "Nobody acknowledged",
        "admin": "Administrator",
        "server_zone": "the server's time zone",
        "page": "Page {n}",
        "trigger.immediate": "at once",
        "trigger.no_ack": "nobody acknowledged",
        "trigger.no_responder": "nobody accepted",
        "trigger.unattended": "no console staffed",
        "disposition.true_alarm": "True alarm",
        "disposition.false_alarm": "False alarm",
        "disposition.test": "Test",
        "disposition.handled_by_partner": "Handled by security/police",
        "disposition.unresolved": "Not resolved",
    },
}


def say(lang: Lang, key: str, **values: object) -> str:
    """The words for `key`, filled in; the key itself for one not in the table (a trigger
    or disposition added later still shows, if in its wire name)."""
    return WORDS[lang].get(key, key.rpartition(".")[2]).format(**values)


def share(value: float | None, lang: Lang) -> str:
    return say(lang, "no_data") if value is None else f"{value * 100:.1f}%"


def seconds(value: float | None, lang: Lang) -> str:
    return "—" if value is None else say(lang, "seconds", s=f"{value:.1f}")
