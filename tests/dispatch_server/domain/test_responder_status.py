"""A responder's word from the scene and the reporter's category after the press, as pure
decisions: who may say what, when a new event is made, and what the fold keeps."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatch_server.domain import incidents as inc
from dispatch_server.domain.errors import Conflict
from dispatch_server.domain.events import EventType, NewEvent
from dispatch_server.domain.incidents import Reply, ResponderStatus, Security, Status
from tests.dispatch_server.domain.test_incidents import Log, opened

ARRIVED, DONE = ResponderStatus.ARRIVED, ResponderStatus.DONE


def _accepted() -> tuple[Log, inc.Incident]:
    log, s = opened()
    s = log.commit(inc.dispatch(s, [2, 3], "dispatcher:1"))
    return log, log.commit(inc.reply(s, 2, True, "member:2"))


def test_arrived_then_done_is_kept_on_the_assignment_and_frees_the_responder() -> None:
    log, s = _accepted()
    s = log.commit(inc.responder_status(s, 2, ARRIVED))
    assert s.assignments[2].arrived_at == log.seq and s.assignments[2].done_at is None
    assert s.status is Status.RESPONDING and inc.busy_members(s) == {2}
    assert inc.responder_status(s, 2, ARRIVED) is None, "said again: nothing new"
    s = log.commit(inc.responder_status(s, 2, DONE))
    assert s.assignments[2].done_at == log.seq and s.status is Status.RESPONDING
    assert inc.busy_members(s) == set(), "done at the scene: free for the next call"
    assert inc.responder_status(s, 2, ARRIVED) is None, "arrived after done: nothing"
    assert inc.responder_status(s, 2, DONE) is None


def test_done_without_arrived_makes_up_no_arrival_time() -> None:
    log, s = _accepted()
    s = log.commit(inc.responder_status(s, 2, DONE))
    assert s.assignments[2].arrived_at is None and s.assignments[2].done_at is not None


@pytest.mark.parametrize("member", [3, 4, 1], ids=["pending", "never called", "the reporter"])
def test_only_a_responder_who_accepted_may_say_it(member: int) -> None:
    _, s = _accepted()
    with pytest.raises(Conflict):
        inc.responder_status(s, member, ARRIVED)


def test_not_after_a_decline_nor_after_resolution() -> None:
    log, s = _accepted()
    declined = log.commit(inc.reply(s, 2, False, "member:2"))
    with pytest.raises(Conflict):
        inc.responder_status(declined, 2, ARRIVED)
    log, s = _accepted()
    s = log.commit(inc.resolve(s, inc.Disposition.TRUE_ALARM, None, "dispatcher:1"))
    with pytest.raises(Conflict):
        inc.responder_status(s, 2, DONE)


Step = tuple[str, int]  # (what, member)
STEPS = st.lists(
    st.tuples(st.sampled_from(["accept", "decline", "arrived", "done", "resolve"]), st.just(2))
    | st.tuples(st.sampled_from(["arrived", "done"]), st.sampled_from([1, 3])),
    max_size=12,
)


@given(STEPS)
def test_a_responders_word_never_moves_the_incident_and_is_said_once(steps: list[Step]) -> None:
    log, s = opened()
    s = log.commit(inc.dispatch(s, [2, 3], "dispatcher:1"))
    for what, member in steps:
        before = s
        try:
            if what in ("accept", "decline"):
                new = inc.reply(s, member, what == "accept", f"member:{member}")
            elif what == "resolve":
                new = inc.resolve(s, inc.Disposition.TRUE_ALARM, None, "dispatcher:1")
            else:
                new = inc.responder_status(s, member, ResponderStatus(what))
        except Conflict:
            if what in ("arrived", "done"):
                a = s.assignments.get(member)
                assert a is None or a.reply is not Reply.ACCEPTED or s.status is Status.RESOLVED
            continue
        if new is None:
            continue
        s = log.commit(new)
        if new.type is EventType.RESPONDER_STATUS:
            a, was = s.assignments[member], before.assignments[member]
            assert before.assignments[member].reply is Reply.ACCEPTED
            assert s.status is before.status, "the duty volunteer resolves, not the responder"
            assert was.done_at is None, "nothing after done"
            assert (a.arrived_at, a.done_at) != (was.arrived_at, was.done_at), "a change"
            assert member not in inc.busy_members(s) or a.done_at is None


def test_the_category_changes_once_per_change_and_not_after_resolution() -> None:
    log, s = opened()
    assert inc.change_category(s, "medical", "member:1") is None, "the same: nothing"
    new = inc.change_category(s, "fire", "member:1")
    assert new is not None and new.data == {"category": "fire", "previous": "medical"}
    s = log.commit(new)
    assert s.category == "fire"
    s = log.commit(inc.resolve(s, inc.Disposition.TRUE_ALARM, None, "dispatcher:1"))
    with pytest.raises(Conflict):
        inc.change_category(s, "theft", "member:1")


def _event(log: Log, s: inc.Incident, kind: EventType, **data: object) -> inc.Incident:
    return log.commit(NewEvent(kind, "system:x", s.incident_id, dict(data)))


def test_security_is_called_only_once_a_partner_got_it() -> None:
    log, s = opened()
    assert inc.security(s) is Security.NONE
    s = _event(log, s, EventType.INCIDENT_ESCALATED, trigger="immediate", to="security",
               partner_ids=[4, 5])  # fmt: skip
    assert inc.security(s) is Security.NONE, "chosen is not reached: the webhook may fail"
    s = _event(log, s, EventType.DELIVERY_FAILED, partner_id=4, delivery_id=1, attempt=1)
    assert inc.security(s) is Security.NONE
    s = _event(log, s, EventType.DELIVERY_SUCCEEDED, partner_id=4, delivery_id=1, attempt=2)
    assert inc.security(s) is Security.CALLED
    s = _event(log, s, EventType.PARTNER_ACKNOWLEDGED, partner_id=5)
    assert inc.security(s) is Security.ACKNOWLEDGED


def test_a_partners_update_is_proof_it_was_reached() -> None:
    log, s = opened()
    s = _event(log, s, EventType.PARTNER_UPDATE, partner_id=5, text="on our way")
    assert inc.security(s) is Security.CALLED and s.notes[-1]["text"] == "on our way"
