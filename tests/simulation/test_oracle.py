"""The duty-day oracle on hand-made logs: an escalation step is what a rule does, not its id.

PUT /api/escalation-rules gives every rule a new id on PostgreSQL and reuses ids
1..n on SQLite; the server takes each step (trigger, to, category, grid_id) once
per incident whatever id it fired under, and the oracle must judge it the same way.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.simulation.oracle import Epoch, Finding, Oracle

T = 1_800_000_000.0
SECURITY = 1


def at(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat()


def rule(rule_id: int, trigger: str, after_s: float = 0.0, **scope: Any) -> dict[str, Any]:
    return {"rule_id": rule_id, "trigger": trigger, "to": "security", "after_s": after_s} | {
        "category": scope.get("category"),
        "grid_id": scope.get("grid_id"),
    }


class Log:
    def __init__(self) -> None:
        self.oracle = Oracle(tolerance_s=1.0, offline_after_s=3.0, overdue_after_s=2.0)
        self.oracle.partners.append(
            (T - 10, T - 9, {"partner_id": SECURITY, "kind": "security", "grids": ["G1"]})
        )
        self.seq = 0

    def rules(self, t: float, *rules: dict[str, Any]) -> None:
        self.oracle.rule_epochs.append(Epoch(t, t + 0.05, list(rules)))

    def event(self, t: float, kind: str, **data: Any) -> None:
        self.seq += 1
        self.oracle.add({"seq": self.seq, "type": kind, "at": at(t), "actor": "x", **data})

    def opened(self, t: float, category: str = "theft") -> None:
        self.event(
            t,
            "incident_opened",
            incident_id=1,
            category=category,
            grid_id="G1",
            alert_id="a1",
            reporter_id=7,
        )

    def escalated(self, t: float, r: dict[str, Any]) -> None:
        self.event(
            t,
            "incident_escalated",
            incident_id=1,
            rule_id=r["rule_id"],
            trigger=r["trigger"],
            to=r["to"],
            rule_category=r["category"],
            rule_grid_id=r["grid_id"],
            partner_ids=[SECURITY],
        )

    def findings(self) -> list[Finding]:
        return self.oracle.check(T + 60)


def test_a_step_taken_under_an_old_id_is_not_due_again() -> None:
    """PostgreSQL: the same rules again, with new ids (and one a new waiting time)."""
    for after in (3.0, 5.0, 1.0):
        log = Log()
        log.rules(T, rule(4, "no_ack", 3.0))
        log.opened(T + 1)
        log.escalated(T + 4, rule(4, "no_ack", 3.0))
        log.rules(T + 5, rule(9, "no_ack", after))
        assert log.findings() == [], after
        assert log.oracle.tally == {"step_taken_before_rule_other_id": 1}


def test_a_reused_id_is_due_on_its_own() -> None:
    """SQLite: rule 1 (fire, at once) is removed, and id 1 now names the no_ack rule."""
    fire, no_ack = rule(1, "immediate", category="fire"), rule(2, "no_ack", 3.0)
    reused = rule(1, "no_ack", 3.0)
    for fires in (True, False):
        log = Log()
        log.rules(T, fire, no_ack)
        log.opened(T + 1, "fire")
        log.escalated(T + 1, fire)
        log.rules(T + 2, reused)
        if fires:
            log.escalated(T + 4, reused)
        found = log.findings()
        if fires:
            assert found == []
        else:
            assert [f.kind for f in found] == ["escalation_missed"]
            assert "rule id 1 fired for another step" in found[0].message


def test_the_same_step_twice_is_found() -> None:
    log = Log()
    log.rules(T, rule(4, "no_ack", 3.0))
    log.opened(T + 1)
    log.escalated(T + 4, rule(4, "no_ack", 3.0))
    log.rules(T + 5, rule(9, "no_ack", 3.0))
    log.escalated(T + 5.2, rule(9, "no_ack", 3.0))
    assert [f.kind for f in log.findings()] == ["escalation_repeated"]

    log = Log()
    log.rules(T, rule(4, "no_ack", 3.0))
    log.opened(T + 1)
    log.escalated(T + 4, rule(4, "no_ack", 3.0))
    log.escalated(T + 4.5, rule(4, "no_ack", 3.0))
    assert [f.kind for f in log.findings()] == ["escalation_twice"]


def test_a_step_must_name_the_rule_that_does_it() -> None:
    """An event whose scope is not its rule's is not justified by that rule."""
    log = Log()
    log.rules(T, rule(4, "no_ack", 3.0))
    log.opened(T + 1)
    log.escalated(T + 4, rule(4, "no_ack", 3.0, grid_id="G1"))
    kinds = [f.kind for f in log.findings()]
    assert "escalation_unjustified" in kinds


def test_offline_after_a_restart_counts_the_grace_from_when_it_served_again() -> None:
    """Seed 20261130 on SQLite: a member whose socket had closed was marked offline by the
    restarted server a grace after it loaded its state, 2.06 s after the grace counted from
    the SIGKILL (the restart took 2.1 s). Not late: the new process gives everyone the grace
    from when it loads, somewhere between going down and serving again."""
    for offline_at, late in ((T + 5.0, False), (T + 6.5, True)):
        log = Log()
        log.event(T - 10, "shift_started", member_id=9)
        log.oracle.sent(9, T - 1)  # the handheld hangs up; the server hears it go
        log.oracle.downtime.append((T, T + 2.1))  # SIGKILL at T, serving again at T + 2.1
        log.event(offline_at, "member_offline", member_id=9)
        kinds = [f.kind for f in log.oracle.check(offline_at + 0.1)]
        assert kinds == (["offline_late"] if late else []), (offline_at, kinds)


def test_a_step_due_just_before_a_power_cut_is_due_again_when_the_server_serves() -> None:
    """Seed 3 on PostgreSQL: a step fell due 15 ms before the SIGKILL; the new process took
    it as soon as it led, 2 s later. The old one had the tolerance to act, and was killed
    within it: not late. Killed after the tolerance had run out, the step was late."""
    for kill_at, late in ((T + 4.05, False), (T + 5.5, True)):
        log = Log()
        no_ack = rule(4, "no_ack", 3.0)
        log.rules(T, no_ack)
        log.opened(T + 1)  # no_ack due at T + 4; tolerance 1 s
        log.oracle.downtime.append((kill_at, T + 6.2))
        log.escalated(T + 6.4, no_ack)
        kinds = [f.kind for f in log.findings()]
        assert kinds == (["escalation_late"] if late else []), (kill_at, kinds)
