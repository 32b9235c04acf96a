"""What should have happened, worked out from what the simulator did and what the log says.

The duty-day driver (dutyday.py) feeds this module every event the consoles
receive, and tells it what it did that the log does not show: when escalation
and check-in rules changed (request sent, answer received), when partners were
added, when each handheld last sent a frame, when the server was down. From that
alone, never from the server's own deadline code, `Oracle.check(now)` works out
every deadline that has fallen due and compares it with the log:

- each escalation step (trigger, to, category, grid_id: what a rule does, whatever
  its id) is taken at most once per incident; each rule in force fires when its
  trigger holds, within the tolerance of its time, never early, never after an
  acknowledgement, an acceptance or the resolution that should have stopped it, and
  to the partners that cover the grid, unless its step was already taken for that
  incident (under any rule id: replacing the rules gives new ids, or reuses old
  ones for other rules);
- each roll call closes once, at its deadline, with the silent grids and late flags
  that its answers imply, having expected exactly the members on shift there;
- a member on shift whose handheld said nothing for `offline_after_s` is marked
  offline once (and only then), and online once when heard again;
- a lone worker who does not check in gets the warning, then the overdue (and its
  incident), each once per missed check-in, on time.

Times race: an acknowledgement that arrives within the tolerance after a step
fell due may or may not beat it; a rule changed within the tolerance of a step
may or may not apply. Such steps are accepted either way (`ambiguous`), never
guessed.
"""

from __future__ import annotations

import bisect
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

Frame = dict[str, Any]
EARLY = 0.05  # seconds a step may seem early: the log's `at` is the commit's clock


def epoch(iso_time: str) -> float:
    return datetime.fromisoformat(iso_time.replace("Z", "+00:00")).timestamp()


@dataclass
class Finding:
    kind: str  # a short key: escalation_missed, roll_call_late, health, ...
    message: str
    at: float = 0.0

    def __str__(self) -> str:
        return f"[{self.kind}] {self.message}"


@dataclass
class Epoch:
    """A set of rules in force from `recv` (the server may have had it from `sent`)."""

    sent: float
    recv: float
    rules: list[Frame]


@dataclass
class Lateness:
    """Worst and typical lateness per kind of deadline."""

    worst: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    count: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, kind: str, late: float) -> None:
        self.count[kind] += 1
        self.worst[kind] = max(self.worst[kind], late)


RULE_KEY = ("rule_id", "trigger", "to", "after_s", "category", "grid_id")


def rule_key(r: Frame) -> tuple[Any, ...]:
    return tuple(r.get(k) for k in RULE_KEY)


def rule_step(r: Frame) -> tuple[Any, ...]:
    """A rule's step: what it does, whatever its id (domain/escalation.py's `Step`)."""
    return (r["trigger"], r["to"], r.get("category"), r.get("grid_id"))


def event_step(e: Frame) -> tuple[Any, ...]:
    """The step an `incident_escalated` event took."""
    return (e["trigger"], e["to"], e.get("rule_category"), e.get("rule_grid_id"))


def describe_step(step: tuple[Any, ...]) -> str:
    trigger, to, category, grid_id = step
    where = ", ".join(f"{k}={v}" for k, v in (("category", category), ("grid_id", grid_id)) if v)
    return f"{trigger} -> {to}{', ' + where if where else ''}"


def describe_rule(r: Frame) -> str:
    where = ", ".join(f"{k}={r[k]}" for k in ("category", "grid_id") if r.get(k))
    after = f" after {r['after_s']:g} s" if r["trigger"] in ("no_ack", "no_responder") else ""
    return (
        f"rule {r['rule_id']} ({r['trigger']}{after} -> {r['to']}{', ' + where if where else ''})"
    )


