"""Response KPIs (issue 15, decision 47), as pure functions over the log's events.

Plain data in (events, targets, shift times, a time zone), plain data out: no I/O, no
clock. Each incident's events are reduced to its milestones (opened, acknowledged, first
dispatch, first accept, first arrived); the milestones are grouped by a key (grid, shift
window, duty volunteer, month, ISO week) and each group is scored against the targets.

Definitions, which the tests pin:
- Times are from the incident's `opened_at` (when the server received the alarm, not the
  handheld's `pressed_at`): that is when the centre could first know of it.
- *Acknowledged* is the first `incident_acknowledged` or `responders_dispatched`
  (dispatching straight from `open` acknowledges, as the fold says); its actor is the duty
  volunteer the alarm is scored to.
- An interval that never ended (never acknowledged, never accepted, never arrived) counts in
  its base, so it lowers every share, but not in the percentiles, which are over the
  intervals that ended. "Within t" is `<= t`. A wall clock stepped back is read as 0 s.
- Percentiles are nearest-rank: the p-th of n sorted values is the value at rank
  ceil(p * n / 100) (1-based), a value that occurred; none of no values.
- Drills (`drill: true` in `incident_opened`) are scored apart and never in real figures.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta, tzinfo
from enum import StrEnum
from itertools import pairwise

from dispatch_server.domain.events import Event, EventType

# Only these events move a KPI: a reader may fetch just them.
KPI_EVENTS = frozenset(
    {
        EventType.INCIDENT_OPENED,
        EventType.INCIDENT_ACKNOWLEDGED,
        EventType.RESPONDERS_DISPATCHED,
        EventType.ASSIGNMENT_REPLIED,
        EventType.RESPONDER_STATUS,
        EventType.INCIDENT_ESCALATED,
        EventType.INCIDENT_RESOLVED,
    }
)
UNRESOLVED = "unresolved"
# The answer-time histogram's upper edges (decision 49): 0-5, 5-10, 10-20, 20-40, 40-60 and
# 60+ seconds. 10 s is an edge, so the first two buckets are exactly "answered within 10 s".
ANSWER_BUCKETS_S = (5, 10, 20, 40, 60)


@dataclass(frozen=True)
class Targets:
    """What the figures are held against. NFPA 1225 (2022): 90% of alarms answered within
    10 s and 90% processed (answer to dispatch) within 60 s; the 1-3-5 minute circles for
    arrival (1 minute to help oneself, 3 to help each other, 5 for reinforcements). 40 s is
    issue 15's second answer threshold."""

    answer_s: int = 10
    answer_share: float = 0.9
    answer_also_s: int = 40
    process_s: int = 60
    process_share: float = 0.9
    arrival_s: tuple[int, ...] = (60, 180, 300)


@dataclass(frozen=True)
class ShiftTimes:
    """Local wall-clock starts of the morning and evening shifts. They split the day in
    two: morning from `morning` to `evening`, evening from `evening` to the next morning."""

    morning: time = time(7, 0)
    evening: time = time(19, 0)

    def __post_init__(self) -> None:
        if not self.morning < self.evening:
            raise ValueError("the morning shift must start before the evening shift")


@dataclass(frozen=True)
class Milestones:
    """One incident's moments that the KPIs measure (None: it has not happened)."""

    incident_id: int
    opened_at: float
    grid_id: str
    drill: bool = False
    unattended: bool = False
    acknowledged_at: float | None = None
    acknowledged_by: str | None = None
    dispatched_at: float | None = None
    accepted_at: float | None = None
    arrived_at: float | None = None
    disposition: str | None = None
    escalations: frozenset[str] = frozenset()


def _opened(event: Event) -> Milestones:
    assert event.incident_id is not None
    d = event.data
    return Milestones(
        incident_id=event.incident_id,
        opened_at=event.at,
        grid_id=d["grid_id"],
        drill=d.get("drill") is True,
        unattended=bool(d.get("unattended", False)),
    )


def _step(m: Milestones, event: Event) -> Milestones:
    """The milestones after one more of the incident's events: only firsts are kept."""
    d = event.data
    match event.type:
        case EventType.INCIDENT_ACKNOWLEDGED | EventType.RESPONDERS_DISPATCHED:
            if m.acknowledged_at is None:
                m = replace(m, acknowledged_at=event.at, acknowledged_by=event.actor)
            if event.type is EventType.RESPONDERS_DISPATCHED and m.dispatched_at is None:
                m = replace(m, dispatched_at=event.at)
        case EventType.ASSIGNMENT_REPLIED if d.get("accept") and m.accepted_at is None:
            m = replace(m, accepted_at=event.at)
        case EventType.RESPONDER_STATUS if d.get("status") == "arrived" and m.arrived_at is None:
            m = replace(m, arrived_at=event.at)
        case EventType.INCIDENT_ESCALATED:
            m = replace(m, escalations=m.escalations | {d["trigger"]})
        case EventType.INCIDENT_RESOLVED if m.disposition is None:
            m = replace(m, disposition=d["disposition"])
    return m


