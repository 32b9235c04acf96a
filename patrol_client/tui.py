"""The handheld's screen in a terminal: one big ALARM key, what became of the alarm,
incoming assignments and roll calls, each answered with one key. Chinese or English."""

from __future__ import annotations

import contextlib
import time
from datetime import datetime
from typing import Any

from textual.app import App, ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Footer, Static

from patrol_client.client import Link, PatrolClient
from patrol_client.connection import Refused
from patrol_client.outbox import Alarm, AlarmState

TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "alarm": "一键报警  (A)",
        "shift_on": "上岗  (S)",
        "shift_off": "下岗  (S)",
        "on_shift": "在岗",
        "off_shift": "未上岗",
        "my_alarms": "我的报警",
        "none": "（无）",
        "assignment": "调度任务",
        "accept": "接受  (Y)",
        "decline": "拒绝  (N)",
        "roll_call": "点名",
        "all_normal": "一切正常  (1)",
        "need_help": "需要帮助  (2)",
        "answered": "已回复",
        "unattended": "值班台暂时无人，请同时向身边的人呼救",
        "check_in": "报平安  (C)",
        "drill": "演练：请按红色报警键",
        "check_in_warning": "请报平安！",
        "check_in_overdue": "未按时报平安，中心已收到提醒",
        "answer_by": "请在此时间前回复",
        "coming": "正在赶来",
        Link.CONNECTING: "连接中…",
        Link.ONLINE: "● 在线",
        Link.OFFLINE: "○ 离线（报警已保存，联网后自动发送）",
        Link.STOPPED: "✕ 已停止",
        AlarmState.QUEUED: "已保存，等待联网",
        AlarmState.SENT: "已发送，等待中心确认",
        AlarmState.ACCEPTED: "中心已收到",
        AlarmState.ACKNOWLEDGED: "值班员已确认",
        AlarmState.DISPATCHED: "已派人",
        AlarmState.RESPONDING: "有人正在赶来",
        AlarmState.RESOLVED: "已处理完毕",
        AlarmState.REJECTED: "被拒绝",
    },
    "en": {
        "alarm": "ALARM  (A)",
        "shift_on": "Start shift  (S)",
        "shift_off": "End shift  (S)",
        "on_shift": "on shift",
        "off_shift": "off shift",
        "my_alarms": "My alarms",
        "none": "(none)",
        "assignment": "Assignment",
        "accept": "Accept  (Y)",
        "decline": "Decline  (N)",
        "roll_call": "Roll call",
        "all_normal": "All normal  (1)",
        "need_help": "Need help  (2)",
        "answered": "answered",
        "unattended": "no one at the duty console right now: call out to people near you too",
        "check_in": "Check in  (C)",
        "drill": "DRILL: press the red key now",
        "check_in_warning": "Please check in!",
        "check_in_overdue": "Check-in overdue: the centre has been alerted",
        "answer_by": "answer by",
        "coming": "coming",
        Link.CONNECTING: "connecting…",
        Link.ONLINE: "● online",
        Link.OFFLINE: "○ offline (alarms are kept and sent when back online)",
        Link.STOPPED: "✕ stopped",
        AlarmState.QUEUED: "saved, waiting for a link",
        AlarmState.SENT: "sent, waiting for the centre",
        AlarmState.ACCEPTED: "received by the centre",
        AlarmState.ACKNOWLEDGED: "a duty volunteer has seen it",
        AlarmState.DISPATCHED: "responders called",
        AlarmState.RESPONDING: "help is on the way",
        AlarmState.RESOLVED: "resolved",
        AlarmState.REJECTED: "refused",
    },
}


# The one-key answers, and the footer's word for each in either language (short: all ten
# must fit an 80-column terminal).
KEYS: list[tuple[str, str, dict[str, str]]] = [
    ("a", "alarm", {"zh": "报警", "en": "ALARM"}),
    ("s", "shift", {"zh": "上下岗", "en": "shift"}),
    ("c", "check_in", {"zh": "报平安", "en": "check in"}),
    ("y", "assignment(True)", {"zh": "接受", "en": "yes"}),
    ("n", "assignment(False)", {"zh": "拒绝", "en": "no"}),
    ("r", "status('arrived')", {"zh": "到场", "en": "arrived"}),
    ("d", "status('done')", {"zh": "完毕", "en": "done"}),
    ("1", "roll_call('all_normal')", {"zh": "正常", "en": "normal"}),
    ("2", "roll_call('need_help')", {"zh": "求助", "en": "help"}),
    ("q", "quit", {"zh": "退出", "en": "quit"}),
]


def describe(alarm: Alarm, t: dict[str, str]) -> str:
    """One line per alarm: when, which incident, and what the centre has done."""
    when = time.strftime("%H:%M:%S", time.localtime(alarm.created_at))
    line = f"{when}  "
    if alarm.incident_id is not None:
        line += f"#{alarm.incident_id}  "
    line += t[alarm.state]
    if alarm.coming:
        line += f" · {', '.join(alarm.coming)} {t['coming']}"
    if alarm.disposition:
        line += f" ({alarm.disposition})"
    if alarm.detail:
        line += f": {t.get(alarm.detail, alarm.detail)}"
    return line


def _local_time(iso_utc: str | None) -> str:
    if not iso_utc:
        return ""
    when = datetime.fromisoformat(iso_utc.replace("Z", "+00:00"))
    return when.astimezone().strftime("%H:%M:%S")


