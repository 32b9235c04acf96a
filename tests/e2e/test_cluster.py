"""Two dispatch instances on one PostgreSQL and one Redis: whatever instance a handheld or a
console is on, it sees the same log, once, in seq order; nothing is lost when one dies or
Redis restarts; deadlines fire once in the whole cluster."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from patrol_client.client import PatrolClient
from patrol_client.outbox import Outbox
from patrol_client.position import FixedPoint
from tests.support.balancer import balancing
from tests.support.clients import Api, Console
from tests.support.cluster import Instance, RedisServer, two_instances, until_healthy
from tests.support.patrols import fast_backoff, running, until
from tests.support.servers import ADMIN

pytestmark = [
    pytest.mark.only_on("postgresql", "several instances share one PostgreSQL"),
    pytest.mark.slow,
]

G03 = (113.041186, 28.1332667)


def api(instance: Instance) -> Api:
    return Api(instance.base, ADMIN)


def console(instance: Instance, token: str) -> Console:
    return Console(f"ws://127.0.0.1:{instance.running.port}/ws/console", token)


async def collect(feed: Console, into: list[dict[str, Any]], stop: asyncio.Event) -> None:
    """Everything the console hears, until told to stop."""
    while not stop.is_set():
        try:
            into.append(await feed.event(timeout=0.5))
        except TimeoutError:
            continue


def assert_whole_log_once_in_order(events: list[dict[str, Any]], first: int, last: int) -> None:
    seqs = [e["seq"] for e in events if e["seq"] <= last]  # later ones may follow
    want = list(range(first, last + 1))
    bad = next((i for i, (x, y) in enumerate(zip(seqs, want, strict=False)) if x != y), None)
    assert seqs == want, (
        f"gaps {sorted(set(want) - set(seqs))[:10]}, "
        f"repeats {[s for s in set(seqs) if seqs.count(s) > 1][:10]}, "
        f"first out of order at {bad}: {seqs[bad - 2 : bad + 3] if bad is not None else None}, "
        f"{len(seqs)} heard of {len(want)}"
    )


async def test_alarms_on_a_reach_a_console_on_b_in_order_ranked_alike(
    database_url: str, tmp_path: Path
) -> None:
    async with two_instances(database_url, tmp_path) as (a, b):
        duty = await api(a).dispatcher()
        feed = await console(b, duty["token"]).connect(since=0)
        # Responders on shift, connected to A only, at known points.
        responders = []
        for i in range(6):
            m = await api(a).member(f"r{i}", "G03", ["first_aid"] if i == 4 else [])
            h = await a.running.handheld(m["token"]).connect()
            await h.start_shift(G03[0] + 0.0002 * i, G03[1] + 0.0001 * i)
            responders.append(m)
        on_a = await a.running.handheld(
            (await api(a).member("reporter A", "G03"))["token"]
        ).connect()
        on_b = await b.running.handheld(
            (await api(b).member("reporter B", "G03"))["token"]
        ).connect()
        await asyncio.sleep(1.5)  # presence: B hears where A's handhelds are

        accepted = [await on_a.alarm(lon=G03[0], lat=G03[1], category="medical") for _ in range(20)]
        from_b = await on_b.alarm(lon=G03[0], lat=G03[1], category="medical")
        ids = {x["incident_id"] for x in accepted}

        heard = await feed.events_until(
            lambda got: (
                {e.get("incident_id") for e in got if e["type"] == "incident_opened"}
                >= ids | {from_b["incident_id"]}
            ),
            timeout=15,
        )
        head = (await api(b).get("/api/incidents"))["last_seq"]
        if heard[-1]["seq"] < head:
            heard += await feed.events_until(lambda got: bool(got) and got[-1]["seq"] >= head)
        assert_whole_log_once_in_order(heard, 1, head)
        opened = [e for e in heard if e["type"] == "incident_opened"]
        assert [e["incident_id"] for e in opened] == sorted(e["incident_id"] for e in opened)

        by_a = next(e for e in opened if e["incident_id"] == accepted[-1]["incident_id"])
        by_b = next(e for e in opened if e["incident_id"] == from_b["incident_id"])

        def ranking(event: dict[str, Any]) -> list[tuple[int, float, str]]:
            return [(r["member_id"], r["distance_m"], r["located_by"]) for r in event["responders"]]

        assert all(r["located_by"] == "fix" for r in by_b["responders"]), by_b["responders"]
        assert ranking(by_b) == ranking(by_a)

        # Two duty volunteers acknowledge the same alarm at once, one on each instance:
        # decided one after the other under the cluster-wide write lock.
        iid = by_a["incident_id"]
        async with api(a).client(duty["token"]) as on_a, api(b).client(duty["token"]) as on_b:
            answers = await asyncio.gather(
                on_a.post(f"/api/incidents/{iid}/acknowledge"),
                on_b.post(f"/api/incidents/{iid}/acknowledge"),
            )
        assert sorted(r.status_code for r in answers) == [200, 409]
        timeline = (await api(a).get(f"/api/incidents/{iid}"))["timeline"]
        assert [e["type"] for e in timeline].count("incident_acknowledged") == 1
        await feed.close()


def accepted(clients: list[PatrolClient]) -> int:
    return sum(1 for c in clients for a in c.outbox.recent(100) if a.incident_id is not None)


async def test_instance_a_killed_mid_burst_nothing_lost_nothing_twice(
    database_url: str, tmp_path: Path
) -> None:
    async with two_instances(database_url, tmp_path) as (a, b):
        duty = await api(b).dispatcher()
        feed = await console(b, duty["token"]).connect(since=0)
        heard: list[dict[str, Any]] = []
        stop = asyncio.Event()
        listening = asyncio.create_task(collect(feed, heard, stop))
        members = [await api(a).member(f"p{i}", f"G{1 + i % 10:02d}") for i in range(50)]
        async with balancing([("127.0.0.1", a.running.port), ("127.0.0.1", b.running.port)]) as lb:
            clients = [
                PatrolClient(
                    lb.base,
                    m["token"],
                    Outbox(tmp_path / f"o{i}.sqlite3"),
                    FixedPoint(*G03),
                    backoff=fast_backoff(),
                )
                for i, m in enumerate(members)
            ]
            async with contextlib.AsyncExitStack() as stack:
                for c in clients:
                    await stack.enter_async_context(running(c))
                await until(lambda: all(c.view.link.value == "online" for c in clients))
                pressed = []
                for round_ in range(10):
                    for c in clients:
                        pressed.append((c, (await c.alarm("theft")).alert_id))
                    if round_ == 3:
                        # Mid-burst, with some alarms accepted and some in flight: power cut.
                        await until(lambda: accepted(clients) > 150)
                        a.proc.kill()
                        at_kill = accepted(clients)
                await until(lambda: all(not c.outbox.pending() for c in clients), timeout=60)
        # The kill fell mid-burst, and A's handhelds came back through the balancer to B.
        assert 150 < at_kill < 500, at_kill
        on_a = lb.routed[:50].count(a.running.port)
        assert on_a > 0 and lb.routed[50:].count(b.running.port) >= on_a, lb.routed

        listing = await api(b).get("/api/incidents", limit=1000)
        assert len(listing["incidents"]) == 500
        by_alert = {i["alert_id"]: i["incident_id"] for i in listing["incidents"]}
        assert sorted(by_alert) == sorted(alert for _, alert in pressed)
        for c, alert in pressed:
            got = c.outbox.get(alert)
            assert got is not None and got.incident_id == by_alert[alert]

        head = listing["last_seq"]
        await until(lambda: bool(heard) and heard[-1]["seq"] >= head, timeout=15)
        stop.set()
        await listening
        assert_whole_log_once_in_order(heard, 1, head)
        opened = [e["alert_id"] for e in heard if e["type"] == "incident_opened"]
        assert sorted(opened) == sorted(by_alert)
        await feed.close()


async def test_redis_restarted_mid_burst_consoles_catch_up_from_the_log(
    database_url: str, tmp_path: Path
) -> None:
    redis = RedisServer(tmp_path)
    await asyncio.to_thread(redis.start)
    try:
        async with two_instances(database_url, tmp_path, bus_url=redis.url) as (a, b):
            duty = await api(b).dispatcher()
            feed = await console(b, duty["token"]).connect(since=0)
            heard: list[dict[str, Any]] = []
            stop = asyncio.Event()
            listening = asyncio.create_task(collect(feed, heard, stop))
            handhelds = []
            for i in range(10):
                m = await api(a).member(f"h{i}", "G03")
                handhelds.append(await a.running.handheld(m["token"]).connect())

            async def burst(n: int) -> None:
                for _ in range(n):
                    await asyncio.gather(*(h.alarm(str(uuid.uuid4())) for h in handhelds))

            await burst(5)
            redis.kill()
            # Redis is down for 3 s: A writes on, and B's console still hears every alarm,
            # from the log that B reads once a second.
            before = len(heard)
            for _ in range(6):
                await burst(1)
                await asyncio.sleep(0.5)
            await until(lambda: len(heard) >= before + 60, timeout=5)
            assert not (await b.health())["bus_connected"]
            await asyncio.to_thread(redis.start)
            await burst(3)
            await until_healthy(b, "bus_connected", timeout=15)
            await burst(6)

            head = (await api(a).get("/api/incidents"))["last_seq"]
            await until(lambda: bool(heard) and heard[-1]["seq"] >= head, timeout=15)
            stop.set()
            await listening
            assert_whole_log_once_in_order(heard, 1, head)
            assert sum(1 for e in heard if e["type"] == "incident_opened") == 200
            assert (await b.health())["bus_connected"] is True
            await feed.close()
    finally:
        redis.kill()


async def test_an_escalation_set_on_a_fires_once_after_a_dies(
    database_url: str, tmp_path: Path
) -> None:
    async with two_instances(database_url, tmp_path) as (a, b):
        assert (await a.health())["leader"] is True and (await b.health())["leader"] is False
        # One rule: nobody acknowledges within 4 s, security is called.
        rules = [{"trigger": "no_ack", "to": "security", "after_s": 4.0}]
        async with api(a).client(ADMIN) as c:
            (await c.put("/api/escalation-rules", json=rules)).raise_for_status()
        await api(a).post("/api/partners", {"name": "Hotel security", "grids": ["G03"]})
        duty = await api(b).dispatcher()
        feed = await console(b, duty["token"]).connect()  # attended: no escalation at once
        reporter = await a.running.handheld((await api(a).member("r", "G03"))["token"]).connect()
        await asyncio.sleep(1.0)  # B has heard of A's rule change and of B's console
        accepted = await reporter.alarm(category="violence")
        a.proc.kill()  # the leader, which set the deadline, dies before it falls due
        await until_healthy(b, "leader", timeout=10)

        iid = accepted["incident_id"]
        escalated = await feed.events_until(
            lambda got: any(e["type"] == "incident_escalated" for e in got), timeout=15
        )
        await asyncio.sleep(5)  # long enough for any second firing
        detail = await api(b).get(f"/api/incidents/{iid}")
        steps = [e for e in detail["timeline"] if e["type"] == "incident_escalated"]
        assert len(steps) == 1, steps
        assert steps[0]["trigger"] == "no_ack" and steps[0]["partner_ids"]
        waited = datetime.fromisoformat(steps[0]["at"]) - datetime.fromisoformat(
            detail["timeline"][0]["at"]
        )
        assert waited.total_seconds() >= 4.0, waited
        assert escalated[-1]["incident_id"] == iid
        await feed.close()


async def test_a_device_revoked_on_a_is_closed_4401_on_b_within_2s(
    database_url: str, tmp_path: Path
) -> None:
    """Decision 35: B folds A's `device_revoked` as it reads the log (A's notice over Redis,
    or its own once-a-second look) and closes the device's socket there."""
    async with two_instances(database_url, tmp_path) as (a, b):
        m = await api(b).member("Li", "G03")
        made = await api(a).post(f"/api/members/{m['member_id']}/enrolment", {})
        device = await api(b).post("/api/enrol", {"code": made["code"], "device_name": "phone"})
        h = await b.running.handheld(device["token"]).connect()
        assert h.ws is not None and h.welcome["member_id"] == m["member_id"]
        loop = asyncio.get_running_loop()
        async with api(a).client(ADMIN) as c:
            started = loop.time()
            revoked = await c.delete(f"/api/members/{m['member_id']}/devices/{device['device_id']}")
            assert revoked.status_code == 200, revoked.text
        with pytest.raises(ConnectionClosed):
            while True:
                await asyncio.wait_for(h.ws.recv(), 2.0)
        took = loop.time() - started
        assert h.ws.close_code == 4401 and took < 2.0, (h.ws.close_code, took)
        again = b.running.handheld(device["token"])
        with pytest.raises(ConnectionClosed):
            await again.connect()
        assert again.ws is not None and again.ws.close_code == 4401
