"""GET /metrics on a real server: it parses as Prometheus text, and moves as alarms arrive
over real handheld sockets, as a duty fails, and as the log writer commits."""

from __future__ import annotations

import asyncio
import uuid

import httpx
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from dispatch_server.duties.supervisor import Duty
from dispatch_server.services.metrics import LATENCY_BUCKETS, Histogram
from tests.support.servers import Running, in_process, settings_for

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(server: Running, token: str | None = None) -> Samples:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(base_url=server.base, timeout=10) as c:
        r = await c.get("/metrics", headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return samples(r.text)


def samples(text: str) -> Samples:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def one(found: Samples, name: str, **labels: str) -> float:
    return found[(name, tuple(sorted(labels.items())))]


async def test_alarms_move_the_counters_and_the_gauges_read_the_roster(server: Running) -> None:
    before = await scrape(server)
    assert one(before, "dispatch_alarms_accepted_total") == 0
    assert one(before, "dispatch_handhelds_connected") == 0
    assert one(before, "dispatch_consoles_open") == 0
    d = await server.api.dispatcher()
    await server.console(d["token"]).connect()
    m = await server.api.member("Li Wei", "G01")
    h = await server.handheld(m["token"]).connect()
    await h.start_shift()
    alert_id = str(uuid.uuid4())
    await h.alarm(alert_id)
    again = await h.alarm(alert_id)
    assert again["duplicate"] is True
    await h.alarm()  # a second alarm of its own
    after = await scrape(server)
    assert one(after, "dispatch_alarms_accepted_total") == 2
    assert one(after, "dispatch_alarms_duplicate_total") == 1
    assert one(after, "dispatch_alarms_unattended_total") == 0  # the console was open
    assert one(after, "dispatch_alarm_latency_seconds_count") == 3
    assert 0 < one(after, "dispatch_alarm_latency_seconds_sum") < 10
    assert one(after, "dispatch_handhelds_connected") == 1
    assert one(after, "dispatch_members_on_shift") == 1
    assert one(after, "dispatch_consoles_open") == 1
    # Every write went through the writer: member, dispatcher, shift, two incidents...
    assert one(after, "dispatch_log_batch_size_count") >= 5
    assert one(after, "dispatch_log_commit_seconds_count") == one(
        after, "dispatch_log_batch_size_count"
    )
    assert one(after, "dispatch_webhook_deliveries_total", outcome="dead_lettered") == 0
    assert one(after, "dispatch_duty_up", duty="log_writer") == 1
    assert one(after, "dispatch_event_loop_lag_seconds") >= 0


async def test_a_failing_duty_shows_zero_and_its_failures(server: Running) -> None:
    sup = server.ctx.supervisor
    assert one(await scrape(server), "dispatch_duty_up", duty="scheduler") == 1
    failing = asyncio.Event()

    def seen(duty: Duty, now_failing: bool) -> None:
        if duty.name == "injected" and now_failing:
            failing.set()

    async def broken() -> None:
        raise RuntimeError("injected failure")

    sup.on_change(seen)
    sup.register("injected")
    task = asyncio.create_task(sup.keep("injected", broken))
    try:
        await asyncio.wait_for(failing.wait(), 5)
        found = await scrape(server)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert one(found, "dispatch_duty_up", duty="injected") == 0
    assert one(found, "dispatch_duty_failures_total", duty="injected") >= 1
    assert one(found, "dispatch_duty_up", duty="scheduler") == 1


async def test_a_metrics_token_is_asked_for_when_set(database_url: str) -> None:
    async with in_process(settings_for(database_url, metrics_token="scrape-me")) as server:
        async with httpx.AsyncClient(base_url=server.base, timeout=10) as c:
            assert (await c.get("/metrics")).status_code == 401
            wrong = await c.get("/metrics", headers={"Authorization": "Bearer nope"})
            assert wrong.status_code == 401
        found = await scrape(server, "scrape-me")
        assert one(found, "dispatch_alarms_accepted_total") == 0


async def test_metrics_stay_out_of_the_openapi_document(server: Running) -> None:
    async with httpx.AsyncClient(base_url=server.base, timeout=10) as c:
        schema = (await c.get("/openapi.json")).json()
    assert "/metrics" not in schema["paths"]


async def test_each_server_counts_its_own(database_url: str, server: Running) -> None:
    """No global registry: two servers in one process keep apart."""
    m = await server.api.member("Li Wei", "G01")
    await (await server.handheld(m["token"]).connect()).alarm()
    async with in_process(settings_for(database_url)) as other:
        assert one(await scrape(other), "dispatch_alarms_accepted_total") == 0
    assert one(await scrape(server), "dispatch_alarms_accepted_total") == 1


@given(st.lists(st.floats(min_value=0, max_value=100, allow_nan=False)))
def test_a_histogram_renders_cumulative_buckets_that_parse(values: list[float]) -> None:
    histogram = Histogram(LATENCY_BUCKETS)
    for value in values:
        histogram.observe(value)
    family = histogram.family("x_seconds", "test")
    buckets = [s for s in family.samples if s.name == "x_seconds_bucket"]
    counts = [s.value for s in buckets]
    assert counts == sorted(counts)
    assert buckets[-1].labels["le"] == "+Inf" and counts[-1] == len(values)
    for s in buckets[:-1]:
        assert s.value == sum(1 for v in values if v <= float(s.labels["le"]))
    count = next(s.value for s in family.samples if s.name == "x_seconds_count")
    assert count == len(values)
