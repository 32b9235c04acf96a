"""A few simulated duty days against the real server (tests/simulation/dutyday.py).

Each seed is a different day: about 20 s of random alarms, acknowledgements,
dispatches, roll calls, silent members, check-ins, rule changes and restarts, with
every deadline checked against what the simulator did. A failure prints the seed,
the step, the actions before it, the server's errors and the command that replays
it (`python -m tests.simulation.dutyday --seed N ...`).

The four server bugs these seeds first met are fixed, and the seeds pass:

- a step that escalated to a partner already on the incident failed on
  incident_partner's primary key and ended the one deadline task, while health said
  ok (now a normal step, with its own event and delivery; decision 26);
- a roll-call answer after the roll call closed made the observer raise, and the rest
  of that batch never reached live state or the consoles;
- a restart marked every member the log had offline online at once, heard or not,
  and offline again a grace later (now they stay offline until a frame is heard);
- "each rule fires once" was keyed on the rule id, which PUT /api/escalation-rules
  changes (PostgreSQL: new ids, so open incidents were escalated again; SQLite: ids
  reused, so a different rule counted as fired). A step is now (trigger, to,
  category, grid_id), carried in `incident_escalated` as `rule_category` and
  `rule_grid_id`, and the oracle keys on it too.
"""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest

from tests.simulation.dutyday import Config, DutyDay, SimulationFailed, simulate

SEEDS = [1, 2, 3]


@pytest.mark.slow
@pytest.mark.timeout(180)
@pytest.mark.parametrize("seed", SEEDS)
async def test_a_duty_day(
    seed: int, database_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    backend = str(request.config.getoption("--backend"))
    cfg = Config(seed=seed, hours=0.6, backend=backend, settle_s=8.0)
    day = await simulate(cfg, database_url, tmp_path)
    assert not day.findings, day.report()


@pytest.mark.slow
@pytest.mark.timeout(120)
async def test_a_server_that_dies_by_itself_is_named(database_url: str, tmp_path: Path) -> None:
    """A soak once ended with the server child gone and nothing in its log. A process
    killed from outside (the OOM killer, a stray pkill) writes nothing: the report must
    say how it ended, and show what it wrote last and what the kernel said."""
    cfg = Config(seed=11, hours=1.0, restarts=False, rule_changes=False)
    day = DutyDay(cfg, database_url, tmp_path, out=lambda *_: None)

    async def kill_it_from_outside() -> int:
        while day.proc is None or day.proc.pid is None or day.step < 10:
            await asyncio.sleep(0.05)
        pid = day.proc.pid
        os.kill(pid, signal.SIGKILL)  # not day.proc.kill(): nobody in the simulator did it
        return pid

    killer = asyncio.create_task(kill_it_from_outside())
    with pytest.raises(SimulationFailed) as failed:
        await day.run()
    pid = await killer
    report = str(failed.value)
    assert f"[server_exited] the server process (pid {pid}) killed by SIGKILL (signal 9)" in (
        report
    )
    assert f"server process: pid {pid} killed by SIGKILL (signal 9) (by itself)" in report
    assert "nothing in the simulator sent that SIGKILL" in report
    assert "Console: http://127.0.0.1:" in report  # the tail of what it wrote
    assert [f.kind for f in day.findings].count("server_exited") == 1, day.findings
