"""Which skills fit which alarm category: a retired doctor first for someone choking."""

from __future__ import annotations

from enum import StrEnum

from dispatch_server.protocol.frames import Category


class Skill(StrEnum):
    MEDICAL = "medical"  # doctors, nurses
    FIRST_AID = "first_aid"
    FIRE_SAFETY = "fire_safety"
    SECURITY = "security"  # security staff, former police
    PSYCHOLOGY = "psychology"
    MEDIATION = "mediation"


FITS: dict[Category, frozenset[Skill]] = {
    Category.MEDICAL: frozenset({Skill.MEDICAL, Skill.FIRST_AID}),
    Category.FIRE: frozenset({Skill.FIRE_SAFETY, Skill.FIRST_AID}),
    Category.VIOLENCE: frozenset({Skill.SECURITY, Skill.FIRST_AID}),
    Category.THEFT: frozenset({Skill.SECURITY}),
    Category.DISPUTE: frozenset({Skill.MEDIATION, Skill.PSYCHOLOGY}),
    Category.DISORDER: frozenset({Skill.MEDIATION, Skill.SECURITY}),
    Category.SUSPICIOUS: frozenset({Skill.SECURITY}),
    Category.UNKNOWN: frozenset(),
    Category.OTHER: frozenset(),
}

_BIT = {skill: 1 << i for i, skill in enumerate(Skill)}


def mask(skills: frozenset[Skill] | set[Skill] | list[Skill]) -> int:
    """Skills as one integer, so the ranking can test fit for every member at once."""
    bits = 0
    for skill in skills:
        bits |= _BIT[skill]
    return bits


def unmask(bits: int) -> list[Skill]:
    return [skill for skill, bit in _BIT.items() if bits & bit]


def _names(bits: int) -> tuple[str, ...]:
    return tuple(skill.value for skill, bit in _BIT.items() if bits & bit)


# Every combination, worked out once: ranking names the fitting skills of five members per
# alarm, on the loop.
_NAMES = {bits: _names(bits) for bits in range(1 << len(_BIT))}


def skill_names(bits: int) -> tuple[str, ...]:
    """The skills in `bits`, by name, in the order of `Skill`."""
    return _NAMES.get(bits) or _names(bits)
