"""Escalation rules against a fake clock: each fires at its time, and only once."""

from __future__ import annotations

from dispatch_server.domain import escalation as esc
from dispatch_server.domain import incidents as inc
from dispatch_server.domain.escalation import PartnerKind, Rule, Trigger
from dispatch_server.domain.events import Event, EventType, NewEvent

RULES = esc.DEFAULT_RULES


class Log:
    def __init__(self, category: str, unattended: bool = False) -> None:
        data = {
            "alert_id": "a",
            "grid_id": "G01",
            "inside_grid": True,
            "point_source": "alert_fix",
            "lon": 1.0,
            "lat": 2.0,
            "category": category,
            "reporter_id": 1,
            "responders": [],
            "unattended": unattended,
        }
        self.seq = 1
        self.state = inc.fold(None, Event(1, EventType.INCIDENT_OPENED, 1000.0, "m", 7, data))

    def commit(self, new: NewEvent | None, at: float) -> inc.Incident:
        assert new is not None
        self.seq += 1
        self.state = inc.fold(self.state, Event(self.seq, new.type, at, new.actor, 7, new.data))
        return self.state

    def escalate(self, rule: Rule, at: float) -> None:
        data = {
            "rule_id": rule.rule_id,
            "trigger": rule.trigger.value,
            "to": rule.to.value,
            "rule_category": rule.category,
            "rule_grid_id": rule.grid_id,
            "partner_ids": [3],
        }
        self.commit(NewEvent(EventType.INCIDENT_ESCALATED, "system", 7, data), at)


def ids(rules: list[Rule]) -> list[int]:
    return [r.rule_id for r in rules]


def test_a_theft_nobody_handles_goes_to_security_at_60s_and_police_at_180s() -> None:
    log = Log("theft")
    assert esc.next_step(log.state, RULES) == 1060.0
    assert ids(esc.due(log.state, RULES, 1059.9)) == []
    assert ids(esc.due(log.state, RULES, 1060.0)) == [4]
    log.escalate(RULES[3], 1060.0)
    assert ids(esc.due(log.state, RULES, 1100.0)) == []  # fired once, never again
    assert esc.next_step(log.state, RULES) == 1180.0
    assert ids(esc.due(log.state, RULES, 1180.0)) == [5]
    log.escalate(RULES[4], 1180.0)
    assert esc.next_step(log.state, RULES) is None


def test_fire_goes_at_once_and_acknowledgement_and_acceptance_stop_the_clock() -> None:
    log = Log("fire")
    assert ids(esc.due(log.state, RULES, 1000.0)) == [1]
    log.escalate(RULES[0], 1000.0)
    log.commit(inc.acknowledge(log.state, "dispatcher:1"), 1030.0)
    assert ids(esc.due(log.state, RULES, 1070.0)) == []  # acknowledged in time: no rule 4
    log.commit(inc.dispatch(log.state, [2], "dispatcher:1"), 1040.0)
    log.commit(inc.reply(log.state, 2, True, "member:2"), 1050.0)
    assert ids(esc.due(log.state, RULES, 2000.0)) == []  # someone is on the way: no police
    assert esc.next_step(log.state, RULES) is None


def test_unattended_goes_to_security_at_once_and_resolved_stops_everything() -> None:
    log = Log("unknown", unattended=True)
    assert ids(esc.due(log.state, RULES, 1000.0)) == [3]
    log.commit(inc.resolve(log.state, inc.Disposition.FALSE_ALARM, None, "d"), 1001.0)
    assert esc.next_step(log.state, RULES) is None and esc.due(log.state, RULES, 9999.0) == []


def test_rules_can_be_narrowed_to_a_category_and_a_grid() -> None:
    rule = Rule(9, Trigger.IMMEDIATE, PartnerKind.POLICE, category="theft", grid_id="G02")
    assert esc.due(Log("theft").state, [rule], 1000.0) == []  # the incident is in G01
    assert esc.due(
        Log("fire").state, [Rule(9, Trigger.IMMEDIATE, PartnerKind.POLICE, grid_id="G01")], 1000.0
    )


def test_a_step_fires_once_whatever_ids_the_rules_get_when_replaced() -> None:
    """Issue 10 (found by the duty-day simulation): replacing the rules gave them new ids on
    PostgreSQL (every open incident escalated again) and reused ids for other rules on
    SQLite (a step fired twice, another never). A step is (trigger, to, scope), not an id."""
    log = Log("theft")
    no_ack = Rule(4, Trigger.NO_ACK, PartnerKind.SECURITY, after_s=60.0)
    police = Rule(5, Trigger.NO_RESPONDER, PartnerKind.POLICE, after_s=180.0)
    assert ids(esc.due(log.state, [no_ack, police], 1061.0)) == [4]
    log.escalate(no_ack, 1061.0)
    renumbered = [Rule(11, Trigger.NO_ACK, PartnerKind.SECURITY, after_s=30.0)]
    assert esc.due(log.state, renumbered, 1100.0) == [], "the same step, a new id and time"
    reused = [Rule(4, Trigger.NO_RESPONDER, PartnerKind.POLICE, after_s=180.0)]
    assert ids(esc.due(log.state, reused, 1181.0)) == [4], "id 4 again, another step: due"
    scoped = [Rule(6, Trigger.NO_ACK, PartnerKind.SECURITY, after_s=60.0, category="theft")]
    assert ids(esc.due(log.state, scoped, 1181.0)) == [6], "another scope is another step"
