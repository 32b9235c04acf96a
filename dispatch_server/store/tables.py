"""SQLModel tables. `event` is the append-only log; the other incident tables are projections.

Projections (`incident`, `assignment`, `member.on_shift`) are written only in the
same transaction as the event that changes them, so they never disagree with the
log; they exist to make listing and filtering cheap.
Times are float seconds since the epoch (UTC): portable across SQLite and
PostgreSQL and cheap to compare; the wire shows them as ISO 8601.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import JSON, Column, Index, LargeBinary, Table, UniqueConstraint
from sqlmodel import Field, SQLModel


class GridRow(SQLModel, table=True):
    __tablename__ = "grid"
    id: str = Field(primary_key=True)
    name_zh: str | None = None
    name_en: str | None = None
    kind: str | None = None
    feature: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    # Set when an applied grid set no longer has this grid: the row stays, because
    # incidents and the log name it (decision 45).
    retired_at: float | None = None


class GridSetRow(SQLModel, table=True):
    """A grid file the administrator applied from the admin pages. The newest one is the
    map from then on, on every instance and after a restart (decision 45)."""

    __tablename__ = "grid_set"
    id: int | None = Field(default=None, primary_key=True)
    geojson: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    sha256: str
    applied_at: float
    applied_by: str  # the actor key, e.g. admin:2


class AdministratorRow(SQLModel, table=True):
    """A named administrator with a token of kind `admin` (decision 44). The bootstrap admin
    token from the settings is `admin:0` and has no row."""

    __tablename__ = "administrator"
    id: int | None = Field(default=None, primary_key=True)
    name: str
    created_at: float
    deactivated_at: float | None = None


class MemberRow(SQLModel, table=True):
    __tablename__ = "member"
    id: int | None = Field(default=None, primary_key=True)
    name: str
    grid_id: str = Field(foreign_key="grid.id", index=True)
    skills: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    on_shift: bool = False
    # As the last member_offline/member_online event says (supervision).
    offline: bool = False
    # Lone-worker check-ins, as the last check-in event says.
    last_check_in: float | None = None
    check_in_state: int = 0
    created_at: float
    # A deactivated member's tokens are revoked and it is never ranked or rostered.
    deactivated_at: float | None = None


class DispatcherRow(SQLModel, table=True):
    __tablename__ = "dispatcher"
    id: int | None = Field(default=None, primary_key=True)
    name: str
    created_at: float
    deactivated_at: float | None = None


class PartnerRow(SQLModel, table=True):
    __tablename__ = "partner"
    id: int | None = Field(default=None, primary_key=True)
    name: str
    grids: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    webhook_url: str | None = None
    # Kept in clear: the server must sign with it, so it cannot be hashed like a token.
    webhook_secret: str | None = None
    kind: str = "security"  # security | police (escalation rules pick partners by kind)
    created_at: float
    deactivated_at: float | None = None
    # Whether drills reach this partner (decision 50): not unless it opted in.
    accepts_drills: bool = False


class TokenRow(SQLModel, table=True):
    """Bearer tokens, stored as SHA-256: a leaked database does not leak working tokens."""

    __tablename__ = "token"
    token_hash: str = Field(primary_key=True)
    kind: str  # member | dispatcher | partner | admin
    subject_id: int
    created_at: float
    revoked_at: float | None = None
    # A member's token made by enrolling a handheld (decision 35); null for the token the
    # administrator was given at registration.
    device_id: int | None = Field(default=None, foreign_key="device.id", index=True)


class DeviceRow(SQLModel, table=True):
    """A handheld enrolled for a member. Its token is in `token` (with this `device_id`);
    revoking the device revokes that token in the same transaction."""

    __tablename__ = "device"
    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    name: str
    created_at: float
    revoked_at: float | None = None


class EnrolmentRow(SQLModel, table=True):
    """A one-time enrolment code, stored only as a hash (services/devices.py): usable once,
    until `expires_at`, by whoever holds the code."""

    __tablename__ = "enrolment"
    id: int | None = Field(default=None, primary_key=True)
    code_hash: str = Field(unique=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    created_at: float
    expires_at: float
    used_at: float | None = None
    device_id: int | None = Field(default=None, foreign_key="device.id")


class IncidentRow(SQLModel, table=True):
    __tablename__ = "incident"
    id: int | None = Field(default=None, primary_key=True)
    # "a retry never makes a second incident": the handheld's UUID, unique.
    alert_id: str = Field(unique=True)
    reporter_id: int = Field(foreign_key="member.id", index=True)
    grid_id: str = Field(foreign_key="grid.id", index=True)
    lon: float
    lat: float
    category: str = Field(index=True)
    status: str = Field(index=True)
    disposition: str | None = None
    opened_at: float = Field(index=True)
    acknowledged_at: float | None = None
    resolved_at: float | None = None
    last_seq: int = Field(default=0, index=True)


class AssignmentRow(SQLModel, table=True):
    __tablename__ = "assignment"
    incident_id: int = Field(foreign_key="incident.id", primary_key=True)
    member_id: int = Field(foreign_key="member.id", primary_key=True)
    reply: str
    dispatched_at: float
    replied_at: float | None = None


class RosterSlotRow(SQLModel, table=True):
    """The plan: who patrols which grid on the morning or evening shift."""

    __tablename__ = "roster_slot"
    grid_id: str = Field(foreign_key="grid.id", primary_key=True)
    shift: str = Field(primary_key=True)  # morning | evening
    member_id: int = Field(foreign_key="member.id", primary_key=True)


class EscalationRuleRow(SQLModel, table=True):
    """When an incident goes to which kind of partner (domain/escalation.py)."""

    __tablename__ = "escalation_rule"
    id: int | None = Field(default=None, primary_key=True)
    trigger: str  # immediate | no_ack | no_responder | unattended
    to: str  # security | police
    after_s: float = 0.0
    category: str | None = None
    grid_id: str | None = None


class IncidentPartnerRow(SQLModel, table=True):
    """Which partners an incident was escalated to: all a partner may ever see."""

    __tablename__ = "incident_partner"
    incident_id: int = Field(foreign_key="incident.id", primary_key=True)
    partner_id: int = Field(foreign_key="partner.id", primary_key=True, index=True)


class DeliveryRow(SQLModel, table=True):
    """A webhook delivery still owed, or its outcome. Written with the escalation event,
    so a restart loses none; the delivery task retries it until delivered or dead."""

    __tablename__ = "delivery"
    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    partner_id: int = Field(foreign_key="partner.id")
    event_seq: int
    state: str = Field(index=True)  # pending | delivered | dead
    attempts: int = 0
    next_attempt_at: float = Field(index=True)
    last_error: str | None = None


class CheckInRuleRow(SQLModel, table=True):
    """Lone-worker mode for one grid or one member (a member's rule wins)."""

    __tablename__ = "check_in_rule"
    id: int | None = Field(default=None, primary_key=True)
    grid_id: str | None = Field(default=None, foreign_key="grid.id", unique=True)
    member_id: int | None = Field(default=None, foreign_key="member.id", unique=True)
    period_s: float
    overdue_after_s: float


class RollCallRow(SQLModel, table=True):
    """Projection of a roll call's events, for listing."""

    __tablename__ = "roll_call"
    id: int | None = Field(default=None, primary_key=True)
    grid_ids: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    started_at: float = Field(index=True)
    deadline: float
    closed_at: float | None = None
    tally: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    last_seq: int = 0


class DrillRow(SQLModel, table=True):
    """A drill (decision 50): whom it asks (a member, or a member on shift in a grid, picked
    at its time), when, whether the console is told, and how far it got. Written in the
    same transaction as its `drill_scheduled`/`drill_started` event and its alarm's
    `incident_opened`."""

    __tablename__ = "drill"
    id: int | None = Field(default=None, primary_key=True)
    member_id: int | None = Field(default=None, foreign_key="member.id")
    grid_id: str | None = None
    at: float = Field(index=True)
    announced: bool
    state: str  # scheduled | started | raised | no_member (domain/drills.py)
    incident_id: int | None = None
    created_by: str
    created_at: float


class MediaRow(SQLModel, table=True):
    """A photo or clip declared for an incident (decision 37). Its bytes are in
    `media_chunk` until `received == size` and the whole matches `sha256`; `completed_at`
    is set in the transaction that logs `media_attached`, `expired_at` in the one that logs
    `media_expired` (when its chunks are deleted)."""

    __tablename__ = "media"
    # One media per content per incident: a retried or repeated upload finds it again.
    __table_args__ = (UniqueConstraint("incident_id", "sha256", name="uq_media_incident_sha256"),)
    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    member_id: int = Field(foreign_key="member.id")
    sha256: str
    size: int
    content_type: str
    kind: str  # photo | clip
    duration_s: float | None = None
    received: int = 0
    created_at: float
    completed_at: float | None = None
    expired_at: float | None = None


class MediaChunkRow(SQLModel, table=True):
    """The bytes of a media, in the pieces they were uploaded in: in the database, so every
    instance of a cluster serves them with no shared folder (decision 37)."""

    __tablename__ = "media_chunk"
    media_id: int = Field(foreign_key="media.id", primary_key=True)
    offset: int = Field(primary_key=True)
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class EventRow(SQLModel, table=True):
    """One row per change. `seq` is the global order every console relies on."""

    __tablename__ = "event"
    # AUTOINCREMENT on SQLite: a seq is never reused, even after the newest row vanished.
    __table_args__ = (
        Index("ix_event_incident_seq", "incident_id", "seq"),
        {"sqlite_autoincrement": True},
    )
    seq: int | None = Field(default=None, primary_key=True)
    incident_id: int | None = Field(default=None, foreign_key="incident.id")
    roll_call_id: int | None = Field(default=None, foreign_key="roll_call.id", index=True)
    type: str
    at: float
    actor: str
    data: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))


def table(model: type[SQLModel]) -> Table:
    """The Core table behind a model, for the hot path's plain inserts."""
    return cast(Table, model.__table__)  # type: ignore[attr-defined]


GRID = table(GridRow)
GRID_SET = table(GridSetRow)
ADMINISTRATOR = table(AdministratorRow)
MEMBER = table(MemberRow)
DISPATCHER = table(DispatcherRow)
PARTNER = table(PartnerRow)
TOKEN = table(TokenRow)
DEVICE = table(DeviceRow)
ENROLMENT = table(EnrolmentRow)
INCIDENT = table(IncidentRow)
ASSIGNMENT = table(AssignmentRow)
EVENT = table(EventRow)
ROLL_CALL = table(RollCallRow)
CHECK_IN_RULE = table(CheckInRuleRow)
ROSTER_SLOT = table(RosterSlotRow)
ESCALATION_RULE = table(EscalationRuleRow)
DELIVERY = table(DeliveryRow)
INCIDENT_PARTNER = table(IncidentPartnerRow)
DRILL = table(DrillRow)
MEDIA = table(MediaRow)
MEDIA_CHUNK = table(MediaChunkRow)