class HandheldApp(App[int]):
    # No command palette: its footer entry is English only and takes room the keys need.
    ENABLE_COMMAND_PALETTE = False
    CSS = """
    Screen { align: center top; }
    #status { height: 3; content-align: center middle; text-style: bold; }
    #alarm { width: 100%; height: 7; background: darkred; color: white; text-style: bold; }
    #alarm:focus { background: red; }
    #shift, #check_in { width: 100%; height: 3; }
    .title { text-style: bold; margin-top: 1; }
    .answers Button { width: 1fr; height: 3; }
    #alarms, #assignment, #roll_call { padding: 0 1; }
    """

    def __init__(self, client: PatrolClient, lang: str = "zh") -> None:
        super().__init__()
        self.client = client
        self.t = TEXT[lang]
        # The footer speaks the screen's language only, in words short enough that every
        # key fits 80 columns; so the keys are bound here, per language, not in BINDINGS.
        for key, action, words in KEYS:
            self.bind(key, action, description=words[lang])

    def compose(self) -> ComposeResult:
        yield Static(id="status")
        yield Static(self.t["drill"], id="drill", classes="title")
        yield Button(self.t["alarm"], id="alarm", variant="error")
        yield Button(self.t["shift_on"], id="shift")
        with Vertical(id="check_in_box"):
            yield Static(id="check_in_due", classes="title")
            yield Button(self.t["check_in"], id="check_in", variant="warning")
        yield Static(self.t["my_alarms"], classes="title")
        yield Static(id="alarms")
        with Vertical(id="assignment_box"):
            yield Static(self.t["assignment"], classes="title")
            yield Static(id="assignment")
            with Horizontal(classes="answers"):
                yield Button(self.t["accept"], id="accept", variant="success")
                yield Button(self.t["decline"], id="decline")
        with Vertical(id="roll_call_box"):
            yield Static(self.t["roll_call"], classes="title")
            yield Static(id="roll_call")
            with Horizontal(classes="answers"):
                yield Button(self.t["all_normal"], id="all_normal", variant="success")
                yield Button(self.t["need_help"], id="need_help", variant="warning")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.run_worker(self._run_client(), exclusive=True)
        self.set_interval(0.25, self.refresh_view)
        self.query_one("#alarm", Button).focus()
        self.refresh_view()

    async def _run_client(self) -> None:
        # A refused token: the reason is on the status line; the screen stays up to be read.
        with contextlib.suppress(Refused):
            await self.client.run()
        self.refresh_view()

    def refresh_view(self) -> None:
        view = self.client.view
        who = view.welcome
        grid = (who.grid if who else None) or {}
        grid_id = (who.grid_id if who else None) or ""
        name = grid.get("name_zh") if self.t is TEXT["zh"] else grid.get("name_en")
        shift = self.t["on_shift"] if view.on_shift else self.t["off_shift"]
        status = f"{grid_id} {name or ''}  ·  {self.t[view.link]}  ·  {shift}"
        if view.stopped_because:
            status += f"\n{view.stopped_because}"
        self.query_one("#status", Static).update(status)
        self.query_one("#shift", Button).label = self.t[
            "shift_off" if view.on_shift else "shift_on"
        ]
        alarms = self.client.outbox.recent(5)
        self.query_one("#alarms", Static).update(
            "\n".join(describe(a, self.t) for a in alarms) or self.t["none"]
        )
        self.query_one("#drill").display = view.drill_id is not None
        self._show_assignment()
        self._show_roll_call()
        due = view.check_in_due
        self.query_one("#check_in_box").display = due is not None
        if due is not None:
            self.query_one("#check_in_due", Static).update(self.t[f"check_in_{due}"])

    def _open_assignment(self) -> Any:
        waiting = [a for a in self.client.view.assignments.values() if a.answer is None]
        return waiting[-1] if waiting else None

    def _open_roll_call(self) -> Any:
        waiting = [r for r in self.client.view.roll_calls.values() if r.answer is None]
        return waiting[-1] if waiting else None

    def _show_assignment(self) -> None:
        a = self._open_assignment()
        self.query_one("#assignment_box").display = a is not None
        if a is not None:
            f = a.frame
            far = f" · {f.distance_m:.0f} m" if f.distance_m is not None else ""
            text = f"#{a.incident_id} · {f.grid_id} · {f.category}{far}"
            self.query_one("#assignment", Static).update(text)

    def _show_roll_call(self) -> None:
        r = self._open_roll_call()
        self.query_one("#roll_call_box").display = r is not None
        if r is not None:
            by = _local_time(r.frame.deadline)
            text = f"#{r.roll_call_id} · {self.t['answer_by']} {by}"
            self.query_one("#roll_call", Static).update(text)

    async def action_alarm(self) -> None:
        await self.client.alarm()
        self.refresh_view()

    def action_check_in(self) -> None:
        self.client.check_in()

    def action_shift(self) -> None:
        self.client.set_shift(not self.client.view.on_shift)

    def action_assignment(self, accept: bool) -> None:
        if (a := self._open_assignment()) is not None:
            self.client.answer_assignment(a.incident_id, accept)
            self.refresh_view()

    def action_status(self, status: str) -> None:
        """From the scene, on the newest assignment accepted and not yet done."""
        taken = [
            a for a in self.client.view.assignments.values() if a.answer and a.status != "done"
        ]
        if taken:
            self.client.tell_status(taken[-1].incident_id, status)
            self.refresh_view()

    def action_roll_call(self, status: str) -> None:
        if (r := self._open_roll_call()) is not None:
            self.client.answer_roll_call(r.roll_call_id, status)
            self.refresh_view()

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        match event.button.id:
            case "alarm":
                await self.action_alarm()
            case "shift":
                self.action_shift()
            case "check_in":
                self.action_check_in()
            case "accept" | "decline":
                self.action_assignment(event.button.id == "accept")
            case "all_normal" | "need_help":
                self.action_roll_call(event.button.id)

    async def action_quit(self) -> None:
        self.client.stop()
        self.exit(0)
