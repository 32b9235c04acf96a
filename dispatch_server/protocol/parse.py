"""Turn one text frame into a validated model, or a clear error that names the fault."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError

from dispatch_server.protocol.codes import ErrorCode
from dispatch_server.protocol.strict_json import NotJson, loads

T = TypeVar("T")


@dataclass(frozen=True)
class FrameError(Exception):
    code: ErrorCode
    message: str
    ref_type: str | None = None
    alert_id: str | None = None
    incident_id: int | None = None


def parse_frame(adapter: TypeAdapter[T], text: str | bytes) -> T:
    """The strict reader first (the JSON every part of the server can hold: no NaN, no lone
    surrogate, no U+0000), then the model's validation in JSON mode (so a UUID or an enum
    may be a string while "113.04" is still not a number)."""
    try:
        obj = loads(text)
    except NotJson as exc:
        if isinstance(exc.value, dict):
            # An object that holds something refused: say which frame it was, so a handheld
            # marks that alarm rejected instead of retrying it for ever.
            raise FrameError(ErrorCode.INVALID_FRAME, str(exc), *peek(exc.value)) from None
        raise FrameError(ErrorCode.BAD_JSON, f"not valid JSON: {exc}") from None
    try:
        return adapter.validate_json(text)
    except ValidationError as exc:
        raise _explain(exc, obj) from None


def peek(obj: Any) -> tuple[str | None, str | None]:
    """Best effort: the type and alert_id of a parsed frame, for an error's ref."""
    if not isinstance(obj, dict):
        return None, None
    kind, alert_id = obj.get("type"), obj.get("alert_id")
    return (kind if _plain(kind) else None, alert_id if _plain(alert_id) else None)


def _plain(s: object) -> bool:
    """Short printable ASCII, safe to echo back (types and UUIDs are)."""
    return isinstance(s, str) and len(s) <= 64 and s.isascii() and s.isprintable()


def _explain(exc: ValidationError, obj: Any) -> FrameError:
    errors = exc.errors(include_url=False, include_input=False)
    first = errors[0]
    kind = first["type"]
    if kind == "json_invalid":
        return FrameError(ErrorCode.BAD_JSON, f"not valid JSON: {first['msg']}")
    if not isinstance(obj, dict):
        return FrameError(ErrorCode.INVALID_FRAME, "a frame is one JSON object")
    if kind == "union_tag_not_found":
        return FrameError(ErrorCode.INVALID_FRAME, "the frame has no 'type' field")
    ref_type, alert_id = peek(obj)
    if kind == "union_tag_invalid":
        expected = first.get("ctx", {}).get("expected_tags", "")
        tag = obj.get("type")
        if not isinstance(tag, str):
            return FrameError(ErrorCode.INVALID_FRAME, f"'type' is a string, one of {expected}")
        shown = tag if len(tag) <= 64 else tag[:64] + "…"
        return FrameError(
            ErrorCode.UNKNOWN_TYPE, f"unknown type {shown!r}; expected one of {expected}", ref_type
        )
    details = "; ".join(f"{_where(e['loc'])}: {e['msg']}" for e in errors)
    return FrameError(ErrorCode.INVALID_FRAME, details, ref_type, alert_id)


def _where(loc: tuple[Any, ...]) -> str:
    # The first element is the union tag pydantic chose; the field path follows it.
    return ".".join(str(p) for p in loc[1:]) or "frame"