def milestones(events: Iterable[Event]) -> list[Milestones]:
    """Each incident's milestones, in the order the incidents opened. Events are taken in
    seq order; events of an incident whose `incident_opened` is not among them are left out
    (it opened outside the period asked for)."""
    found: dict[int, Milestones] = {}
    for event in sorted(events, key=lambda e: e.seq):
        if event.incident_id is None:
            continue
        if event.type is EventType.INCIDENT_OPENED:
            found[event.incident_id] = _opened(event)
        elif event.incident_id in found:
            found[event.incident_id] = _step(found[event.incident_id], event)
    return list(found.values())


# --- figures -----------------------------------------------------------------------------


def percentile(sorted_values: Sequence[float], p: int) -> float | None:
    """Nearest rank: the value at 1-based rank ceil(p * n / 100) of the sorted values (for
    p in 1..100); None for no values. Integer arithmetic, so 90% of 10 is rank 9 exactly."""
    n = len(sorted_values)
    if n == 0:
        return None
    if not 0 < p <= 100:
        raise ValueError(f"percentile {p} is not in 1..100")
    return sorted_values[(p * n + 99) // 100 - 1]


@dataclass(frozen=True)
class Measure:
    """Intervals over a base of incidents. `base`: how many should have ended; `ended`:
    how many did; p50 and p90 over those that ended; `within`: seconds -> the share of the
    base that ended within that many seconds (None when the base is empty)."""

    base: int
    ended: int
    p50_s: float | None
    p90_s: float | None
    within: dict[int, float | None]


def measure(intervals: Iterable[float | None], thresholds: Iterable[int]) -> Measure:
    """`intervals`: one per incident of the base, None for one that never ended."""
    every = list(intervals)
    ended = sorted(v for v in every if v is not None)
    within = {t: _share(sum(1 for v in ended if v <= t), len(every)) for t in thresholds}
    return Measure(len(every), len(ended), percentile(ended, 50), percentile(ended, 90), within)


@dataclass(frozen=True)
class Bucket:
    """How many intervals ended after `from_s` and within `to_s` seconds (None: no upper
    end); the first bucket takes 0 itself. Upper edges are inclusive, as "within" is."""

    from_s: int
    to_s: int | None
    count: int


def histogram(intervals: Iterable[float | None], edges: Sequence[int]) -> tuple[Bucket, ...]:
    """The intervals that ended, counted into the buckets that `edges` (increasing upper
    edges) make, plus one past the last edge; those that never ended are in none."""
    if any(b <= a for a, b in pairwise((0, *edges))):
        raise ValueError(f"bucket edges {edges} must be positive and increasing")
    counts = [0] * (len(edges) + 1)
    for v in intervals:
        if v is not None:
            counts[bisect_left(edges, v)] += 1
    uppers: list[int | None] = [*edges, None]
    return tuple(
        Bucket(lower, upper, n) for lower, upper, n in zip((0, *edges), uppers, counts, strict=True)
    )


def _share(part: int, whole: int) -> float | None:
    return None if whole == 0 else part / whole


def _since(start: float | None, end: float | None) -> float | None:
    """Seconds from start to end; None if either is missing; 0 if the clock stepped back."""
    if start is None or end is None:
        return None
    return max(0.0, end - start)


@dataclass(frozen=True)
class Figures:
    """One group's KPIs. `answer`: alarm to acknowledgement, over every alarm; `process`:
    acknowledgement to first dispatch, over alarms someone was dispatched to; `accept`: first
    dispatch to first accept, and `arrival`: alarm to first "arrived", over those too.
    `escalations`: trigger -> how many alarms were escalated by it (an alarm sent to security
    and police by two `no_ack` rules counts once); `dispositions`: how the alarms were
    resolved, `unresolved` for those not (yet)."""

    alarms: int
    unacknowledged: int
    unattended: int
    answer: Measure
    process: Measure
    accept: Measure
    arrival: Measure
    escalations: dict[str, int]
    dispositions: dict[str, int]
    # Answer times of the acknowledged alarms in ANSWER_BUCKETS_S (the unacknowledged are in
    # `unacknowledged`, not here).
    answer_buckets: tuple[Bucket, ...]
    # Whether the two NFPA 1225 targets are met: None with no alarms to judge by.
    answer_met: bool | None
    process_met: bool | None


def figures(ms: Sequence[Milestones], targets: Targets) -> Figures:
    dispatched = [m for m in ms if m.dispatched_at is not None]
    answered = [_since(m.opened_at, m.acknowledged_at) for m in ms]
    answer = measure(answered, (targets.answer_s, targets.answer_also_s))
    process = measure(
        (_since(m.acknowledged_at, m.dispatched_at) for m in dispatched), (targets.process_s,)
    )
    return Figures(
        alarms=len(ms),
        unacknowledged=sum(1 for m in ms if m.acknowledged_at is None),
        unattended=sum(1 for m in ms if m.unattended),
        answer=answer,
        process=process,
        accept=measure((_since(m.dispatched_at, m.accepted_at) for m in dispatched), ()),
        arrival=measure((_since(m.opened_at, m.arrived_at) for m in dispatched), targets.arrival_s),
        escalations=_counts(t for m in ms for t in m.escalations),
        dispositions=_counts(m.disposition or UNRESOLVED for m in ms),
        answer_buckets=histogram(answered, ANSWER_BUCKETS_S),
        answer_met=_met(answer, targets.answer_s, targets.answer_share),
        process_met=_met(process, targets.process_s, targets.process_share),
    )


def _counts(keys: Iterable[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for k in keys:
        counts[k] = counts.get(k, 0) + 1
    return dict(sorted(counts.items()))


def _met(m: Measure, seconds: int, share: float) -> bool | None:
    got = m.within[seconds]
    return None if got is None else got >= share


# --- grouping ----------------------------------------------------------------------------


class By(StrEnum):
    GRID = "grid"
    SHIFT = "shift"
    DISPATCHER = "dispatcher"
    MONTH = "month"
    WEEK = "week"


Key = Callable[[Milestones], str | None]


def local(at: float, tz: tzinfo | None) -> datetime:
    """`at` in `tz`, or in the server's own time zone when None (as member cards do)."""
    when = datetime.fromtimestamp(at, UTC)
    return when.astimezone(tz) if tz is not None else when.astimezone()


def month_bounds(year: int, month: int, tz: tzinfo | None) -> tuple[float, float]:
    """The local month as [since, until): midnight on its first day and on the next month's
    first day, in `tz` (None: the server's own zone), as seconds since the epoch."""
    next_year, next_month = (year + 1, 1) if month == 12 else (year, month + 1)
    return _midnight(year, month, tz), _midnight(next_year, next_month, tz)


def _midnight(year: int, month: int, tz: tzinfo | None) -> float:
    first = datetime(year, month, 1)
    return (first.replace(tzinfo=tz) if tz is not None else first.astimezone()).timestamp()


def shift_window(at: float, shifts: ShiftTimes, tz: tzinfo | None) -> str:
    """The shift an instant falls in, as `YYYY-MM-DD morning|evening` of the day the shift
    started: 01:00 belongs to the evening shift of the day before."""
    when = local(at, tz)
    now = when.time()
    if shifts.morning <= now < shifts.evening:
        return f"{when.date().isoformat()} morning"
    day = when.date() if now >= shifts.evening else when.date() - timedelta(days=1)
    return f"{day.isoformat()} evening"


def key_for(by: By, shifts: ShiftTimes, tz: tzinfo | None) -> Key:
    """The grouping key: the alarm's grid; the shift window, the (local) month and the
    (local) ISO week it opened in, even if it ended in the next; who acknowledged it (None:
    nobody did)."""
    match by:
        case By.GRID:
            return lambda m: m.grid_id
        case By.SHIFT:
            return lambda m: shift_window(m.opened_at, shifts, tz)
        case By.DISPATCHER:
            return lambda m: m.acknowledged_by
        case By.MONTH:
            return lambda m: local(m.opened_at, tz).strftime("%Y-%m")
        case By.WEEK:
            return lambda m: iso_week(m.opened_at, tz)


def iso_week(at: float, tz: tzinfo | None) -> str:
    """`YYYY-Www`, the ISO 8601 week (Monday to Sunday, local time) and its ISO year: the
    last days of December may be week 1 of the next year, the first days of January week 52
    or 53 of the last. Such keys sort in time order."""
    year, week, _ = local(at, tz).isocalendar()
    return f"{year:04d}-W{week:02d}"


@dataclass(frozen=True)
class Scores:
    """All the alarms' figures, and each group's (keys sorted; None last)."""

    total: Figures
    groups: dict[str | None, Figures] = field(default_factory=dict)


def scores(ms: Sequence[Milestones], key: Key, targets: Targets) -> Scores:
    grouped: dict[str | None, list[Milestones]] = {}
    for m in ms:
        grouped.setdefault(key(m), []).append(m)
    order = sorted(grouped, key=lambda k: (k is None, k or ""))
    return Scores(figures(ms, targets), {k: figures(grouped[k], targets) for k in order})


@dataclass(frozen=True)
class Report:
    """Real alarms and drills, scored apart."""

    real: Scores
    drills: Scores


def report(
    events: Iterable[Event],
    by: By,
    targets: Targets,
    shifts: ShiftTimes,
    tz: tzinfo | None,
) -> Report:
    ms = milestones(events)
    key = key_for(by, shifts, tz)
    return Report(
        real=scores([m for m in ms if not m.drill], key, targets),
        drills=scores([m for m in ms if m.drill], key, targets),
    )
