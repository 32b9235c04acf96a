"""Enrolment codes without a database: when one may be used, and the link a phone opens."""

from __future__ import annotations

import pytest

from dispatch_server.domain.enrolment import (
    Code,
    CodeRefused,
    Refusal,
    enrol_url,
    expires_at,
    refusal,
)


def test_a_fresh_code_may_be_used_until_it_expires() -> None:
    code = Code(member_id=7, expires_at=expires_at(1000.0, 60.0), used_at=None)
    assert code.expires_at == 1060.0
    assert refusal(code, 1000.0) is None
    assert refusal(code, 1059.999) is None
    assert refusal(code, 1060.0) is Refusal.EXPIRED, "expired at expires_at, not after"


def test_unknown_and_used_codes_are_refused_and_used_wins_over_expired() -> None:
    assert refusal(None, 0.0) is Refusal.UNKNOWN
    used = Code(member_id=7, expires_at=1060.0, used_at=1010.0)
    assert refusal(used, 1020.0) is Refusal.USED
    assert refusal(used, 5000.0) is Refusal.USED


@pytest.mark.parametrize("why", list(Refusal))
def test_each_refusal_says_what_to_do(why: Refusal) -> None:
    assert "administrator" in str(CodeRefused(why))
    assert CodeRefused(why).refusal is why


def test_the_url_carries_the_code_in_its_fragment() -> None:
    assert (
        enrol_url("https://patrol.example.org", "abc") == "https://patrol.example.org/h/#enrol=abc"
    )
    assert enrol_url("http://10.0.0.5:8000/", "abc") == "http://10.0.0.5:8000/h/#enrol=abc"
