"""Response KPIs from hand-made event logs: each figure's exact value, no server."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta, timezone
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatch_server.domain import kpis
from dispatch_server.domain.events import Event, EventType
from dispatch_server.domain.kpis import Bucket, By, Measure, ShiftTimes, Targets

TARGETS = Targets()
SHIFTS = ShiftTimes(time(7, 0), time(19, 0))
CST = timezone(timedelta(hours=8))  # the community's own time (China Standard Time)


@dataclass
class Log:
    """Appends events with increasing seq, as the writer would."""

    events: list[Event] = field(default_factory=list)

    def add(self, kind: EventType, incident_id: int, at: float, actor: str, **data: Any) -> Log:
        self.events.append(Event(len(self.events) + 1, kind, at, actor, incident_id, data))
        return self

    def open(self, incident_id: int, at: float, grid_id: str = "G01", **extra: Any) -> Log:
        data = {"grid_id": grid_id, "alert_id": f"a{incident_id}", "unattended": False, **extra}
        return self.add(EventType.INCIDENT_OPENED, incident_id, at, "member:9", **data)

    def ack(self, incident_id: int, at: float, by: str = "dispatcher:1") -> Log:
        return self.add(EventType.INCIDENT_ACKNOWLEDGED, incident_id, at, by)

    def dispatch(self, incident_id: int, at: float, by: str = "dispatcher:1") -> Log:
        return self.add(EventType.RESPONDERS_DISPATCHED, incident_id, at, by, member_ids=[2, 3])

    def reply(self, incident_id: int, at: float, member_id: int, accept: bool) -> Log:
        return self.add(
            EventType.ASSIGNMENT_REPLIED,
            incident_id,
            at,
            f"member:{member_id}",
            member_id=member_id,
            accept=accept,
        )

    def status(self, incident_id: int, at: float, status: str, member_id: int = 2) -> Log:
        return self.add(
            EventType.RESPONDER_STATUS,
            incident_id,
            at,
            f"member:{member_id}",
            member_id=member_id,
            status=status,
        )

    def escalate(self, incident_id: int, at: float, trigger: str, to: str = "security") -> Log:
        return self.add(
            EventType.INCIDENT_ESCALATED,
            incident_id,
            at,
            "system:escalation",
            trigger=trigger,
            to=to,
            partner_ids=[1],
        )

    def resolve(self, incident_id: int, at: float, disposition: str) -> Log:
        return self.add(
            EventType.INCIDENT_RESOLVED, incident_id, at, "dispatcher:1", disposition=disposition
        )


def five_alarms() -> Log:
    """Five alarms with every kind of ending; the figures below are worked out by hand."""
    log = Log()
    # 1: acknowledged in 4 s, dispatched 26 s later, accepted in 20 s, arrived at 170 s.
    log.open(1, 0.0).ack(1, 4.0).dispatch(1, 30.0).reply(1, 50.0, 2, True)
    log.status(1, 170.0, "arrived").status(1, 400.0, "done").resolve(1, 500.0, "true_alarm")
    # 2: never acknowledged; two no_ack steps (security, police) and nothing else.
    log.open(2, 1000.0).escalate(2, 1060.0, "no_ack").escalate(2, 1060.0, "no_ack", "police")
    # 3: dispatched straight from open by dispatcher 2 (answer 12 s, process 0 s); one
    # responder declines, the other accepts 8 s after the dispatch and arrives at 200 s.
    log.open(3, 2000.0, "G02").escalate(3, 2000.0, "immediate").dispatch(3, 2012.0, "dispatcher:2")
    log.reply(3, 2013.0, 3, False).reply(3, 2020.0, 2, True).status(3, 2200.0, "arrived")
    log.resolve(3, 2300.0, "false_alarm")
    # 4: acknowledged in 35 s by dispatcher 2, a false alarm, nobody sent.
    log.open(4, 3000.0, "G02").ack(4, 3035.0, "dispatcher:2").resolve(4, 3100.0, "false_alarm")
    # 5: acknowledged in 50 s, dispatched 150 s later, nobody accepts.
    log.open(5, 4000.0).ack(5, 4050.0).dispatch(5, 4200.0).reply(5, 4210.0, 2, False)
    return log


def test_each_figure_of_five_alarms() -> None:
    f = kpis.report(five_alarms().events, By.GRID, TARGETS, SHIFTS, UTC).real.total
    assert (f.alarms, f.unacknowledged, f.unattended) == (5, 1, 0)
    # Answer: 4, never, 12, 35, 50 s. p50 is rank ceil(0.5*4) = 2 of [4, 12, 35, 50].
    assert f.answer == Measure(5, 4, 12.0, 50.0, {10: 1 / 5, 40: 3 / 5})
    assert f.answer_met is False
    # Process, over the three dispatched: 26, 0, 150 s.
    assert f.process == Measure(3, 3, 26.0, 150.0, {60: 2 / 3})
    assert f.process_met is False
    # Dispatch to first accept: 20, 8, never (a decline is no accept).
    assert f.accept == Measure(3, 2, 8.0, 20.0, {})
    # Alarm to first arrival: 170, 200, never.
    assert f.arrival == Measure(3, 2, 170.0, 200.0, {60: 0.0, 180: 1 / 3, 300: 2 / 3})
    assert f.escalations == {"immediate": 1, "no_ack": 1}
    assert f.dispositions == {"false_alarm": 2, "true_alarm": 1, "unresolved": 2}


def test_grouped_by_grid_and_by_the_volunteer_who_acknowledged() -> None:
    events = five_alarms().events
    grids = kpis.report(events, By.GRID, TARGETS, SHIFTS, UTC).real.groups
    assert list(grids) == ["G01", "G02"]
    assert (grids["G01"].alarms, grids["G02"].alarms) == (3, 2)
    assert grids["G02"].answer == Measure(2, 2, 12.0, 35.0, {10: 0.0, 40: 1.0})
    assert grids["G02"].dispositions == {"false_alarm": 2}
    who = kpis.report(events, By.DISPATCHER, TARGETS, SHIFTS, UTC).real.groups
    assert list(who) == ["dispatcher:1", "dispatcher:2", None], "nobody's last"
    assert who["dispatcher:1"].answer == Measure(2, 2, 4.0, 50.0, {10: 0.5, 40: 0.5})
    assert who["dispatcher:2"].process == Measure(1, 1, 0.0, 0.0, {60: 1.0})
    nobody = who[None]
    assert (nobody.alarms, nobody.unacknowledged, nobody.escalations) == (1, 1, {"no_ack": 1})
    assert nobody.answer == Measure(1, 0, None, None, {10: 0.0, 40: 0.0})
    assert nobody.process == Measure(0, 0, None, None, {60: None})
    assert (nobody.answer_met, nobody.process_met) == (False, None)


def test_an_alarm_never_acknowledged_lowers_the_shares_not_the_percentiles() -> None:
    log = Log().open(1, 0.0).ack(1, 3.0).open(2, 10.0)
    f = kpis.report(log.events, By.GRID, TARGETS, SHIFTS, UTC).real.total
    assert f.answer == Measure(2, 1, 3.0, 3.0, {10: 0.5, 40: 0.5})
    assert (f.unacknowledged, f.dispositions) == (1, {"unresolved": 2})


def test_targets_met_at_exactly_the_share_and_within_is_inclusive() -> None:
    log = Log()
    for i in range(10):  # nine in exactly 10 s, one in 11 s: 90% within 10 s
        log.open(i, 100.0 * i).ack(i, 100.0 * i + (11.0 if i == 0 else 10.0))
    f = kpis.report(log.events, By.GRID, TARGETS, SHIFTS, UTC).real.total
    assert f.answer.within[10] == 0.9 and f.answer_met is True
    strict = kpis.report(log.events, By.GRID, Targets(answer_share=0.95), SHIFTS, UTC)
    assert strict.real.total.answer_met is False


def local(y: int, mo: int, d: int, h: int, mi: int, s: int = 0) -> float:
    return datetime(y, mo, d, h, mi, s, tzinfo=CST).timestamp()


def test_an_alarm_belongs_to_the_shift_it_opened_in() -> None:
    log = Log()
    # Opened ten seconds before the evening shift, acknowledged twenty seconds into it.
    log.open(1, local(2026, 11, 30, 18, 59, 50)).ack(1, local(2026, 11, 30, 19, 0, 20))
    log.open(2, local(2026, 11, 30, 19, 0)).ack(2, local(2026, 11, 30, 19, 0, 5))
    # 02:00 on 1 December is still the evening shift that started on 30 November.
    log.open(3, local(2026, 12, 1, 2, 0)).ack(3, local(2026, 12, 1, 2, 0, 7))
    log.open(4, local(2026, 12, 1, 7, 0))
    groups = kpis.report(log.events, By.SHIFT, TARGETS, SHIFTS, CST).real.groups
    assert list(groups) == ["2026-11-30 evening", "2026-11-30 morning", "2026-12-01 morning"]
    assert groups["2026-11-30 morning"].answer == Measure(1, 1, 30.0, 30.0, {10: 0.0, 40: 1.0})
    assert groups["2026-11-30 evening"].answer == Measure(2, 2, 5.0, 7.0, {10: 1.0, 40: 1.0})
    assert groups["2026-12-01 morning"].unacknowledged == 1


def test_shift_windows_and_months_are_local_time() -> None:
    assert kpis.shift_window(local(2026, 12, 1, 6, 59, 59), SHIFTS, CST) == "2026-11-30 evening"
    assert kpis.shift_window(local(2026, 12, 1, 7, 0), SHIFTS, CST) == "2026-12-01 morning"
    late = ShiftTimes(time(8, 30), time(20, 0))
    assert kpis.shift_window(local(2026, 12, 1, 8, 29), late, CST) == "2026-11-30 evening"
    # 00:30 on 1 December in the community is still 30 November in UTC.
    log = Log().open(1, local(2026, 11, 30, 23, 30)).open(2, local(2026, 12, 1, 0, 30))
    months = kpis.report(log.events, By.MONTH, TARGETS, SHIFTS, CST).real.groups
    assert {k: f.alarms for k, f in months.items()} == {"2026-11": 1, "2026-12": 1}
    in_utc = kpis.report(log.events, By.MONTH, TARGETS, SHIFTS, UTC).real.groups
    assert {k: f.alarms for k, f in in_utc.items()} == {"2026-11": 2}


def test_weeks_are_local_iso_weeks() -> None:
    # Sunday 29 November 2026 is the last day of week 48; Monday 30 November starts week 49.
    assert kpis.iso_week(local(2026, 11, 29, 23, 59, 59), CST) == "2026-W48"
    assert kpis.iso_week(local(2026, 11, 30, 0, 0), CST) == "2026-W49"
    # Thursday 31 December 2026 is in week 53 of 2026; Friday 1 January 2027 too (ISO year).
    assert kpis.iso_week(local(2026, 12, 31, 12, 0), CST) == "2026-W53"
    assert kpis.iso_week(local(2027, 1, 1, 12, 0), CST) == "2026-W53"
    assert kpis.iso_week(local(2027, 1, 4, 0, 0), CST) == "2027-W01"
    # 01:00 on Monday in the community is still Sunday in UTC: the week before.
    monday = local(2026, 11, 30, 1, 0)
    log = Log().open(1, monday).ack(1, monday + 4).open(2, local(2026, 11, 29, 12, 0))
    weeks = kpis.report(log.events, By.WEEK, TARGETS, SHIFTS, CST).real.groups
    assert {k: f.alarms for k, f in weeks.items()} == {"2026-W48": 1, "2026-W49": 1}
    assert list(weeks) == ["2026-W48", "2026-W49"]
    assert weeks["2026-W49"].answer.within[10] == 1.0
    in_utc = kpis.report(log.events, By.WEEK, TARGETS, SHIFTS, UTC).real.groups
    assert {k: f.alarms for k, f in in_utc.items()} == {"2026-W48": 2}


def test_month_bounds_are_local_midnights() -> None:
    assert kpis.month_bounds(2026, 11, CST) == (local(2026, 11, 1, 0, 0), local(2026, 12, 1, 0, 0))
    assert kpis.month_bounds(2026, 12, UTC) == (
        datetime(2026, 12, 1, tzinfo=UTC).timestamp(),
        datetime(2027, 1, 1, tzinfo=UTC).timestamp(),
    )
    since, until = kpis.month_bounds(2026, 2, CST)
    assert until - since == 28 * 86400
    # Every alarm of the month, by the same local zone, is in its bounds.
    log = Log().open(1, since).open(2, until - 1).open(3, until)
    months = kpis.report(log.events, By.MONTH, TARGETS, SHIFTS, CST).real.groups
    assert {k: f.alarms for k, f in months.items()} == {"2026-02": 2, "2026-03": 1}


def test_answer_times_in_buckets_with_inclusive_upper_edges() -> None:
    log = Log()
    answers = [0.0, 5.0, 5.5, 10.0, 10.01, 20.0, 39.0, 40.0, 41.0, 60.0, 61.0, 3600.0]
    for i, a in enumerate(answers):
        log.open(i, 1000.0 * i).ack(i, 1000.0 * i + a)
    log.open(99, 99_000.0)  # never acknowledged: in no bucket
    f = kpis.report(log.events, By.GRID, TARGETS, SHIFTS, UTC).real.total
    assert f.answer_buckets == (
        Bucket(0, 5, 2),
        Bucket(5, 10, 2),
        Bucket(10, 20, 2),
        Bucket(20, 40, 2),
        Bucket(40, 60, 2),
        Bucket(60, None, 2),
    )
    # The first two buckets are "answered within 10 s", over the answered.
    within = sum(b.count for b in f.answer_buckets if b.to_s is not None and b.to_s <= 10)
    assert within == round(f.answer.within[10] * f.answer.base)
    assert sum(b.count for b in f.answer_buckets) == f.answer.ended == f.alarms - 1


def test_histogram_edges_must_increase() -> None:
    assert kpis.histogram([], (5, 10)) == (Bucket(0, 5, 0), Bucket(5, 10, 0), Bucket(10, None, 0))
    assert kpis.histogram([None, 3.0], ()) == (Bucket(0, None, 1),)
    for edges in [(10, 5), (5, 5), (0, 5)]:
        with pytest.raises(ValueError, match="increasing"):
            kpis.histogram([1.0], edges)


def test_shift_times_must_be_in_order() -> None:
    with pytest.raises(ValueError, match="before"):
        ShiftTimes(time(19, 0), time(7, 0))


def test_drills_are_scored_apart() -> None:
    real = five_alarms()
    with_drill = five_alarms()
    with_drill.open(6, 5000.0, "G03", drill=True).ack(6, 5002.0).dispatch(6, 5010.0)
    with_drill.reply(6, 5011.0, 2, True).status(6, 5100.0, "arrived")
    with_drill.resolve(6, 5200.0, "test")
    before = kpis.report(real.events, By.GRID, TARGETS, SHIFTS, UTC)
    after = kpis.report(with_drill.events, By.GRID, TARGETS, SHIFTS, UTC)
    assert after.real == before.real
    drills = after.drills
    assert list(drills.groups) == ["G03"]
    assert drills.total.alarms == 1 and drills.total.dispositions == {"test": 1}
    assert drills.total.answer == Measure(1, 1, 2.0, 2.0, {10: 1.0, 40: 1.0})
    assert drills.total.arrival.within == {60: 0.0, 180: 1.0, 300: 1.0}
    assert before.drills.total.alarms == 0
    # Only `true` makes a drill: a string does not.
    odd = Log().open(1, 0.0, drill="yes")
    assert kpis.report(odd.events, By.GRID, TARGETS, SHIFTS, UTC).real.total.alarms == 1


def test_empty_input() -> None:
    r = kpis.report([], By.SHIFT, TARGETS, SHIFTS, CST)
    for scores in (r.real, r.drills):
        f = scores.total
        assert scores.groups == {}
        assert (f.alarms, f.unacknowledged, f.escalations, f.dispositions) == (0, 0, {}, {})
        assert f.answer == Measure(0, 0, None, None, {10: None, 40: None})
        assert f.arrival.within == {60: None, 180: None, 300: None}
        assert (f.answer_met, f.process_met) == (None, None)


def test_percentile_is_nearest_rank() -> None:
    assert kpis.percentile([], 50) is None
    assert (kpis.percentile([7.0], 50), kpis.percentile([7.0], 90)) == (7.0, 7.0)
    assert (kpis.percentile([1.0, 2.0], 50), kpis.percentile([1.0, 2.0], 90)) == (1.0, 2.0)
    assert (kpis.percentile([3.0] * 5, 50), kpis.percentile([3.0] * 5, 90)) == (3.0, 3.0)
    ten = [float(i) for i in range(1, 11)]
    assert (kpis.percentile(ten, 50), kpis.percentile(ten, 90)) == (5.0, 9.0)
    assert kpis.percentile([float(i) for i in range(1, 21)], 90) == 18.0
    assert kpis.percentile([float(i) for i in range(1, 12)], 90) == 10.0  # rank ceil(9.9)
    assert kpis.percentile(ten, 100) == 10.0
    for p in (0, 101):
        with pytest.raises(ValueError):
            kpis.percentile(ten, p)


def test_what_the_milestones_take_and_leave() -> None:
    log = Log()
    # An incident opened before the period: its later events alone are left out.
    log.ack(1, 5.0).dispatch(1, 6.0)
    log.open(2, 10.0, unattended=True).dispatch(2, 12.0).reply(2, 13.0, 2, True)
    log.status(2, 20.0, "done")  # done without arrived: no arrival time is made up
    log.reply(2, 21.0, 3, True).status(2, 30.0, "arrived", 3).status(2, 40.0, "arrived", 2)
    log.ack(2, 50.0, "dispatcher:7")  # not possible live; the first acknowledgement stands
    shuffled = list(reversed(log.events))  # taken in seq order whatever order they come in
    ms = kpis.milestones(shuffled)
    assert len(ms) == 1
    m = ms[0]
    assert (m.incident_id, m.unattended, m.acknowledged_by) == (2, True, "dispatcher:1")
    assert (m.acknowledged_at, m.dispatched_at, m.accepted_at, m.arrived_at) == (
        12.0,
        12.0,
        13.0,
        30.0,
    )
    assert kpis.figures(ms, TARGETS).unattended == 1


def test_a_clock_stepped_back_reads_as_zero() -> None:
    log = Log().open(1, 100.0).ack(1, 99.0)
    f = kpis.report(log.events, By.GRID, TARGETS, SHIFTS, UTC).real.total
    assert f.answer.p50_s == 0.0 and f.answer.within[10] == 1.0


# --- properties --------------------------------------------------------------------------

STEP = st.none() | st.floats(0.0, 600.0)


@st.composite
def logs(draw: st.DrawFn, drills: bool = True) -> Log:
    """Random alarms with random steps, each after the one before, some of them drills."""
    log = Log()
    count = draw(st.integers(0, 12))
    for i in range(count):
        at = draw(st.floats(0.0, 90 * 86400.0))
        drill = drills and draw(st.booleans())
        log.open(i, at, draw(st.sampled_from(["G01", "G02"])), **({"drill": True} if drill else {}))
        ack, dispatch, accept, arrive = (draw(STEP) for _ in range(4))
        if ack is not None:
            at += ack
            log.ack(i, at, draw(st.sampled_from(["dispatcher:1", "dispatcher:2"])))
        if dispatch is not None:
            at += dispatch
            log.dispatch(i, at)
            if accept is not None:
                at += accept
                log.reply(i, at, 2, True)
                if arrive is not None:
                    log.status(i, at + arrive, "arrived")
        if draw(st.booleans()):
            log.escalate(i, at, draw(st.sampled_from(["no_ack", "immediate"])))
        if draw(st.booleans()):
            log.resolve(i, at + 1.0, draw(st.sampled_from(["false_alarm", "true_alarm"])))
    return log


def _all_measures(f: kpis.Figures) -> list[Measure]:
    return [f.answer, f.process, f.accept, f.arrival]


@given(logs(), st.sampled_from(list(By)))
def test_shares_are_shares_and_p50_is_at_most_p90(log: Log, by: By) -> None:
    r = kpis.report(log.events, by, TARGETS, SHIFTS, CST)
    for scores in (r.real, r.drills):
        groups = list(scores.groups.values())
        assert sum(f.alarms for f in groups) == scores.total.alarms
        for f in [scores.total, *groups]:
            assert 0 <= f.unacknowledged <= f.alarms
            for m in _all_measures(f):
                assert 0 <= m.ended <= m.base <= f.alarms
                assert all(s is None or 0.0 <= s <= 1.0 for s in m.within.values())
                assert (m.p50_s is None) == (m.p90_s is None) == (m.ended == 0)
                if m.p50_s is not None and m.p90_s is not None:
                    assert 0.0 <= m.p50_s <= m.p90_s
            shares = list(f.arrival.within.values())
            assert all(a is None or b is None or a <= b for a, b in pairwise(shares))
            assert sum(b.count for b in f.answer_buckets) == f.answer.ended


@given(logs(drills=False), logs(), st.sampled_from(list(By)))
def test_adding_drills_never_changes_the_real_figures(real: Log, other: Log, by: By) -> None:
    """Every alarm of `other` made a drill, under ids of its own, appended to `real`."""
    combined = Log(list(real.events))
    for e in other.events:
        assert e.incident_id is not None
        data = {**e.data, "drill": True} if e.type is EventType.INCIDENT_OPENED else e.data
        combined.add(e.type, e.incident_id + 1000, e.at, e.actor, **data)
    before = kpis.report(real.events, by, TARGETS, SHIFTS, CST)
    after = kpis.report(combined.events, by, TARGETS, SHIFTS, CST)
    assert after.real == before.real
    assert after.drills.total.alarms == len(
        [e for e in other.events if e.type is EventType.INCIDENT_OPENED]
    )
