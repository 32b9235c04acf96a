"""What an alarm can be about: the server's `Category` values, spelled out here because the
handheld does not depend on the server's package (a test keeps the two lists equal)."""

from __future__ import annotations

CATEGORIES: tuple[str, ...] = (
    "unknown",
    "medical",
    "fire",
    "violence",
    "theft",
    "dispute",
    "disorder",
    "suspicious",
    "other",
)
