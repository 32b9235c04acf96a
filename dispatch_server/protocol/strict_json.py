"""The one JSON reader for everything a peer sends: websocket frames and REST bodies alike.

It takes only JSON that every part of the server can hold, and says what is wrong with
the rest: bytes that are not UTF-8, `NaN` and `Infinity` (not JSON, though Python's json
reads them), a number too large for a double (`1e400` would become infinity) or with
more digits than Python converts, a lone surrogate such as `"\\ud800"` (not Unicode
text: it cannot be encoded, stored or echoed back), U+0000 in a string (PostgreSQL text
cannot hold it), and nesting deeper than MAX_DEPTH. It imports only the standard
library, so the handheld may share it like the frame models.
"""

from __future__ import annotations

import json
import math
from typing import Any

# Frames and bodies are flat; a little room for an extra field holding a small object.
MAX_DEPTH = 32


class NotJson(ValueError):
    """Input that is not JSON this server takes; the message says what is wrong and where.
    `value` is what was read when the text is JSON in form but holds a value refused
    (NaN, a number out of range, a lone surrogate, U+0000; numbers refused become None),
    so a caller can still tell which request it was; None when nothing could be read
    (broken syntax, not UTF-8, nesting too deep, an integer of too many digits)."""

    def __init__(self, message: str, value: Any = None) -> None:
        super().__init__(message)
        self.value = value


class _Refused(Exception):
    """A number the fast reader will not take: the careful reader says why."""


def _finite_or_refuse(literal: str) -> float:
    number = float(literal)
    if not math.isfinite(number):
        raise _Refused
    return number


def _refuse(_: str) -> None:
    raise _Refused


# The fast reader: what nearly every frame takes. Configuration only, no state.
_FAST = json.JSONDecoder(parse_constant=_refuse, parse_float=_finite_or_refuse)


def loads(data: str | bytes) -> Any:
    """Parse one JSON text (bytes must be UTF-8), or raise NotJson.

    Nearly every frame is plain: no escapes, no U+0000, shallow, no NaN. Those are read
    once by the fast reader, and the walk over every string (`_problems`) is skipped when
    the text itself shows nothing it could find. Anything else takes the careful way,
    which says what is wrong."""
    if isinstance(data, bytes | bytearray):
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise NotJson(
                f"not UTF-8: byte 0x{exc.object[exc.start]:02x} at offset {exc.start}"
            ) from None
    else:
        text = data
    if _plain_text(text):
        try:
            return _FAST.decode(text)
        except (_Refused, ValueError, RecursionError):
            pass  # the careful way names the fault
    return _careful(text)


def _plain_text(text: str) -> bool:
    """Nothing in it that `_problems` could object to: no escape (the only way to write a
    lone surrogate or U+0000 in JSON besides the raw character), no raw U+0000, at most
    MAX_DEPTH brackets in all (so no nesting deeper), and encodable as UTF-8."""
    if "\\" in text or "\x00" in text or text.count("[") + text.count("{") > MAX_DEPTH:
        return False
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _careful(text: str) -> Any:
    refused: list[str] = []

    def constant(name: str) -> None:
        refused.append(f"{name} is not a JSON number")

    def finite(literal: str) -> float | None:
        number = float(literal)
        if math.isfinite(number):
            return number
        refused.append(f"the number {literal[:40]} is out of range")
        return None

    try:
        value = json.loads(text, parse_constant=constant, parse_float=finite)
    except RecursionError:
        raise NotJson(f"nested deeper than {MAX_DEPTH} levels") from None
    except json.JSONDecodeError as exc:
        raise NotJson(f"{exc.msg} (line {exc.lineno} column {exc.colno})") from None
    except ValueError as exc:  # an integer of more than 4300 digits
        raise NotJson(f"a number out of range: {exc}") from None
    too_deep, text_fault_found = _problems(value)
    if too_deep:
        # Read as nothing, like broken syntax: how deep the reader follows depends on the stack.
        raise NotJson(f"nested deeper than {MAX_DEPTH} levels")
    problem = refused[0] if refused else text_fault_found
    if problem is not None:
        raise NotJson(problem, value)
    return value


def _problems(value: Any) -> tuple[bool, str | None]:
    """Whether nesting goes deeper than MAX_DEPTH, and what is wrong with the first string
    (keys too) that is not Unicode text without U+0000."""
    fault: str | None = None
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            fault = fault or text_fault(item)
        elif isinstance(item, dict | list):
            if depth >= MAX_DEPTH:
                return True, None
            if isinstance(item, dict):
                for key, inner in item.items():
                    fault = fault or text_fault(key)
                    stack.append((inner, depth + 1))
            else:
                stack.extend((inner, depth + 1) for inner in item)
    return False, fault


def text_fault(s: str) -> str | None:
    """What makes this string unfit to store or send back, if anything."""
    if "\x00" in s:
        return "a string contains U+0000 (NUL), which no text field may hold"
    if not s.isascii():
        try:
            s.encode("utf-8")
        except UnicodeEncodeError as exc:
            return (
                f"a string contains a lone surrogate (\\u{ord(s[exc.start]):04x}), "
                "which is not Unicode text"
            )
    return None
