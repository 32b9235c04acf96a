"""One pydantic model per frame of the wire protocol.

This package imports nothing but pydantic, so the handheld (`patrol_client`)
shares these definitions without pulling in the server's libraries.
Unknown extra fields are ignored, so a newer client can talk to an older server.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

# Range checks also refuse NaN and infinities: they fail every comparison.
Longitude = Annotated[float, Field(ge=-180.0, le=180.0)]
Latitude = Annotated[float, Field(ge=-90.0, le=90.0)]
Note = Annotated[str, Field(max_length=1000)]
# Every id a peer names (incident, roll call, member) and every seq: positive (seqs may be 0)
# and within what an INTEGER column holds on every backend: 32 bits on PostgreSQL (SQLite's
# 64). A larger number is refused here, as a clear fault of the frame or request, before any
# query sees it (PostgreSQL refuses to compare it with such a column; SQLite's driver cannot
# even bind one past 64 bits).
MAX_ID = 2**31 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Seq = Annotated[int, Field(ge=0, le=MAX_ID)]


class Category(StrEnum):
    """What the alarm is about; `unknown` when the one key was pressed and nothing more said."""

    UNKNOWN = "unknown"
    MEDICAL = "medical"
    FIRE = "fire"
    VIOLENCE = "violence"
    THEFT = "theft"
    DISPUTE = "dispute"
    DISORDER = "disorder"
    SUSPICIOUS = "suspicious"
    OTHER = "other"


class Frame(BaseModel):
    # Strict: "wrongly typed fields" are refused, not coerced ("113.0" is not a number).
    model_config = ConfigDict(strict=True, frozen=True)


# --- client to server -------------------------------------------------------------


class Hello(Frame):
    type: Literal["hello"]
    token: Annotated[str, Field(min_length=1, max_length=512)]
    # Console only: replay every logged event with a greater seq before live ones.
    since: Seq | None = None


class Position(Frame):
    type: Literal["position"]
    lon: Longitude
    lat: Latitude
    accuracy_m: Annotated[float, Field(ge=0.0, le=100_000.0)] | None = None


class AlarmFields(Frame):
    """An alarm's fields: the `alert` frame without its `type`, and the body of
    `POST /api/alarms` (a service worker's alarm, which cannot open a websocket)."""

    # Made by the handheld, so a retry can never open a second incident.
    alert_id: UUID
    lon: Longitude | None = None
    lat: Latitude | None = None
    accuracy_m: Annotated[float, Field(ge=0.0, le=100_000.0)] | None = None
    category: Category = Category.UNKNOWN
    note: Note | None = None
    # When the key was pressed, by the handheld's clock (ISO 8601; without an offset, UTC).
    # The same on every retry; the server keeps it clamped (services/intake.py).
    pressed_at: datetime | None = None
    # The drill this alarm answers (the `drill` frame's id): it must be this member's drill
    # still waiting for its alarm, else the alarm is refused and nothing is written.
    drill_id: Id | None = None
    # A silent alarm under duress (the phone's long press on its header): the server takes it
    # as `violence`, whatever `category` says; the handheld shows nothing (decision 50).
    duress: bool = False

    @model_validator(mode="after")
    def _both_or_neither(self) -> AlarmFields:
        if (self.lon is None) != (self.lat is None):
            raise ValueError("lon and lat come together or not at all")
        return self


class Alert(AlarmFields):
    type: Literal["alert"]


ALARM_FIELDS: TypeAdapter[AlarmFields] = TypeAdapter(AlarmFields)


class RollCallAnswer(StrEnum):
    ALL_NORMAL = "all_normal"
    NEED_HELP = "need_help"


class RollCallReply(Frame):
    type: Literal["roll_call_reply"]
    roll_call_id: Id
    status: RollCallAnswer
    note: Note | None = None


class Heartbeat(Frame):
    """ "I am here", every 15 s while on shift when no position goes out (any frame counts)."""

    type: Literal["heartbeat"]


class CheckInFrame(Frame):
    """Lone-worker mode: "I am fine" (answered by `check_in_recorded`)."""

    type: Literal["check_in"]


class ShiftStart(Frame):
    type: Literal["shift_start"]


class ShiftEnd(Frame):
    type: Literal["shift_end"]


class AssignmentReply(Frame):
    type: Literal["assignment_reply"]
    incident_id: Id
    accept: bool


class ResponderState(StrEnum):
    """What a responder says from the scene (domain/incidents.py: ResponderStatus)."""

    ARRIVED = "arrived"
    DONE = "done"


class AssignmentStatus(Frame):
    """A responder who accepted: "I am there" (`arrived`), "finished here" (`done`)."""

    type: Literal["assignment_status"]
    incident_id: Id
    status: ResponderState


class AlertCategory(Frame):
    """The reporter says what their alarm is about, after the press."""

    type: Literal["alert_category"]
    alert_id: UUID
    category: Category


PatrolFrame = Annotated[
    Hello
    | Position
    | Alert
    | Heartbeat
    | CheckInFrame
    | ShiftStart
    | ShiftEnd
    | AssignmentReply
    | AssignmentStatus
    | AlertCategory
    | RollCallReply,
    Field(discriminator="type"),
]
ConsoleFrame = Annotated[Hello, Field(discriminator="type")]

PATROL_FRAMES: TypeAdapter[PatrolFrame] = TypeAdapter(PatrolFrame)
CONSOLE_FRAMES: TypeAdapter[ConsoleFrame] = TypeAdapter(ConsoleFrame)


# --- server to client -------------------------------------------------------------
# Built by the server, parsed by the handheld (through SERVER_TO_HANDHELD). Not strict: the
# handheld takes "113" where a float is due, and ignores fields it does not know, so an older
# handheld still reads a newer server. Field names, values and order are the wire format of
# docs/protocol.md; the server sends `frame.wire()`.


class ServerFrame(BaseModel):
    model_config = ConfigDict(frozen=True)

    # Fields that go out as null when they have no value; every other field without a value
    # is left out ("`disposition?`" in docs/protocol.md).
    keep_null: ClassVar[frozenset[str]] = frozenset()

    def wire(self) -> dict[str, Any]:
        """The frame as JSON-ready data, in the field order declared here."""
        return self.model_dump(mode="json", exclude=self._absent())

    def wire_json(self) -> str:
        """`wire()` as compact JSON text, written by pydantic in one call: what the sockets
        send (a fifth of the time of json.dumps over `wire()`, on every frame)."""
        return self.model_dump_json(exclude=self._absent())

    def _absent(self) -> set[str]:
        return {
            name
            for name in type(self).model_fields
            if name not in self.keep_null and getattr(self, name) is None
        }


class Welcome(ServerFrame):
    type: Literal["welcome"] = "welcome"
    server_time: str
    member_id: int | None = None
    # Handheld only: the member's own name, for the phone's header.
    name: str | None = None
    grid_id: str | None = None
    on_shift: bool | None = None
    dispatcher_id: int | None = None
    last_seq: int | None = None
    # Handheld only: the member's grid (names and GeoJSON geometry), for its map and walk.
    grid: dict[str, Any] | None = None


class AlertAccepted(ServerFrame):
    type: Literal["alert_accepted"] = "alert_accepted"
    alert_id: str
    incident_id: int
    duplicate: bool
    # No duty volunteer was at a console: the alarm went straight to security partners.
    unattended: bool = False


class Coming(ServerFrame):
    """A responder who accepted: the reporter's handheld shows who is on the way, how far
    they are (from their latest fresh fix; null without one) and whether they are there."""

    member_id: int
    name: str
    distance_m: float | None = None
    arrived: bool = False
    done: bool = False


class AlertUpdate(ServerFrame):
    """To the reporter, after each change to their alarm's incident."""

    type: Literal["alert_update"] = "alert_update"
    alert_id: str
    incident_id: int
    # An incident status (`acknowledged`, `dispatched`, `responding`, `resolved`, …): a plain
    # string, so a status a newer server adds does not break an older handheld's link.
    status: str
    acknowledged: bool
    coming: list[Coming] = []
    disposition: str | None = None
    # The alarm's category as it now is (the reporter may have changed it).
    category: str | None = None
    # Security partners: `none`, `called` (the log shows one got it), `acknowledged`. A plain
    # string, like `status`.
    security: str = "none"
    # `true` for a drill (decision 50); left out otherwise.
    drill: bool | None = None


class ShiftState(ServerFrame):
    type: Literal["shift"] = "shift"
    on_shift: bool


class AssignmentFrame(ServerFrame):
    """A dispatcher called this member to an incident: where, what, and how far."""

    keep_null = frozenset({"note", "distance_m", "grid_name_zh", "grid_name_en", "reporter_name"})

    type: Literal["assignment"] = "assignment"
    incident_id: int
    grid_id: str
    # The grid's names; null when the point is outside every grid (`grid_id` is the nearest).
    grid_name_zh: str | None = None
    grid_name_en: str | None = None
    reporter_name: str | None = None
    lon: float
    lat: float
    category: str
    note: str | None = None
    # From the ranking; null when the member was not ranked.
    distance_m: float | None = None
    opened_at: str
    # Left out for an alarm; `roll_call` (with `roll_call_id`) or `check_in` otherwise.
    source: str | None = None
    roll_call_id: int | None = None
    # `true` for a drill (decision 50); left out otherwise.
    drill: bool | None = None


class AssignmentRecorded(ServerFrame):
    type: Literal["assignment_recorded"] = "assignment_recorded"
    incident_id: int
    accept: bool


class AssignmentStatusRecorded(ServerFrame):
    type: Literal["assignment_status_recorded"] = "assignment_status_recorded"
    incident_id: int
    status: str


class AlertCategoryRecorded(ServerFrame):
    type: Literal["alert_category_recorded"] = "alert_category_recorded"
    alert_id: str
    incident_id: int
    category: str


class RollCallFrame(ServerFrame):
    """A roll call asks this member: answer by `deadline`."""

    type: Literal["roll_call"] = "roll_call"
    roll_call_id: int
    deadline: str


class RollCallRecorded(ServerFrame):
    type: Literal["roll_call_recorded"] = "roll_call_recorded"
    roll_call_id: int
    status: RollCallAnswer


class CheckInDue(ServerFrame):
    """Lone-worker mode: `warning` (the period ran out) or `overdue` (the grace time too, and
    an incident was opened). A plain string, like `AlertUpdate.status`."""

    type: Literal["check_in_due"] = "check_in_due"
    state: str
    since: str


class TeamCheck(ServerFrame):
    """The team watch (decision 48): `reason` drift (far from every teammate) or silent;
    `state` warning (answer with `check_in`), overdue (an incident was opened) or clear
    (back with the team: the prompt goes away)."""

    type: Literal["team_check"] = "team_check"
    reason: str
    state: str
    since: str


class CheckInRecorded(ServerFrame):
    type: Literal["check_in_recorded"] = "check_in_recorded"
    at: str


class DrillFrame(ServerFrame):
    """A drill is due for this member (decision 50): the handheld asks them to press the red
    key now, and sends that alarm with this `drill_id`."""

    type: Literal["drill"] = "drill"
    drill_id: int


class ErrorFrame(ServerFrame):
    type: Literal["error"] = "error"
    code: str
    message: str
    # The offending frame's type (and alert_id, where there was one), so the client
    # knows which of its requests failed.
    ref_type: str | None = None
    alert_id: str | None = None
    incident_id: int | None = None


# Every frame the server sends on /ws/patrol. A handheld parses each through this one adapter;
# a `type` it does not know (a newer server's) fails with `union_tag_invalid`, and is ignored.
ToHandheld = Annotated[
    Welcome
    | AlertAccepted
    | AlertUpdate
    | ShiftState
    | AssignmentFrame
    | AssignmentRecorded
    | AssignmentStatusRecorded
    | AlertCategoryRecorded
    | RollCallFrame
    | RollCallRecorded
    | CheckInDue
    | TeamCheck
    | CheckInRecorded
    | DrillFrame
    | ErrorFrame,
    Field(discriminator="type"),
]
SERVER_TO_HANDHELD: TypeAdapter[ToHandheld] = TypeAdapter(ToHandheld)
