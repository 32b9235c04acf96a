"""The pure domain driven by random duty sequences (hypothesis stateful testing).

One machine holds a few incidents, roll calls and a roster of six members, and a
clock that only moves forward. Rules: alarms of every category, console and partner
acknowledgements, dispatch/accept/decline, notes, resolves, partner updates,
escalation-rule changes, roll calls and their answers, shifts, links going down and
up, check-ins and check-in rules; `tick` moves the clock the way the server's
deadline task does (wake at the next step, apply what is due, sleep again).

Each command is checked against a small independent model of what it may do, an
illegal one must raise `Conflict` (and decide nothing), and after every step:

- folding an incident's (or roll call's) events from scratch gives the state that
  folding them one at a time gave;
- each escalation rule fired at most once per incident, never after the incident
  was resolved, never before its time, and, with the clock moving by itself, exactly
  at its time;
- no clock (escalation, roll calls, check-ins, supervision) is left in the past
  while nothing is due;
- the roll-call tally splits the members it expected; silent grids are those with no
  answer at the close; warnings and overdues happen once per missed check-in.

Replay a failure: hypothesis prints the failing sequence of rules; run this file
again (the example database under .hypothesis/ replays it first).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from dispatch_server.domain import check_ins, supervision
from dispatch_server.domain import escalation as esc
from dispatch_server.domain import incidents as inc
from dispatch_server.domain import roll_calls as rcs
from dispatch_server.domain.check_ins import CheckIn
from dispatch_server.domain.errors import Conflict
from dispatch_server.domain.escalation import PartnerKind, Rule, Trigger
from dispatch_server.domain.events import Event, EventType, NewEvent
from dispatch_server.domain.incidents import Disposition, Status
from dispatch_server.domain.roster import Roster
from dispatch_server.protocol.frames import Category
from dispatch_server.protocol.frames import RollCallAnswer as Answer

MEMBERS = {1: "G01", 2: "G01", 3: "G02", 4: "G02", 5: "G03", 6: "G03"}
GRIDS = sorted(set(MEMBERS.values()))
# partner id -> (kind, grids it covers)
PARTNERS = {
    1: (PartnerKind.SECURITY, set(GRIDS)),
    2: (PartnerKind.POLICE, set(GRIDS)),
    3: (PartnerKind.SECURITY, {"G01"}),
}
OFFLINE_AFTER_S = 45.0
# The deadline task wakes at a step; a strict `>` test (check-ins, supervision) is true
# only once the clock has moved past it. This is how far past it the machine looks.
EPS = 0.001

categories = st.sampled_from([c.value for c in Category])
member_ids = st.sampled_from(sorted(MEMBERS))
rule_strategy = st.builds(
    lambda trigger, to, after_s, category, grid_id: (trigger, to, after_s, category, grid_id),
    st.sampled_from(list(Trigger)),
    st.sampled_from(list(PartnerKind)),
    st.sampled_from([0.0, 5.0, 30.0, 60.0, 180.0]),
    st.none() | categories,
    st.none() | st.sampled_from(GRIDS),
)


@dataclass
class Model:
    """What an incident may do, kept apart from the domain's own state."""

    reporter: int
    category: str
    grid: str
    opened_at: float
    unattended: bool
    status: Status = Status.OPEN
    acked_at: float | None = None
    replies: dict[int, bool | None] = field(default_factory=dict)  # None: no answer yet
    fired: dict[esc.Step, float] = field(default_factory=dict)  # step -> when
    escalated_to: set[int] = field(default_factory=set)
    partner_acks: set[int] = field(default_factory=set)
    resolved_at: float | None = None

    def settle(self) -> None:
        if self.status is Status.RESOLVED or not self.replies:
            return
        coming = any(self.replies.values())
        self.status = Status.RESPONDING if coming else Status.DISPATCHED

    def fire_time(self, r: Rule) -> float | None:
        """When `r` falls due for this incident, as the docs say (operations.md)."""
        if self.status is Status.RESOLVED or r.step in self.fired:
            return None
        if r.category not in (None, self.category) or r.grid_id not in (None, self.grid):
            return None
        if r.trigger is Trigger.IMMEDIATE:
            return self.opened_at
        if r.trigger is Trigger.UNATTENDED:
            return self.opened_at if self.unattended else None
        if r.trigger is Trigger.NO_ACK:
            return None if self.acked_at is not None else self.opened_at + r.after_s
        return None if any(self.replies.values()) else self.opened_at + r.after_s


