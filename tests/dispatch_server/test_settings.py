"""Settings that are checked when built, so a bad value stops the start with its name."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from dispatch_server.settings import Settings


def test_kpi_time_settings_are_checked() -> None:
    s = Settings(timezone="Asia/Shanghai", shift_morning_start="06:30")
    assert (s.timezone, s.shift_morning_start, s.shift_evening_start) == (
        "Asia/Shanghai",
        "06:30",
        "19:00",
    )
    assert Settings().timezone is None, "unset: the server's own zone"
    for bad, word in [
        ({"timezone": "Mars/Olympus"}, "time zone"),
        ({"timezone": "../../etc/passwd"}, "time zone"),
        ({"shift_morning_start": "7:00"}, "pattern"),
        ({"shift_evening_start": "24:00"}, "pattern"),
        ({"shift_morning_start": "19:00"}, "before"),
        ({"kpi_answer_share": 1.5}, "kpi_answer_share"),
        ({"kpi_process_s": 0}, "kpi_process_s"),
    ]:
        with pytest.raises(ValidationError, match=word):
            Settings(**bad)