class Oracle:
    def __init__(
        self,
        tolerance_s: float,
        offline_after_s: float,
        overdue_after_s: float,
        race_s: float = 0.5,
    ) -> None:
        """`tolerance_s`: how late a deadline may fire; `race_s`: how soon after a step fell
        due something that stops it (an acknowledgement, say) may still have beaten it. The
        server fires within milliseconds of a step: a stop a second later came too late."""
        self.tol = tolerance_s
        self.race = race_s
        self.offline_after_s = offline_after_s
        self.default_overdue_s = overdue_after_s
        self.log: dict[int, Frame] = {}
        self.by_incident: dict[int, list[Frame]] = defaultdict(list)
        self.by_roll_call: dict[int, list[Frame]] = defaultdict(list)
        self.by_member: dict[int, list[Frame]] = defaultdict(list)
        self.by_alert: dict[str, list[Frame]] = defaultdict(list)
        self.rule_epochs: list[Epoch] = []
        self.check_in_epochs: list[Epoch] = []
        self.partners: list[tuple[float, float, Frame]] = []  # (sent, recv, partner)
        self.member_grid: dict[int, str] = {}
        self.sends: dict[int, list[float]] = defaultdict(list)  # frames each handheld sent
        self.downtime: list[tuple[float, float]] = []  # (went down, serving again)
        self.late = Lateness()
        # How often a judgement the figures should show was made (steps already taken...).
        self.tally: Counter[str] = Counter()
        self.settled: set[tuple[Any, ...]] = set()  # findings already judged fine for good
        self.reported: set[tuple[Any, ...]] = set()
        # Per member, appended as the log comes: supervision events, shift changes (t, on),
        # check-in cycle boundaries and check-in steps; and how far each check has got.
        self.supervised: dict[int, list[Frame]] = defaultdict(list)
        self.shifts: dict[int, list[tuple[float, bool]]] = defaultdict(list)
        self.cycles: dict[int, list[Frame]] = defaultdict(list)
        self.ci_steps: dict[int, list[Frame]] = defaultdict(list)
        self.sup_state: dict[int, list[Any]] = {}  # [events seen, marked offline, last offline]
        self.cycle_from: dict[int, int] = defaultdict(int)
        # Steps that fell due and did not fire, excused as a race with what stopped them:
        # the first suspects when a clock is found dead soon after.
        self.excused: list[tuple[float, str]] = []

    # --- input ------------------------------------------------------------------------

    def add(self, frame: Frame) -> None:
        frame = {**frame, "t": epoch(frame["at"])}
        self.log[frame["seq"]] = frame
        # The overdue steps carry the incident they opened, but are not in its timeline.
        if (iid := frame.get("incident_id")) is not None and frame["type"] not in (
            "check_in_overdue",
            "team_check_overdue",
        ):
            self.by_incident[iid].append(frame)
        if (rc := frame.get("roll_call_id")) is not None:
            self.by_roll_call[rc].append(frame)
        if frame["type"] in MEMBER_EVENTS:
            member_id = frame["member_id"]
            self.by_member[member_id].append(frame)
            if frame["type"] in ("member_offline", "member_online"):
                self.supervised[member_id].append(frame)
            elif frame["type"] in ("shift_started", "shift_ended"):
                self.shifts[member_id].append((frame["t"], frame["type"] == "shift_started"))
            if frame["type"] in ("shift_started", "shift_ended", "member_checked_in"):
                self.cycles[member_id].append(frame)
            elif frame["type"] in ("check_in_warning", "check_in_overdue"):
                self.ci_steps[member_id].append(frame)
        if frame["type"] == "incident_opened":
            self.by_alert[frame["alert_id"]].append(frame)

    def sent(self, member_id: int, at: float) -> None:
        bisect.insort(self.sends[member_id], at)

    def last_sent(self, member_id: int, before: float) -> float:
        times = self.sends[member_id]
        i = bisect.bisect_right(times, before)
        return times[i - 1] if i else float("-inf")

    def next_sent(self, member_id: int, after: float) -> float | None:
        times = self.sends[member_id]
        i = bisect.bisect_right(times, after)
        return times[i] if i < len(times) else None

    # --- time helpers -------------------------------------------------------------------

    def effective(self, t: float) -> float:
        """A deadline that fell while the server was down is due when it serves again; so is
        one that fell due less than the tolerance before it went down, as the old process
        still had that long to act (seed 3 on PostgreSQL: a step due 15 ms before a SIGKILL,
        fired by the new process as soon as it led, was "2.47 s late")."""
        for down, up in self.downtime:
            if down - self.tol < t <= up:
                return up
        return t

    def last_start(self, before: float, surely: bool = False) -> float:
        """When the server last started before `before` (everyone gets the grace again):
        at the earliest when it went down, `surely` by when it served again."""
        starts = [up if surely else down for down, up in self.downtime if down <= before]
        return max(starts, default=float("-inf"))

    # --- checks ---------------------------------------------------------------------------

    def check(self, now: float, final: bool = False) -> list[Finding]:
        found: list[Finding] = []
        found += self.check_alarms()
        found += self.check_escalations(now)
        found += self.check_roll_calls(now)
        found += self.check_supervision(now)
        found += self.check_check_ins(now)
        fresh = []
        for f in found:
            key = (f.kind, f.message)
            if key not in self.reported:
                self.reported.add(key)
                fresh.append(f)
        return fresh

    def check_alarms(self) -> list[Finding]:
        out = []
        for alert_id, opened in self.by_alert.items():
            if len(opened) > 1 and ("alarm_twice", alert_id) not in self.settled:
                self.settled.add(("alarm_twice", alert_id))
                seqs = [e["seq"] for e in opened]
                out.append(Finding("alarm_twice", f"alert_id {alert_id} opened twice: seqs {seqs}"))
        return out

    # escalation -------------------------------------------------------------------------

    def rule_instances(self) -> list[tuple[Frame, float, float, float]]:
        """Every rule as the log of rule changes has it: (rule, sent, recv, until) where the
        server may have it from `sent`, surely from `recv`, and had it until `until`."""
        out: list[tuple[Frame, float, float, float]] = []
        open_: dict[tuple[Any, ...], tuple[Frame, float, float]] = {}
        for ep in self.rule_epochs:
            keys = {rule_key(r): r for r in ep.rules}
            for key in list(open_):
                if key not in keys:
                    r, sent, recv = open_.pop(key)
                    out.append((r, sent, recv, ep.sent))
            for key, r in keys.items():
                if key not in open_:
                    open_[key] = (r, ep.sent, ep.recv)
        out += [(r, sent, recv, float("inf")) for r, sent, recv in open_.values()]
        return out

    def partners_at(self, t: float, kind: str, grid_id: str) -> tuple[set[int], set[int]]:
        """Partners of this kind covering the grid: surely known at t, and possibly known."""
        sure, maybe = set(), set()
        for sent, recv, p in self.partners:
            if p["kind"] != kind or grid_id not in p["grids"]:
                continue
            if recv <= t:
                sure.add(p["partner_id"])
            if sent <= t + self.tol:
                maybe.add(p["partner_id"])
        return sure, maybe

    def check_escalations(self, now: float) -> list[Finding]:
        out: list[Finding] = []
        instances = self.rule_instances()
        for iid, events in self.by_incident.items():
            if ("incident_done", iid) in self.settled:
                continue
            opened = events[0]
            if opened["type"] != "incident_opened":
                continue
            out += self._escalation(iid, events, instances, now)
        return out

    def _escalation(
        self,
        iid: int,
        events: list[Frame],
        instances: list[tuple[Frame, float, float, float]],
        now: float,
    ) -> list[Finding]:
        out: list[Finding] = []
        opened = events[0]
        t0 = opened["t"]
        what = f"incident {iid} ({opened['category']}, {opened['grid_id']}, opened {opened['at']})"
        ack_t = next(
            (
                e["t"]
                for e in events
                if e["type"] in ("incident_acknowledged", "responders_dispatched")
            ),
            None,
        )
        resolved_t = next((e["t"] for e in events if e["type"] == "incident_resolved"), None)
        # Who is coming, over time: (time, coming) at each reply.
        coming_steps: list[tuple[float, bool]] = []
        accepted: set[int] = set()
        for e in events:
            if e["type"] == "assignment_replied":
                (accepted.add if e["accept"] else accepted.discard)(e["member_id"])
                coming_steps.append((e["t"], bool(accepted)))

        def coming(t: float) -> bool:
            state = False
            for at, c in coming_steps:
                if at <= t:
                    state = c
            return state

        # The steps taken, by what they did (trigger, to, the rule's category and grid), not
        # by rule id: the server takes each step once per incident, whatever rule id it had
        # (PUT /api/escalation-rules gives new ids, or reuses old ones for other rules).
        fired: dict[tuple[Any, ...], list[Frame]] = defaultdict(list)
        for e in events:
            if e["type"] == "incident_escalated":
                fired[event_step(e)].append(e)
        # Each step that fired: once, for a reason that held by the log's order, to the right
        # partners.
        for key, steps in fired.items():
            if len(steps) > 1:
                ids = sorted({s["rule_id"] for s in steps})
                out.append(
                    Finding(
                        # Under one id: the rule fired twice; under several: the rules were
                        # replaced and the step was taken again under a new id.
                        "escalation_twice" if len(ids) == 1 else "escalation_repeated",
                        f"{what}: step {describe_step(key)} taken {len(steps)} times, by rule "
                        + ", ".join(f"{s['rule_id']} (seq {s['seq']})" for s in steps)
                        + f"; partners {[s['partner_ids'] for s in steps]}",
                    )
                )
            step = steps[0]
            rule_id = step["rule_id"]
            before = [e for e in events if e["seq"] < step["seq"]]
            kinds = {e["type"] for e in before}
            if "incident_resolved" in kinds:
                out.append(Finding("escalation_after_resolve", f"{what}: seq {step['seq']}"))
            trigger = step["trigger"]
            if trigger == "no_ack" and kinds & {"incident_acknowledged", "responders_dispatched"}:
                out.append(
                    Finding(
                        "escalation_unjustified",
                        f"{what}: no_ack step (seq {step['seq']}) after it was acknowledged",
                    )
                )
            if trigger == "no_responder" and coming(step["t"] - 1e-6):
                out.append(
                    Finding(
                        "escalation_unjustified",
                        f"{what}: no_responder step (seq {step['seq']}) while someone had accepted",
                    )
                )
            if trigger == "unattended" and not opened.get("unattended"):
                out.append(
                    Finding("escalation_unjustified", f"{what}: unattended step but attended")
                )
            # A rule in force then (give or take the change's round trip) that it answers to:
            # the id it names, doing the step it says.
            rules = [
                r
                for r, sent, _, until in instances
                if r["rule_id"] == rule_id
                and rule_step(r) == key
                and sent - EARLY <= step["t"] <= until + self.tol
                and r.get("category") in (None, opened["category"])
                and r.get("grid_id") in (None, opened["grid_id"])
            ]
            if not rules:
                out.append(
                    Finding(
                        "escalation_unjustified",
                        f"{what}: step seq {step['seq']} by rule {rule_id} "
                        f"({describe_step(key)}), but no such rule matching it was in force",
                    )
                )
            elif trigger in ("no_ack", "no_responder") and all(
                step["t"] < t0 + r["after_s"] - EARLY for r in rules
            ):
                out.append(
                    Finding(
                        "escalation_early",
                        f"{what}: {trigger} step seq {step['seq']} at {step['at']}, "
                        f"{step['t'] - t0:.2f} s after opening; rule {rule_id} waits "
                        f"{min(r['after_s'] for r in rules):g} s",
                    )
                )
            sure, maybe = self.partners_at(step["t"], step["to"], opened["grid_id"])
            got = set(step["partner_ids"])
            if not sure <= got <= maybe:
                out.append(
                    Finding(
                        "escalation_partners",
                        f"{what}: step seq {step['seq']} went to partners {sorted(got)}, "
                        f"expected {sorted(sure)} (possibly {sorted(maybe)})",
                    )
                )
        # Each rule instance that fell due fired, on time.
        for rule, sent, recv, until in instances:
            key = ("esc", iid, rule_key(rule), recv)
            if key in self.settled:
                continue
            if rule.get("category") not in (None, opened["category"]):
                continue
            if rule.get("grid_id") not in (None, opened["grid_id"]):
                continue
            trigger = rule["trigger"]
            if trigger == "unattended" and not opened.get("unattended"):
                continue
            after = rule["after_s"] if trigger in ("no_ack", "no_responder") else 0.0
            start = max(t0 + after, recv)
            stop = min(until, resolved_t if resolved_t is not None else float("inf"))

            def holds(t: float, trigger: str = trigger) -> bool:
                if trigger == "no_ack":
                    return ack_t is None or ack_t > t
                if trigger == "no_responder":
                    return not coming(t)
                return True

            candidates = [start] + [t for t, c in coming_steps if t > start and not c]
            due = next((t for t in sorted(candidates) if t < stop and holds(t)), None)
            name = describe_rule(rule)
            # The step, taken while this rule may have been in force (by it, or by another
            # rule of the same step), or before it came (under any id): then it is not due
            # again, even if its waiting time changed.
            same_step = fired.get(rule_step(rule), [])
            mine = [s for s in same_step if sent - EARLY <= s["t"] <= until + self.tol]
            earlier = [s for s in same_step if s["t"] < sent - EARLY]
            if earlier:
                self.settled.add(key)
                same = earlier[0]["rule_id"] == rule["rule_id"]
                self.tally["step_taken_before_rule" + ("" if same else "_other_id")] += 1
                continue
            if due is None:
                if now > stop + self.tol:
                    self.settled.add(key)
                continue
            eff = self.effective(due)
            # Something that stops the step soon after it fell due may have beaten it.
            stoppers = [
                t
                for t in (ack_t if trigger == "no_ack" else None, resolved_t, until)
                if t is not None
            ]
            stoppers += (
                [t for t, c in coming_steps if c and t >= due] if trigger == "no_responder" else []
            )
            raced = any(due <= t <= eff + self.race for t in stoppers)
            if mine:
                s = mine[0]
                if s["t"] < due - EARLY and s["t"] < sent - EARLY:
                    out.append(
                        Finding(
                            "escalation_early", f"{what}: {name} fired at {s['at']}, due {due:.3f}"
                        )
                    )
                late = s["t"] - eff
                self.late.add("escalation", max(0.0, late))
                if late > self.tol and not raced:
                    out.append(
                        Finding(
                            "escalation_late",
                            f"{what}: {name} fell due at {_t(due)}, fired {late:.2f} s late "
                            f"(seq {s['seq']})",
                        )
                    )
                self.settled.add(key)
                continue
            if now <= eff + self.tol:
                continue  # not overdue yet
            if raced:
                self.settled.add(key)
                self.tally["escalation_excused_race"] += 1
                self.excused.append(
                    (
                        due,
                        f"{what}: {name} fell due at {_t(due)} and did not fire; excused, as "
                        "it was stopped in time to race it, at "
                        + ", ".join(_t(t) for t in stoppers if due <= t <= eff + self.race),
                    )
                )
                continue
            acks = sorted(e["partner_id"] for e in events if e["type"] == "partner_acknowledged")
            extra = (
                f"; partners already on it: {_partners_on(events)}" if _partners_on(events) else ""
            )
            extra += f"; partner acks: {acks}" if acks else ""
            # The old bug's signature: "fired once" keyed on the rule id, and the id was reused
            # (SQLite) for another step that fired for this incident.
            other = [
                s
                for k, steps in fired.items()
                if k != rule_step(rule)
                for s in steps
                if s["rule_id"] == rule["rule_id"]
            ]
            if other:
                extra += (
                    f"; rule id {rule['rule_id']} fired for another step of it, "
                    f"{describe_step(event_step(other[0]))} (seq {other[0]['seq']}): is 'fires "
                    "once' keyed on the rule id again?"
                )
            out.append(
                Finding(
                    "escalation_missed",
                    f"{what}: {name} fell due at {_t(due)} and has not fired "
                    f"{now - eff:.1f} s later{extra}",
                )
            )
            self.settled.add(key)
        if resolved_t is not None and now > resolved_t + 3 * self.tol:
            self.settled.add(("incident_done", iid))
        return out

    # roll calls ---------------------------------------------------------------------------

    def on_shift_before(self, seq: int) -> dict[int, str]:
        """Members on shift (by the log) just before `seq`, with their grids."""
        on: dict[int, str] = {}
        for member_id, events in self.by_member.items():
            state = False
            for e in events:
                if e["seq"] >= seq:
                    break
                if e["type"] == "shift_started":
                    state = True
                elif e["type"] == "shift_ended":
                    state = False
            if state:
                on[member_id] = self.member_grid.get(member_id, "?")
        return on

    def check_roll_calls(self, now: float) -> list[Finding]:
        out: list[Finding] = []
        for rc_id, events in self.by_roll_call.items():
            if ("rc_done", rc_id) in self.settled:
                continue
            start = events[0]
            if start["type"] != "roll_call_started":
                continue
            what = f"roll call {rc_id} ({', '.join(start['grid_ids'])}, started {start['at']})"
            if ("rc_expected", rc_id) not in self.settled:
                self.settled.add(("rc_expected", rc_id))
                want = {
                    m: g
                    for m, g in self.on_shift_before(start["seq"]).items()
                    if g in start["grid_ids"]
                }
                got = {int(m): g for m, g in start["expected"].items()}
                if got != want:
                    out.append(
                        Finding(
                            "roll_call_expected",
                            f"{what}: expected {sorted(got)}, "
                            f"but on shift there were {sorted(want)}",
                        )
                    )
            deadline = start["deadline"]
            eff = self.effective(deadline)
            closes = [e for e in events if e["type"] == "roll_call_closed"]
            if len(closes) > 1:
                out.append(Finding("roll_call_closed_twice", f"{what}: closed {len(closes)} times"))
            expected = {int(m): g for m, g in start["expected"].items()}
            for e in events:
                if e["type"] != "roll_call_answered":
                    continue
                closed_before = any(c["seq"] < e["seq"] for c in closes)
                late = closed_before or e["t"] > deadline
                if bool(e.get("late")) != late and abs(e["t"] - deadline) > EARLY:
                    out.append(
                        Finding(
                            "roll_call_late_flag",
                            f"{what}: answer seq {e['seq']} at {e['at']} "
                            f"marked late={e.get('late')}",
                        )
                    )
            if not closes:
                if now > eff + self.tol:
                    out.append(
                        Finding(
                            "roll_call_missed",
                            f"{what}: deadline {_t(deadline)} passed {now - eff:.1f} s ago and it "
                            "has not closed",
                        )
                    )
                    self.settled.add(("rc_done", rc_id))
                continue
            close = closes[0]
            if close["t"] < deadline - EARLY:
                out.append(Finding("roll_call_early", f"{what}: closed at {close['at']}"))
            late = close["t"] - eff
            self.late.add("roll_call", max(0.0, late))
            if late > self.tol:
                out.append(
                    Finding("roll_call_late", f"{what}: closed {late:.2f} s after its deadline")
                )
            answered = {
                expected.get(e["member_id"])
                for e in events
                if e["type"] == "roll_call_answered" and e["seq"] < close["seq"]
            }
            silent = sorted(g for g in start["grid_ids"] if g not in answered)
            if sorted(close["silent_grids"]) != silent:
                out.append(
                    Finding(
                        "roll_call_silent_grids",
                        f"{what}: silent grids {close['silent_grids']}, the answers say {silent}",
                    )
                )
            self.settled.add(("rc_done", rc_id))
        return out

    # supervision ------------------------------------------------------------------------------

    def on_shift_at(self, member_id: int, t: float) -> bool:
        changes = self.shifts.get(member_id, [])
        i = bisect.bisect_right(changes, (t, True))
        return changes[i - 1][1] if i else False

    def check_supervision(self, now: float) -> list[Finding]:
        out: list[Finding] = []
        grace = self.offline_after_s
        for member_id in sorted(set(self.sends) | set(self.supervised)):
            events = self.supervised.get(member_id, [])
            st = self.sup_state.setdefault(member_id, [0, False, float("-inf")])
            for e in events[st[0] :]:  # each offline/online event, once
                st[0] += 1
                if e["type"] == "member_online":
                    if not st[1]:
                        out.append(
                            Finding("online_twice", f"member {member_id}: online without offline")
                        )
                    heard = self.next_sent(member_id, st[2])
                    if st[1] and (heard is None or heard > e["t"] + EARLY):
                        restarts = [up for _, up in self.downtime if st[2] <= up <= e["t"] + 0.5]
                        out.append(
                            Finding(
                                "online_false",
                                f"member {member_id} marked online at {e['at']} (seq {e['seq']}) "
                                f"but its handheld has sent nothing since it was marked offline "
                                f"at {_t(st[2])}"
                                + (
                                    f" (the server restarted at {_t(restarts[0])})"
                                    if restarts
                                    else ""
                                ),
                            )
                        )
                    st[1] = False
                    continue
                if st[1]:
                    out.append(
                        Finding(
                            "offline_twice", f"member {member_id}: offline twice (seq {e['seq']})"
                        )
                    )
                st[1], st[2] = True, e["t"]
                # A restart gives everyone the grace again, from when the new process loaded
                # (after the old one went down); an event of the old process during its
                # shutdown is judged by what it heard.
                heard = max(
                    self.last_sent(member_id, e["t"]), self.last_start(e["t"] - grace + 0.3)
                )
                if e["t"] - heard < grace - 0.3:
                    out.append(
                        Finding(
                            "offline_false",
                            f"member {member_id} marked offline at {e['at']} (seq {e['seq']}) "
                            f"but its handheld sent a frame {e['t'] - heard:.2f} s before "
                            f"(grace {grace:g} s)",
                        )
                    )
                    continue
                # Late is judged from the latest moment the new process may have loaded (it
                # served again by `up`), as early was from the earliest (the old one going
                # down): a restart that took 2 s once made an on-time step "2.06 s late".
                heard = max(
                    self.last_sent(member_id, e["t"]),
                    self.last_start(e["t"] - grace + 0.3, surely=True),
                )
                self.late.add("offline", max(0.0, e["t"] - heard - grace))
                if e["t"] - heard - grace > self.tol and self.effective(heard + grace) == (
                    heard + grace
                ):
                    out.append(
                        Finding(
                            "offline_late",
                            f"member {member_id} marked offline at {e['at']}, "
                            f"{e['t'] - heard - grace:.2f} s after the grace ran out",
                        )
                    )
            # Silent now, on shift, past the grace and the tolerance: it must have been said.
            heard = max(self.last_sent(member_id, now), self.last_start(now, surely=True))
            key = ("silent", member_id, heard)
            due = self.effective(heard + grace)
            if (
                key not in self.settled
                and heard > float("-inf")
                and now > due + self.tol
                and self.on_shift_at(member_id, heard)
            ):
                self.settled.add(key)
                said = _offline_at(events, heard) or any(
                    e["type"] == "member_offline" and e["t"] >= heard - EARLY for e in events
                )
                ended = any(not on and t >= heard for t, on in self.shifts.get(member_id, []))
                if not said and not ended:
                    out.append(
                        Finding(
                            "offline_missed",
                            f"member {member_id}: on shift and silent since {_t(heard)}, "
                            f"{now - heard:.1f} s ago (grace {grace:g} s), never marked offline",
                        )
                    )
            # Heard again after being marked offline: online must follow.
            if st[1]:
                back = self.next_sent(member_id, st[2])
                key = ("online", member_id, st[2])
                if (
                    back is not None
                    and now > self.effective(back) + self.tol + 1.0
                    and key not in self.settled
                ):
                    self.settled.add(key)
                    out.append(
                        Finding(
                            "online_missed",
                            f"member {member_id}: offline at {_t(st[2])}, heard again at "
                            f"{_t(back)}, never marked online",
                        )
                    )
        return out

    # check-ins --------------------------------------------------------------------------------

    def check_in_rule(self, member_id: int, t: float) -> tuple[Frame | None, float, float]:
        """The member's rule in force at t, with the epoch's (sent, recv)."""
        found: tuple[Frame | None, float, float] = (None, float("-inf"), float("-inf"))
        grid = self.member_grid.get(member_id)
        for ep in self.check_in_epochs:
            if ep.sent > t:
                break
            mine = [r for r in ep.rules if r.get("member_id") == member_id]
            grids = [r for r in ep.rules if r.get("grid_id") == grid and r.get("member_id") is None]
            rule = (mine or grids or [None])[0]
            found = (rule, ep.sent, ep.recv)
        return found

    def check_in_changes(self) -> list[float]:
        return [ep.sent for ep in self.check_in_epochs] + [ep.recv for ep in self.check_in_epochs]

    def check_check_ins(self, now: float) -> list[Finding]:
        out: list[Finding] = []
        for member_id, starts in self.cycles.items():
            steps_all = self.ci_steps.get(member_id, [])
            step_seqs = [e["seq"] for e in steps_all]
            while (
                self.cycle_from[member_id] < len(starts)
                and ("cycle", member_id, starts[self.cycle_from[member_id]]["seq"]) in self.settled
            ):
                self.cycle_from[member_id] += 1
            for i in range(self.cycle_from[member_id], len(starts)):
                c = starts[i]
                key = ("cycle", member_id, c["seq"])
                if c["type"] == "shift_ended":
                    self.settled.add(key)
                    continue
                if key in self.settled:
                    continue
                end = starts[i + 1] if i + 1 < len(starts) else None
                end_t = end["t"] if end else float("inf")
                end_seq = end["seq"] if end else 1 << 60
                lo = bisect.bisect_right(step_seqs, c["seq"])
                hi = bisect.bisect_left(step_seqs, end_seq)
                steps = steps_all[lo:hi]
                warn = [e for e in steps if e["type"] == "check_in_warning"]
                over = [e for e in steps if e["type"] == "check_in_overdue"]
                who = f"member {member_id} (cycle from {c['type']} seq {c['seq']} at {c['at']})"
                if len(warn) > 1 or len(over) > 1:
                    out.append(Finding("check_in_twice", f"{who}: {[e['seq'] for e in steps]}"))
                w_due = self._check_in_due(member_id, c["t"], end_t, overdue=False)
                o_due = self._check_in_due(member_id, c["t"], end_t, overdue=True)
                changes = self.check_in_changes()
                for label, due, got in (("warning", w_due, warn), ("overdue", o_due, over)):
                    if due is None:
                        if got and not any(abs(got[0]["t"] - x) < self.tol for x in changes):
                            out.append(
                                Finding(
                                    "check_in_unjustified",
                                    f"{who}: check_in_{label} at {got[0]['at']} but none was due",
                                )
                            )
                        continue
                    eff = self.effective(due)
                    raced = due <= end_t <= eff + self.race or any(
                        abs(due - x) <= self.tol for x in changes
                    )
                    if got:
                        late = got[0]["t"] - eff
                        if ("late", got[0]["seq"]) not in self.settled:
                            self.settled.add(("late", got[0]["seq"]))
                            self.late.add("check_in", max(0.0, late))
                        if got[0]["t"] < due - EARLY and not raced:
                            out.append(
                                Finding(
                                    "check_in_early",
                                    f"{who}: {label} at {got[0]['at']}, due {_t(due)}",
                                )
                            )
                        if late > self.tol and not raced:
                            out.append(
                                Finding(
                                    "check_in_late",
                                    f"{who}: {label} due {_t(due)}, came {late:.2f} s late",
                                )
                            )
                        continue
                    if now <= eff + self.tol or raced:
                        continue
                    if label == "warning" and over and over[0]["t"] <= eff + self.tol:
                        continue  # straight to overdue: fine
                    if ("ci_missed", label, c["seq"]) in self.settled:
                        continue
                    self.settled.add(("ci_missed", label, c["seq"]))
                    out.append(
                        Finding(
                            "check_in_missed",
                            f"{who}: check_in_{label} fell due at {_t(due)} and has not come "
                            f"{now - eff:.1f} s later",
                        )
                    )
                for e in over:
                    opened = [
                        x
                        for x in self.by_incident.get(e.get("incident_id", -1), [])
                        if x["type"] == "incident_opened"
                    ]
                    if not opened or opened[0]["reporter_id"] != member_id:
                        out.append(
                            Finding(
                                "check_in_incident",
                                f"{who}: overdue seq {e['seq']} names incident "
                                f"{e.get('incident_id')}, which the log did not open for it",
                            )
                        )
                if end is not None and now > end_t + 3 * self.tol:
                    self.settled.add(key)
        return out

    def _check_in_due(
        self, member_id: int, start: float, end: float, *, overdue: bool
    ) -> float | None:
        """When the warning (or overdue) of the cycle that began at `start` falls due."""
        # Rule epochs that apply during the cycle: the one in force at start, then each change.
        points = [start] + [ep.recv for ep in self.check_in_epochs if start < ep.recv < end]
        for i, p in enumerate(points):
            rule, _, _ = self.check_in_rule(member_id, p)
            if rule is None or rule.get("period_s") is None:
                continue
            wait = rule["period_s"] + (
                rule.get("overdue_after_s") or self.default_overdue_s if overdue else 0.0
            )
            due = max(start + wait, p)
            nxt = points[i + 1] if i + 1 < len(points) else end
            if due < nxt:
                return due
        return None


MEMBER_EVENTS = frozenset(
    {
        "shift_started",
        "shift_ended",
        "member_offline",
        "member_online",
        "member_checked_in",
        "check_in_warning",
        "check_in_overdue",
    }
)


def _t(t: float) -> str:
    return datetime.fromtimestamp(t).strftime("%H:%M:%S.%f")[:-3]


def _offline_at(events: list[Frame], t: float) -> bool:
    """Whether the log had the member marked offline at t."""
    state = False
    for e in events:
        if e["t"] > t:
            break
        if e["type"] in ("member_offline", "member_online"):
            state = e["type"] == "member_offline"
    return state


def _partners_on(events: list[Frame]) -> list[int]:
    on: set[int] = set()
    for e in events:
        if e["type"] == "incident_escalated":
            on |= set(e["partner_ids"])
    return sorted(on)