@dataclass
class CheckModel:
    """A member's lone-worker clock, as operations.md describes it."""

    last: float = float("-inf")
    state: CheckIn = CheckIn.OK
    period: float | None = None
    grace: float = 0.0
    rule_since: float = float("-inf")  # when this rule (or this check-in cycle) began


class DutyDomain(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = 1000.0
        self.seq = 0
        self.events: dict[int, list[Event]] = {}
        self.incidents: dict[int, inc.Incident] = {}
        self.model: dict[int, Model] = {}
        self.rules: list[Rule] = list(esc.DEFAULT_RULES)
        self.next_rule_id = len(self.rules) + 1
        self.rc_events: dict[int, list[Event]] = {}
        self.roll_calls: dict[int, rcs.RollCall] = {}
        self.roster = Roster(capacity=2)
        for m, g in MEMBERS.items():
            self.roster.add(m, f"m{m}", g, 0, (0.0, 0.0))
        self.checks = {m: CheckModel() for m in MEMBERS}
        self.offline_model = {m: False for m in MEMBERS}

    # --- the log -------------------------------------------------------------------

    def commit(self, new: NewEvent) -> Event:
        self.seq += 1
        e = Event(
            self.seq, new.type, self.now, new.actor, new.incident_id, new.data, new.roll_call_id
        )
        if new.incident_id is not None:
            self.events.setdefault(new.incident_id, []).append(e)
            self.incidents[new.incident_id] = inc.fold(self.incidents.get(new.incident_id), e)
        if new.roll_call_id is not None:
            self.rc_events.setdefault(new.roll_call_id, []).append(e)
            self.roll_calls[new.roll_call_id] = rcs.fold(self.roll_calls.get(new.roll_call_id), e)
        return e

    def pick(self, i: int) -> int:
        ids = sorted(self.incidents)
        return ids[i % len(ids)]

    def expect(self, legal: bool, decide: Any) -> NewEvent | None:
        """Run a command: it must decide an event when legal, and raise Conflict when not."""
        if legal:
            return decide()  # type: ignore[no-any-return]
        with pytest.raises(Conflict):
            decide()
        event("refused (Conflict)")
        return None

    def has_incidents(self) -> bool:
        return bool(self.incidents)

    # --- incidents -------------------------------------------------------------------

    @rule(reporter=member_ids, category=categories, grid=st.sampled_from(GRIDS), lone=st.booleans())
    def alarm(self, reporter: int, category: str, grid: str, lone: bool) -> None:
        incident_id = len(self.incidents) + 1
        data = {
            "alert_id": f"a{incident_id}",
            "grid_id": grid,
            "inside_grid": True,
            "point_source": "alert_fix",
            "lon": 113.0,
            "lat": 28.0,
            "category": category,
            "reporter_id": reporter,
            "responders": [],
            "unattended": lone,
        }
        self.commit(NewEvent(EventType.INCIDENT_OPENED, f"member:{reporter}", incident_id, data))
        self.model[incident_id] = Model(reporter, category, grid, self.now, lone)

    @precondition(has_incidents)
    @rule(i=st.integers(0, 20))
    def acknowledge(self, i: int) -> None:
        iid = self.pick(i)
        m = self.model[iid]
        new = self.expect(
            m.status is Status.OPEN, lambda: inc.acknowledge(self.incidents[iid], "dispatcher:1")
        )
        if new is not None:
            self.commit(new)
            m.status, m.acked_at = Status.ACKNOWLEDGED, self.now

    @precondition(has_incidents)
    @rule(i=st.integers(0, 20), who=st.lists(member_ids, max_size=3))
    def dispatch(self, i: int, who: list[int]) -> None:
        iid = self.pick(i)
        m = self.model[iid]
        legal = (
            m.status is not Status.RESOLVED
            and bool(who)
            and m.reporter not in who
            and all(m.replies.get(w, False) is False for w in who)
        )
        new = self.expect(legal, lambda: inc.dispatch(self.incidents[iid], who, "dispatcher:1"))
        if new is not None:
            self.commit(new)
            for w in who:
                m.replies[w] = None
            m.acked_at = m.acked_at if m.acked_at is not None else self.now
            m.settle()

    @precondition(has_incidents)
    @rule(i=st.integers(0, 20), who=member_ids, accept=st.booleans())
    def reply(self, i: int, who: int, accept: bool) -> None:
        iid = self.pick(i)
        m = self.model[iid]
        legal = who in m.replies and m.status is not Status.RESOLVED
        new = self.expect(
            legal, lambda: inc.reply(self.incidents[iid], who, accept, f"member:{who}")
        )
        if not legal:
            return
        if m.replies[who] is accept:
            assert new is None, "the same answer again is no new event"
            return
        assert new is not None
        self.commit(new)
        m.replies[who] = accept
        m.settle()

    @precondition(has_incidents)
    @rule(i=st.integers(0, 20))
    def note(self, i: int) -> None:
        iid = self.pick(i)
        self.commit(inc.add_note(self.incidents[iid], "seen", "dispatcher:1"))

    @precondition(has_incidents)
    @rule(i=st.integers(0, 20), disposition=st.sampled_from(list(Disposition)))
    def resolve(self, i: int, disposition: Disposition) -> None:
        iid = self.pick(i)
        m = self.model[iid]
        new = self.expect(
            m.status is not Status.RESOLVED,
            lambda: inc.resolve(self.incidents[iid], disposition, None, "dispatcher:1"),
        )
        if new is not None:
            self.commit(new)
            m.status, m.resolved_at = Status.RESOLVED, self.now

    @precondition(has_incidents)
    @rule(i=st.integers(0, 20), partner=st.sampled_from(sorted(PARTNERS)), ack=st.booleans())
    def partner(self, i: int, partner: int, ack: bool) -> None:
        iid = self.pick(i)
        m = self.model[iid]
        legal = partner in m.escalated_to
        if not ack:
            new = self.expect(
                legal,
                lambda: inc.partner_update(self.incidents[iid], partner, "on our way", "p"),
            )
            if new is not None:
                self.commit(new)
            return
        new = self.expect(legal, lambda: inc.partner_acknowledge(self.incidents[iid], partner, "p"))
        if not legal:
            return
        if partner in m.partner_acks:
            assert new is None, "a partner's second acknowledgement is no new event"
            return
        assert new is not None
        self.commit(new)
        m.partner_acks.add(partner)

    @rule(new=st.lists(rule_strategy, max_size=5), keep=st.booleans())
    def change_rules(self, new: list[tuple[Any, ...]], keep: bool) -> None:
        """PUT /api/escalation-rules: the list replaced; each new rule gets a new id."""
        rules = list(self.rules) if keep else []
        for trigger, to, after_s, category, grid_id in new:
            rules.append(Rule(self.next_rule_id, trigger, to, after_s, category, grid_id))
            self.next_rule_id += 1
        self.rules = rules

    # --- roll calls --------------------------------------------------------------------

    @rule(grids=st.lists(st.sampled_from(GRIDS), min_size=1, unique=True))
    def roll_call(self, grids: list[str]) -> None:
        rc_id = len(self.roll_calls) + 1
        on_shift = {m: g for m, g in MEMBERS.items() if self.roster.on_shift[self.roster.row[m]]}
        self.commit(rcs.started(rc_id, grids, on_shift, self.now, 30.0, "dispatcher:1"))
        rc = self.roll_calls[rc_id]
        assert rc.expected == {m: g for m, g in on_shift.items() if g in grids}

    @precondition(lambda self: bool(self.roll_calls))
    @rule(i=st.integers(0, 20), who=member_ids, status=st.sampled_from(list(Answer)))
    def answer(self, i: int, who: int, status: Answer) -> None:
        rc_id = sorted(self.roll_calls)[i % len(self.roll_calls)]
        rc = self.roll_calls[rc_id]
        new = self.expect(who in rc.expected, lambda: rcs.answer(rc, who, status, None, self.now))
        if who not in rc.expected:
            return
        known = rc.answers.get(who)
        if known is not None and known.status is status:
            assert new is None, "the same answer again is no new event"
            return
        assert new is not None
        assert new.data["late"] == (not rc.open or self.now > rc.deadline)
        self.commit(new)

    # --- the roster: shifts, links, check-ins -------------------------------------------

    @rule(m=member_ids, on=st.booleans())
    def shift(self, m: int, on: bool) -> None:
        self.roster.link_up(m, self.now)
        if bool(self.roster.on_shift[self.roster.row[m]]) == on:
            return
        self.roster.set_shift(m, on)
        if on:  # the observer's part: a shift starts checked in
            self.roster.last_check_in[self.roster.row[m]] = self.now
            self.roster.check_in_state[self.roster.row[m]] = CheckIn.OK
            c = self.checks[m]
            c.last, c.state, c.rule_since = self.now, CheckIn.OK, self.now

    @rule(m=member_ids, up=st.booleans())
    def link(self, m: int, up: bool) -> None:
        (self.roster.link_up if up else self.roster.link_down)(m, self.now)

    @rule(m=member_ids)
    def check_in(self, m: int) -> None:
        self.roster.link_up(m, self.now)
        i = self.roster.row[m]
        self.roster.last_check_in[i] = self.now
        self.roster.check_in_state[i] = CheckIn.OK
        c = self.checks[m]
        c.last, c.state, c.rule_since = self.now, CheckIn.OK, self.now

    @rule(m=member_ids, period=st.none() | st.sampled_from([10.0, 60.0, 300.0]))
    def check_in_rule(self, m: int, period: float | None) -> None:
        rule_ = check_ins.Rule(period, 20.0) if period is not None else None
        check_ins.set_rule(self.roster, m, rule_)
        c = self.checks[m]
        c.period, c.grace = period, 20.0
        c.rule_since = self.now

    # --- the clock ------------------------------------------------------------------------

    def next_wake(self) -> float | None:
        steps = [
            esc.next_step(i, self.rules)
            for i in self.incidents.values()
            if i.status is not Status.RESOLVED
        ]
        steps += [
            rcs.next_deadline(self.roll_calls.values()),
            check_ins.next_due(self.roster),
            supervision.next_check(self.roster, OFFLINE_AFTER_S),
        ]
        return min((s for s in steps if s is not None), default=None)

    def apply_due(self) -> int:
        """What services/deadlines.py does at `now`; returns how many steps it took."""
        done = 0
        for rc_id in rcs.due(self.roll_calls.values(), self.now):
            rc = self.roll_calls[rc_id]
            answered = {g for m, g in rc.expected.items() if m in rc.answers}
            self.commit(rcs.close(rc))
            assert set(self.roll_calls[rc_id].silent_grids) == set(rc.grid_ids) - answered
            done += 1
        for m in supervision.gone_silent(self.roster, self.now, OFFLINE_AFTER_S):
            i = self.roster.row[m]
            assert self.now - self.roster.last_seen[i] > OFFLINE_AFTER_S
            assert not self.offline_model[m], f"member {m} said offline twice"
            self.roster.set_marked_offline(m, True)
            self.offline_model[m] = True
            done += 1
        for m in supervision.back(self.roster, self.now, OFFLINE_AFTER_S):
            self.roster.set_marked_offline(m, False)
            self.offline_model[m] = False
            done += 1
        for m, state in check_ins.due(self.roster, self.now):
            self.check_step(m, state)
            self.roster.check_in_state[self.roster.row[m]] = state
            done += 1
        for iid in list(self.incidents):
            for r in esc.due(self.incidents[iid], self.rules, self.now):
                # As the server's step does: look again in the write, since two rules of
                # one step (the same trigger, target and scope) fire it once.
                if esc.fire_at(r, self.incidents[iid]) is None:
                    event("a second rule of a step already taken")
                    continue
                self.escalate(iid, r)
                done += 1
        return done

    def check_step(self, m: int, state: CheckIn) -> None:
        c = self.checks[m]
        assert c.period is not None and self.roster.on_shift[self.roster.row[m]]
        assert state > c.state, f"member {m}: {state.name} said twice in one cycle"
        due = c.last + c.period + (c.grace if state is CheckIn.OVERDUE else 0.0)
        assert self.now > due, f"member {m}: {state.name} at {self.now}, due after {due}"
        # Exactly on time when the clock runs by itself; later only if the rule came later.
        assert self.now <= max(due, c.rule_since) + 2 * EPS, (
            f"member {m}: {state.name} at {self.now}, due at {due}: late"
        )
        c.state = state

    def escalate(self, iid: int, r: Rule) -> None:
        m = self.model[iid]
        at = m.fire_time(r)
        assert at is not None and at <= self.now, f"rule {r} not due for incident {iid}"
        assert r.step not in m.fired, f"step {r.step} taken twice for incident {iid}"
        assert m.status is not Status.RESOLVED
        partners = sorted(
            p for p, (kind, grids) in PARTNERS.items() if kind is r.to and m.grid in grids
        )
        if set(partners) & m.escalated_to:
            # The store must take this: a partner already on the incident named again.
            event("escalated again to a partner already on the incident")
        data = {
            "rule_id": r.rule_id,
            "trigger": r.trigger.value,
            "to": r.to.value,
            "rule_category": r.category,
            "rule_grid_id": r.grid_id,
        }
        self.commit(
            NewEvent(
                EventType.INCIDENT_ESCALATED,
                "system:escalation",
                iid,
                {**data, "partner_ids": partners},
            )
        )
        m.fired[r.step] = self.now
        m.escalated_to |= set(partners)

    @rule(dt=st.sampled_from([0.0, 1.0, 5.0, 20.0, 59.0, 60.0, 61.0, 200.0]))
    def tick(self, dt: float) -> None:
        """The clock moves; the deadline task wakes at each step and does what is due."""
        target = self.now + dt
        for _ in range(1000):
            wake = self.next_wake()
            if wake is None or wake > target:
                break
            self.now = max(self.now, wake)
            if self.apply_due() == 0:
                # A strict `>` deadline: due only once the clock is past it.
                event("woke at a step and found nothing due")
                self.now += EPS
                assert self.apply_due() > 0, "woke at a step, found nothing due just past it"
        else:
            raise AssertionError("the deadline loop did not settle")
        self.now = max(self.now, target)
        self.apply_due()
        self.clocks_not_in_the_past()

    @rule()
    def late_tick(self) -> None:
        """The deadline task was held up (a restart, a busy writer): it catches up at once."""
        self.now += 400.0
        for c in self.checks.values():
            c.rule_since = self.now
        self.apply_due()
        assert self.apply_due() == 0, "catching up in one pass leaves nothing due"
        self.clocks_not_in_the_past()

    # --- invariants -------------------------------------------------------------------------

    @invariant()
    def folds_agree(self) -> None:
        for iid, events in self.events.items():
            assert inc.fold_all(events) == self.incidents[iid]
        for rc_id, events in self.rc_events.items():
            assert rcs.fold_all(events) == self.roll_calls[rc_id]

    @invariant()
    def incidents_match_their_model(self) -> None:
        for iid, i in self.incidents.items():
            m = self.model[iid]
            assert i.status is m.status, (iid, i.status, m.status)
            assert i.escalated_steps == frozenset(m.fired)
            assert i.escalated_to == frozenset(m.escalated_to)
            assert i.partner_acks == frozenset(m.partner_acks)
            assert (i.acknowledged_at is None) == (m.acked_at is None)
            fired = [
                (e.data["trigger"], e.data["to"], e.data["rule_category"], e.data["rule_grid_id"])
                for e in self.events[iid]
                if e.type is EventType.INCIDENT_ESCALATED
            ]
            assert len(fired) == len(set(fired)), f"a step was taken twice: {fired}"
            if m.resolved_at is not None:
                assert all(at <= m.resolved_at for at in m.fired.values())
                assert esc.next_step(i, self.rules) is None
                assert esc.due(i, self.rules, self.now + 1e6) == []
                assert inc.busy_members(i) == set()

    @invariant()
    def escalation_clock_agrees_with_the_model(self) -> None:
        for iid, i in self.incidents.items():
            m = self.model[iid]
            times = [t for r in self.rules if (t := m.fire_time(r)) is not None]
            assert esc.next_step(i, self.rules) == min(times, default=None)
            due = {r.rule_id for r in esc.due(i, self.rules, self.now)}
            times = {r.rule_id: m.fire_time(r) for r in self.rules}
            assert due == {r for r, t in times.items() if t is not None and t <= self.now}

    def clocks_not_in_the_past(self) -> None:
        """After the deadline task ran, what it would wake for next is not behind us
        (except a strict deadline exactly now, which is due a moment later)."""
        wake = self.next_wake()
        assert wake is None or wake >= self.now - EPS, f"next step {wake} < now {self.now}"

    @invariant()
    def roll_call_tallies_split_the_expected(self) -> None:
        for rc in self.roll_calls.values():
            for grid_id, row in rcs.tally(rc).items():
                named = row["all_normal"] + row["need_help"] + row["missing"]
                assert sorted(named) == sorted(m for m, g in rc.expected.items() if g == grid_id)
                assert row["expected"] == len(named)
            if not rc.open:
                assert rcs.due([rc], self.now + 1e6) == []
                with pytest.raises(Conflict):
                    rcs.close(rc)

    @invariant()
    def roster_mirrors_the_models(self) -> None:
        for m, c in self.checks.items():
            assert int(self.roster.check_in_state[self.roster.row[m]]) == c.state
            assert bool(self.roster.marked_offline[self.roster.row[m]]) == self.offline_model[m]


TestDutyDomain = DutyDomain.TestCase
TestDutyDomain.settings = settings(max_examples=300, stateful_step_count=50, deadline=None)
