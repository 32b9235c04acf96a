"""Settings that are checked when built, so a bad value stops the start with its name."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from dispatch_server.settings import Settings


def test_kpi_time_settings_are_checked() -> None:
    s = Settings(timezone="Europe/London", shift_morning="06:30-14:00")
    assert (s.timezone, s.shift_morning, s.shift_evening) == (
        "Europe/London",
        "06:30-14:00",
        "15:00-23:00",
    )
    assert Settings().timezone == "Asia/Shanghai", "the community this is built for"
    for bad, word in [
        ({"timezone": "Mars/Olympus"}, "time zone"),
        ({"timezone": "../../etc/passwd"}, "time zone"),
        ({"shift_morning": "7:00-15:00"}, "pattern"),
        ({"shift_evening": "15:00-24:00"}, "pattern"),
        ({"shift_morning": "23:30-06:00"}, "before"),
        ({"shift_morning": "07:00-16:00"}, "overlap"),
        ({"kpi_answer_share": 1.5}, "kpi_answer_share"),
        ({"kpi_process_s": 0}, "kpi_process_s"),
    ]:
        with pytest.raises(ValidationError, match=word):
            Settings(**bad)
