"""A fleet of simulated patrols against a real server, for demos and load.

Each member walks inside its grid, is on shift, reports position, answers its
assignments (accepting with a set probability) and roll calls, and now and
then raises an alarm. Each has its own outbox, as a real handheld would.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from patrol_client.client import PatrolClient
from patrol_client.connection import Backoff, Refused
from patrol_client.outbox import Outbox
from patrol_client.position import SimulatedWalk

log = logging.getLogger(__name__)

GRIDS = [f"G{i:02d}" for i in range(1, 11)]
SKILLS = [
    ["medical"],
    ["security"],
    [],
    ["first_aid"],
    ["mediation", "psychology"],
    [],
    ["fire_safety"],
]
SURNAMES = "王李张刘陈杨黄赵周吴徐孙马朱胡郭何林罗高"
CATEGORIES = ["unknown", "medical", "dispute", "theft", "disorder", "fire", "suspicious"]


@dataclass(frozen=True)
class FleetOptions:
    alarm_every_s: float = 0.0  # mean seconds between alarms per member; 0: never
    accept_rate: float = 0.7
    position_every_s: float = 5.0
    seed: int | None = None


def http_base(server: str) -> str:
    url = server.rstrip("/").removesuffix("/ws/patrol")
    return url.replace("ws://", "http://", 1).replace("wss://", "https://", 1)


def register_members(
    server: str, admin_token: str, count: int, grids: list[str] = GRIDS
) -> list[str]:
    """Register `count` members round-robin over the grids; returns their tokens."""
    tokens = []
    for i in range(count):
        body = {
            "name": f"{SURNAMES[i % len(SURNAMES)]}{i + 1:03d}",
            "grid_id": grids[i % len(grids)],
            "skills": SKILLS[i % len(SKILLS)],
        }
        request = urllib.request.Request(
            http_base(server) + "/api/members",
            data=json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {admin_token}", "Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            tokens.append(json.load(response)["token"])
    return tokens


def tokens_for(server: str, admin_token: str, count: int, saved: Path) -> list[str]:
    """Reuse the tokens saved by an earlier run against the same server, else register anew."""
    if saved.exists():
        known: list[str] = json.loads(saved.read_text())
        if len(known) >= count:
            return known[:count]
    tokens = register_members(server, admin_token, count)
    saved.parent.mkdir(parents=True, exist_ok=True)
    saved.write_text(json.dumps(tokens))
    return tokens


class SimulatedPatrol:
    def __init__(
        self, server: str, token: str, outbox_dir: Path, options: FleetOptions, rng: random.Random
    ) -> None:
        self.rng = rng
        self.options = options
        self.name = name = token[:8].replace("-", "_")
        self.client = PatrolClient(
            server,
            token,
            Outbox(outbox_dir / f"patrol-{name}.sqlite3"),
            SimulatedWalk(rng=rng),
            position_every_s=options.position_every_s,
            backoff=Backoff(rng=rng),
            on_change=self._respond,
        )
        self.client.set_shift(True)

    def _respond(self) -> None:
        """Answer what is waiting, as a volunteer would (most say yes)."""
        view = self.client.view
        for a in list(view.assignments.values()):
            if a.answer is None:
                self.client.answer_assignment(
                    a.incident_id, self.rng.random() < self.options.accept_rate
                )
        for r in list(view.roll_calls.values()):
            if r.answer is None:
                self.client.answer_roll_call(r.roll_call_id, "all_normal")

    async def run(self) -> None:
        """The member's life: until cancelled, or until the centre refuses its token (Refused).
        The client retries every other failure by itself."""
        presser = None
        if self.options.alarm_every_s > 0:
            presser = asyncio.create_task(self._raise_now_and_then())
        try:
            await self.client.run()
        finally:
            if presser is not None:
                presser.cancel()
                await asyncio.gather(presser, return_exceptions=True)

    async def _raise_now_and_then(self) -> None:
        while True:
            await asyncio.sleep(self.rng.expovariate(1.0 / self.options.alarm_every_s))
            try:
                await self.client.alarm(self.rng.choice(CATEGORIES))
            except Exception:
                log.exception("patrol %s could not write an alarm to its outbox", self.name)


async def _live(patrol: SimulatedPatrol) -> None:
    """One member, and whatever ends it ends only it: the rest of the fleet goes on."""
    try:
        await patrol.run()
    except Refused as exc:
        log.error("patrol %s stopped: %s", patrol.name, exc)
    except Exception:
        log.exception("patrol %s failed; the rest of the fleet goes on", patrol.name)


async def run_fleet(
    server: str, tokens: list[str], outbox_dir: Path, options: FleetOptions
) -> None:
    """Until cancelled, or until every member has been refused."""
    rng = random.Random(options.seed)
    patrols = [
        SimulatedPatrol(server, t, outbox_dir, options, random.Random(rng.random())) for t in tokens
    ]
    try:
        async with asyncio.TaskGroup() as tasks:
            for p in patrols:
                tasks.create_task(_live(p))
    finally:
        for p in patrols:
            with contextlib.suppress(Exception):
                p.client.outbox.close()
