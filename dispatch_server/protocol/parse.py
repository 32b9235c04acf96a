"""Turn one text frame into a validated model, or a clear error that names the fault."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError

from dispatch_server.protocol.codes import ErrorCode

T = TypeVar("T")


@dataclass(frozen=True)
class FrameError(Exception):
    code: ErrorCode
    message: str
    ref_type: str | None = None
    alert_id: str | None = None
    incident_id: int | None = None


def parse_frame(adapter: TypeAdapter[T], text: str | bytes) -> T:
    """Validate in one pass (pydantic parses the JSON itself); explain the fault only on failure."""
    try:
        return adapter.validate_json(text)
    except ValidationError as exc:
        raise _explain(exc, text) from None


def _explain(exc: ValidationError, text: str | bytes) -> FrameError:
    errors = exc.errors(include_url=False, include_input=False)
    first = errors[0]
    kind = first["type"]
    if kind == "json_invalid":
        return FrameError(ErrorCode.BAD_JSON, f"not valid JSON: {first['msg']}")
    if kind == "model_attributes_type" or (kind.endswith("_type") and not first["loc"]):
        return FrameError(ErrorCode.INVALID_FRAME, "a frame is one JSON object")
    if kind == "union_tag_not_found":
        return FrameError(ErrorCode.INVALID_FRAME, "the frame has no 'type' field")
    ref_type, alert_id = _peek(text)
    if kind == "union_tag_invalid":
        expected = first.get("ctx", {}).get("expected_tags", "")
        got = first.get("ctx", {}).get("tag", ref_type)
        return FrameError(
            ErrorCode.UNKNOWN_TYPE, f"unknown type {got!r}; expected one of {expected}", ref_type
        )
    details = "; ".join(f"{_where(e['loc'])}: {e['msg']}" for e in errors)
    return FrameError(ErrorCode.INVALID_FRAME, details, ref_type, alert_id)


def _where(loc: tuple[Any, ...]) -> str:
    # The first element is the union tag pydantic chose; the field path follows it.
    return ".".join(str(p) for p in loc[1:]) or "frame"


def _peek(text: str | bytes) -> tuple[str | None, str | None]:
    """Best effort: the type and alert_id of a frame that failed validation, for the error's ref."""
    import json

    try:
        obj = json.loads(text)
    except ValueError:
        return None, None
    if not isinstance(obj, dict):
        return None, None
    kind, alert_id = obj.get("type"), obj.get("alert_id")
    return (
        kind if isinstance(kind, str) else None,
        alert_id if isinstance(alert_id, str) and len(alert_id) <= 64 else None,
    )
