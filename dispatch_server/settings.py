"""Typed settings, read once from `DISPATCH_*` environment variables.

Built in the CLI (or a test fixture) and passed to `create_app`, never at import
time, so tests can run several servers with different settings in one process.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from dispatch_server.domain.shifts import WINDOW_PATTERN, Shift, Window, overlap, parse_window

# An http(s) base with a host, no query or fragment: what enrolment links start with.
PUBLIC_URL_PATTERN = r"^https?://[^/?#\s]+(/[^?#\s]*)?$"
# The sample grids, inside the package so an installed wheel has them: `sample_grids` is a
# link to the repository's top-level grids/, which setuptools copies into the wheel.
SAMPLE_GRIDS = Path(__file__).resolve().parent / "sample_grids"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DISPATCH_", extra="ignore")

    database_url: str = Field(
        default="sqlite:///data/dispatch.sqlite3",
        description="SQLAlchemy URL. The default is a SQLite file under ./data/.",
    )
    grids: Path = Field(default=SAMPLE_GRIDS, description="A GeoJSON file or a folder of them.")
    admin_token: str | None = Field(
        default=None, description="If unset, one is generated and printed once at start."
    )
    metrics_token: str | None = Field(
        default=None,
        description="If set, GET /metrics asks for `Authorization: Bearer <this>`; unset, the "
        "metrics (counts only) are open to whoever reaches the port.",
    )
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="json: the server logs one JSON object per line (time, level, logger, "
        "message, request_id, incident_id) for a log shipper.",
    )
    bus_url: str | None = Field(
        default=None,
        description="redis://host:port/db to run several instances on one PostgreSQL. "
        "Unset: one instance, in-process bus.",
    )
    bus_prefix: str = Field(
        default="dispatch", description="Redis channel prefix: one per deployment sharing a Redis."
    )

    # Wire limits. An alarm frame is a few hundred bytes; 64 KiB leaves room for notes.
    max_frame_bytes: int = 64 * 1024
    hello_timeout_s: float = Field(
        default=4.0, description="A socket that has not said hello by then is closed with 4401."
    )
    send_timeout_s: float = Field(
        default=10.0, description="A send that takes longer drops the link."
    )
    console_queue: int = Field(
        default=1024, description="Events buffered per console before resync."
    )
    patrol_queue: int = Field(default=64, description="Frames buffered per handheld.")

    # Ranking.
    responders_listed: int = Field(default=5, description="Ranked responders kept per incident.")
    fresh_fix_s: float = Field(default=120.0, description="A fix older than this is not fresh.")
    offline_after_s: float = Field(
        default=45.0, description="On shift with the link down this long: offline."
    )
    duty_room_grace_s: float = Field(
        default=60.0,
        gt=0,
        le=3600,
        description="No duty console open anywhere this long: the log says the duty room is "
        "empty (a reload or a network change is not). Minutes unwatched are a KPI.",
    )
    skill_bonus_m: float = Field(
        default=150.0, description="A fitting skill counts as being this much closer."
    )

    # Duty operations.
    roll_call_timeout_s: float = Field(
        default=60.0, description="A grid with no answer by then is marked silent."
    )

    check_in_overdue_after_s: float = Field(
        default=120.0, description="Lone-worker mode: warning this long before overdue."
    )

    webhook_retry_s: float = Field(default=2.0, description="First retry delay; doubles each time.")
    webhook_attempts: int = Field(
        default=6, description="Tries before a delivery is dead-lettered."
    )
    webhook_timeout_s: float = 5.0

    # Console.
    map_tile_url: str | None = Field(
        default=None,
        description="A tile server for the console map, as https://host/{z}/{x}/{y}.png. "
        "Unset: the grids alone, drawn from their GeoJSON (no internet needed).",
    )
    map_tile_datum: Literal["wgs84", "gcj02"] = Field(
        default="wgs84",
        description="The datum the tile server draws in: gcj02 for tile servers in mainland "
        "China, whose tiles are offset from WGS-84; the console moves them under the grids.",
    )

    # Handheld enrolment (decision 35).
    public_url: str | None = Field(
        default=None,
        pattern=PUBLIC_URL_PATTERN,
        description="Where phones reach this server, as https://patrol.example.org: the base "
        "of enrolment links (<public url>/h/#enrol=<code>). Unset: the scheme, host and port "
        "the administrator's request came in on.",
    )
    enrolment_ttl_s: float = Field(
        default=24 * 3600.0, gt=0, description="How long an enrolment code can be used."
    )

    # Photos and clips attached to an incident (decision 37).
    media_max_bytes: int = Field(
        default=32 * 1024 * 1024,
        gt=0,
        le=2**31 - 1,
        description="Largest photo or clip: 32 MiB is 30 s of phone video at ~8 Mbit/s.",
    )
    media_max_per_incident: int = Field(
        default=20, gt=0, description="Most photos and clips on one incident."
    )
    media_chunk_bytes: int = Field(
        default=512 * 1024, gt=0, description="Most bytes in one upload request (one chunk)."
    )
    media_upload_grace_s: float = Field(
        default=3600.0,
        ge=0,
        description="How long after an incident is resolved its members may still add media.",
    )
    media_retention_days: float = Field(
        default=90.0,
        gt=0,
        description="The bytes of media are deleted this long after their incident was "
        "resolved (the record that they existed stays).",
    )
    media_sweep_s: float = Field(
        default=3600.0, gt=0, description="How often the retention duty looks for expired media."
    )

    # TLS, for a small deployment with no proxy in front (docs/deploy.md, "HTTPS").
    tls_certfile: Path | None = Field(
        default=None,
        description="A PEM certificate (full chain): serve https and wss. With tls_keyfile.",
    )
    tls_keyfile: Path | None = Field(default=None, description="The certificate's PEM key.")

    # Grids.
    grid_overlap_tolerance_m2: float = 10.0

    # Coverage gaps and the team watch (decision 48).
    timezone: str = Field(
        default="Asia/Shanghai",
        description="The community's IANA time zone: the shift windows are its wall-clock hours.",
    )
    shift_morning: str = Field(
        default="07:00-15:00",
        pattern=WINDOW_PATTERN,
        description="The morning shift's window, local HH:MM-HH:MM (past midnight if end < start).",
    )
    shift_evening: str = Field(
        default="15:00-23:00",
        pattern=WINDOW_PATTERN,
        description="The evening shift's window; outside both no shift is planned (no gap).",
    )
    coverage_min_on_shift: int = Field(
        default=2, ge=0, le=1000, description="A planned grid with fewer on shift is short."
    )
    coverage_grace_s: float = Field(
        default=600.0, ge=0, description="Short this long: a coverage gap is raised."
    )
    team_drift_m: float = Field(
        default=300.0, gt=0, description="Farther than this from every teammate: drifting."
    )
    team_drift_grace_s: float = Field(
        default=120.0, ge=0, description="Drifting this long: team_drift and a check prompt."
    )
    # Response KPIs (decision 47), NFPA 1225 (2022) by default: 90% of alarms answered
    # within 10 s, 90% processed (answer to dispatch) within 60 s.
    kpi_answer_s: int = Field(
        default=10, gt=0, le=3600, description="Target: alarms acknowledged within this many s."
    )
    kpi_answer_share: float = Field(
        default=0.9, gt=0, le=1, description="Target: the share acknowledged within kpi_answer_s."
    )
    kpi_process_s: int = Field(
        default=60, gt=0, le=3600, description="Target: first dispatch within this many s of ack."
    )
    kpi_process_share: float = Field(
        default=0.9, gt=0, le=1, description="Target: the share dispatched within kpi_process_s."
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {name!r}") from exc
        return name

    @model_validator(mode="after")
    def _shift_windows(self) -> Settings:
        windows = self.shift_windows()
        if (both := overlap(windows)) is not None:
            raise ValueError(f"the {both[0]} and {both[1]} shift windows overlap")
        # The KPIs score an alarm to the shift that last started (decision 47).
        if not windows[Shift.MORNING].start < windows[Shift.EVENING].start:
            raise ValueError("the morning shift must start before the evening shift")
        return self

    def shift_windows(self) -> dict[Shift, Window]:
        """Parsed once per pair of texts: the clocks ask on every beat."""
        return _windows(self.shift_morning, self.shift_evening)

    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    # Storage.
    commit_batch_max: int = Field(default=256, description="Most writes in one group commit.")


@functools.cache
def _windows(morning: str, evening: str) -> dict[Shift, Window]:
    return {Shift.MORNING: parse_window(morning), Shift.EVENING: parse_window(evening)}
