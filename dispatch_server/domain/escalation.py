"""Escalation to security partners, as pure functions.

A rule says, for a category and/or grid (None: any), when an incident goes to
partners of a kind: `immediate`, or after `after_s` with `no_ack` (no duty
volunteer acknowledged it) or `no_responder` (nobody accepted), or
`unattended` (no duty console was connected when the alarm came). Each rule
fires at most once per incident. The defaults follow the 1-3-5 minute
response circles of Chinese community policing: fire and violence at once; 1
minute unacknowledged to the grid's security partner (and the consoles ring
again); 3 minutes with nobody on the way to the police.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property

from dispatch_server.domain.incidents import Incident, Reply, Status


class Trigger(StrEnum):
    IMMEDIATE = "immediate"
    NO_ACK = "no_ack"
    NO_RESPONDER = "no_responder"
    UNATTENDED = "unattended"


class PartnerKind(StrEnum):
    SECURITY = "security"  # estate, hotel, campus security
    POLICE = "police"  # the police liaison


@dataclass(frozen=True)
class Rule:
    rule_id: int
    trigger: Trigger
    to: PartnerKind
    after_s: float = 0.0
    category: str | None = None
    grid_id: str | None = None

    def matches(self, inc: Incident) -> bool:
        return self.category in (None, inc.category) and self.grid_id in (None, inc.grid_id)

    @cached_property
    def step(self) -> Step:
        """What this rule does, whatever its id: the key of "fires once per incident"."""
        return step_of(self.trigger.value, self.to.value, self.category, self.grid_id)


# (trigger, to, category, grid_id). A rule's id is not its identity: replacing the rules
# gives them new ids (PostgreSQL) or reuses old ones for other rules (SQLite), and an
# incident must neither hear the same step twice nor miss a step because an id moved.
# An edited waiting time is the same step: once fired, it does not fire again.
Step = tuple[str, str, str | None, str | None]


def step_of(trigger: str, to: str, category: str | None, grid_id: str | None) -> Step:
    return (trigger, to, category, grid_id)


@dataclass(frozen=True)
class Partner:
    """A security partner: who it is, which grids it covers, where its webhook goes."""

    partner_id: int
    name: str
    kind: PartnerKind
    grids: frozenset[str]
    webhook_url: str | None
    webhook_secret: str | None
    # Drills reach it only if it opted in (decision 50).
    accepts_drills: bool = False


DEFAULT_RULES = [
    Rule(1, Trigger.IMMEDIATE, PartnerKind.SECURITY, category="fire"),
    Rule(2, Trigger.IMMEDIATE, PartnerKind.SECURITY, category="violence"),
    Rule(3, Trigger.UNATTENDED, PartnerKind.SECURITY),
    Rule(4, Trigger.NO_ACK, PartnerKind.SECURITY, after_s=60.0),
    Rule(5, Trigger.NO_RESPONDER, PartnerKind.POLICE, after_s=180.0),
]


def fire_at(rule: Rule, inc: Incident) -> float | None:
    """When this rule fires for this incident, or None when it never will (as things stand)."""
    if inc.status is Status.RESOLVED or not rule.matches(inc) or rule.step in inc.escalated_steps:
        return None
    match rule.trigger:
        case Trigger.IMMEDIATE:
            return inc.opened_at
        case Trigger.UNATTENDED:
            return inc.opened_at if inc.unattended else None
        case Trigger.NO_ACK:
            return None if inc.acknowledged_at is not None else inc.opened_at + rule.after_s
        case Trigger.NO_RESPONDER:
            coming = any(a.reply is Reply.ACCEPTED for a in inc.assignments.values())
            return None if coming else inc.opened_at + rule.after_s
    return None


def due(inc: Incident, rules: Iterable[Rule], now: float) -> list[Rule]:
    return [r for r in rules if (at := fire_at(r, inc)) is not None and at <= now]


def next_step(inc: Incident, rules: Iterable[Rule]) -> float | None:
    """The incident's escalation clock: when the next step falls due if nothing changes."""
    return min((at for r in rules if (at := fire_at(r, inc)) is not None), default=None)
