"""Prometheus metrics (issue 14): what the server counts, read by `GET /metrics`.

Two kinds of number:
- events counted as they happen (alarms, duplicates, webhook outcomes, the log writer's
  batches): plain ints and lock-free histograms on `Metrics`, bumped by the code where
  they happen. The alarm path is benchmarked, so recording there is an add to an int, no
  lock and no await (prometheus_client's own Counter takes a mutex per inc);
- state read at scrape time (handhelds, members on shift, consoles, duties, loop lag):
  nothing is kept for them; `collect` asks the roster, hub and supervisor.

Each app owns its registry (several servers run in one test process; no module-level
state): the runtime builds a `Metrics` per context, and the route renders
`registry_for(ctx)` with prometheus_client's exposition.
"""

from __future__ import annotations

import asyncio
import bisect
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

# Seconds: an alarm is answered in a few ms; a writer blocked on fsync or on the
# cluster lock shows in the top buckets.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
BATCH_BUCKETS = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0)
OUTCOMES = ("succeeded", "failed", "dead_lettered")


class Histogram:
    """Bucket counts and a sum, without a lock: observed from one thread at a time (the
    event loop, or the writer's thread); a scrape copies the counts, so a scrape that
    races an observation sees it whole or not at all in the buckets."""

    def __init__(self, bounds: Sequence[float]) -> None:
        self.bounds = tuple(bounds)
        self.counts = [0] * (len(self.bounds) + 1)  # the last: above every bound (+Inf)
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.sum += value

    def family(self, name: str, documentation: str) -> HistogramMetricFamily:
        counts = list(self.counts)
        cumulative, running = [], 0
        for bound, count in zip((*self.bounds, float("inf")), counts, strict=True):
            running += count
            cumulative.append((_bound(bound), running))
        return HistogramMetricFamily(name, documentation, buckets=cumulative, sum_value=self.sum)


def _bound(value: float) -> str:
    return "+Inf" if value == float("inf") else repr(float(value))


@dataclass
class Metrics:
    """The counters the server bumps where things happen."""

    alarms_accepted: int = 0
    alarms_duplicate: int = 0
    alarms_unattended: int = 0
    alarm_latency: Histogram = field(default_factory=lambda: Histogram(LATENCY_BUCKETS))
    deliveries: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    batch_size: Histogram = field(default_factory=lambda: Histogram(BATCH_BUCKETS))
    commit_seconds: Histogram = field(default_factory=lambda: Histogram(LATENCY_BUCKETS))
    loop_lag_s: float = 0.0

    def alarm(self, duplicate: bool, unattended: bool, received: float) -> None:
        """An alarm answered; `received` is `time.perf_counter()` when its frame came in."""
        if duplicate:
            self.alarms_duplicate += 1
        else:
            self.alarms_accepted += 1
            self.alarms_unattended += unattended
        self.alarm_latency.observe(time.perf_counter() - received)

    def delivery(self, ok: bool, retry: bool) -> None:
        outcome = "succeeded" if ok else ("failed" if retry else "dead_lettered")
        self.deliveries[outcome] += 1

    def batch(self, size: int, seconds: float) -> None:
        """From the log writer's thread, once per group commit."""
        self.batch_size.observe(size)
        self.commit_seconds.observe(seconds)

    def counted(self) -> Iterator[Metric]:
        yield _counter(
            "dispatch_alarms_accepted", "Alarms that opened an incident.", self.alarms_accepted
        )
        yield _counter(
            "dispatch_alarms_duplicate",
            "Alarms repeated with an alert_id already taken (answered with the first incident).",
            self.alarms_duplicate,
        )
        yield _counter(
            "dispatch_alarms_unattended",
            "Alarms that arrived with no duty console open anywhere in the cluster.",
            self.alarms_unattended,
        )
        yield self.alarm_latency.family(
            "dispatch_alarm_latency_seconds",
            "From an alarm's frame received to its answer queued (committed in between).",
        )
        deliveries = CounterMetricFamily(
            "dispatch_webhook_deliveries",
            "Webhook delivery attempts by outcome.",
            labels=["outcome"],
        )
        for outcome in OUTCOMES:
            deliveries.add_metric([outcome], self.deliveries[outcome])
        yield deliveries
        yield self.batch_size.family(
            "dispatch_log_batch_size", "Jobs per group commit of the log writer."
        )
        yield self.commit_seconds.family(
            "dispatch_log_commit_seconds", "Time of one group commit, lock and fsync included."
        )
        yield _gauge(
            "dispatch_event_loop_lag_seconds",
            "How late the loop-lag probe last woke up: time the event loop was busy elsewhere.",
            self.loop_lag_s,
        )


def _counter(name: str, documentation: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(name, documentation, value=value)


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


@dataclass(eq=False)  # hashable: the registry keys its collectors
class Live:
    """What is read at scrape time, from callables the runtime wires to the roster, hub and
    supervisor: nothing here knows the context (this module imports no service)."""

    metrics: Metrics
    handhelds: Callable[[], int]
    on_shift: Callable[[], int]
    consoles: Callable[[], int]
    duties: Callable[[], list[tuple[str, bool, int]]]  # (name, failing, failures)

    def collect(self) -> Iterator[Metric]:
        yield from self.metrics.counted()
        yield _gauge(
            "dispatch_handhelds_connected",
            "Handheld sockets open to this instance.",
            self.handhelds(),
        )
        yield _gauge("dispatch_members_on_shift", "Members on shift now.", self.on_shift())
        yield _gauge(
            "dispatch_consoles_open",
            "Duty consoles open anywhere in the cluster (as this instance knows).",
            self.consoles(),
        )
        up = GaugeMetricFamily(
            "dispatch_duty_up", "Each background duty: 1 running, 0 failing.", labels=["duty"]
        )
        failures = CounterMetricFamily(
            "dispatch_duty_failures", "Failures of each background duty.", labels=["duty"]
        )
        for name, failing, count in self.duties():
            up.add_metric([name], 0.0 if failing else 1.0)
            failures.add_metric([name], count)
        yield up
        yield failures


def registry(live: Live) -> CollectorRegistry:
    """One registry per running server, holding only this server's collector."""
    reg = CollectorRegistry(auto_describe=False)
    reg.register(live)
    return reg


LOOP_LAG = "loop_lag"


async def probe_loop_lag(metrics: Metrics, beat: Callable[[], None], every_s: float = 1.0) -> None:
    """A supervised duty: sleep `every_s`, and keep how much later than that it woke."""
    while True:
        start = time.perf_counter()
        await asyncio.sleep(every_s)
        metrics.loop_lag_s = max(0.0, time.perf_counter() - start - every_s)
        beat()
