"""Hypothesis strategies driven by JSON schemas (the frame models' and the OpenAPI
document's): values that fit a schema, values that cannot, and the JSON text to send.

A value that cannot fit is built to break the schema for certain (a wrong JSON type, a
number outside its bounds, a string too long, a word outside an enum), never "maybe":
the fuzzers assert that every such input is refused, so a value that could be valid
would make them flaky. `Raw` carries JSON text that no Python value serialises to
(NaN, 1e400, an integer of thousands of digits)."""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st
from hypothesis.errors import HypothesisDeprecationWarning, HypothesisWarning

# The server's strict reader refuses nesting deeper than this (protocol/strict_json.py).
MAX_DEPTH = 32
MAX_ID = 2**63 - 1

# Odd but valid text: right-to-left override, zero-width joiner, BOM, combining accent,
# line separator, a noncharacter, the last code point, CJK, an emoji (a surrogate pair
# once escaped), a control character.
ODD = ["\u202e", "\u200d", "\ufeff", "\u0301", "\u2028", "\uffff", "\U0010ffff", "网", "🚒", "\x07"]
TEXT_CHARS = st.characters(exclude_categories=("Cs",), exclude_characters="\x00") | st.sampled_from(
    ODD
)


@dataclass(frozen=True)
class Raw:
    """JSON text sent as is. `refused`: the server's reader must refuse it (NaN, Infinity,
    a number out of range); `unreadable`: nothing of the text around it can be read (an
    integer of more digits than Python converts, nesting too deep)."""

    text: str
    refused: bool = True
    unreadable: bool = False


REFUSED_NUMBERS = st.sampled_from(
    [Raw("NaN"), Raw("Infinity"), Raw("-Infinity"), Raw("1e400"), Raw("-2.5E+999")]
)
GIANT_INTEGERS = st.integers(4400, 6000).map(lambda n: Raw("9" * n, unreadable=True))
# Strings no part of the server can hold: a lone surrogate, or U+0000.
REFUSED_STRINGS = st.one_of(
    st.tuples(st.text(max_size=5), st.integers(0xD800, 0xDFFF)).map(lambda t: t[0] + chr(t[1])),
    st.tuples(st.text(TEXT_CHARS, max_size=5), st.text(TEXT_CHARS, max_size=5)).map(
        lambda t: t[0] + "\x00" + t[1]
    ),
)


def deep(depth: int) -> Raw:
    """Arrays and objects nested `depth` deep (as text: quicker to build than to encode)."""
    half = depth // 2
    text = '{"d":[' * half + ("[0]" if depth % 2 else "0") + "]}" * half
    return Raw(text, refused=False, unreadable=depth > MAX_DEPTH)


def refused_values() -> st.SearchStrategy[Any]:
    """Values the strict reader refuses wherever they stand (the deep ones and the giant
    integers make the whole text unreadable)."""
    return st.one_of(
        REFUSED_NUMBERS,
        REFUSED_STRINGS,
        st.integers(MAX_DEPTH + 1, 300).map(deep),
    )


def encode(value: Any, *, ascii_only: bool = False, spaced: bool = False) -> str:
    """JSON text for a value that may hold Raw pieces and lone surrogates."""
    comma, colon = (", ", ": ") if spaced else (",", ":")
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, str):
        plain = ascii_only or any(0xD800 <= ord(c) <= 0xDFFF for c in value)
        return json.dumps(value, ensure_ascii=plain)
    if isinstance(value, dict):
        items = (
            encode(k, ascii_only=ascii_only) + colon + encode(v, ascii_only=ascii_only)
            for k, v in value.items()
        )
        return "{" + comma.join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + comma.join(encode(v, ascii_only=ascii_only) for v in value) + "]"
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("use Raw for non-finite numbers")
    return json.dumps(value)


def flags(value: Any) -> tuple[bool, bool]:
    """(refused, unreadable): whether the strict reader must refuse a value in it (NaN, a
    lone surrogate, ...), and whether it can read nothing of it (thousands of digits,
    nesting deeper than MAX_DEPTH)."""
    refused = unreadable = False
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, Raw):
            refused |= item.refused
            unreadable |= item.unreadable
        elif isinstance(item, str):
            refused |= "\x00" in item or any(0xD800 <= ord(c) <= 0xDFFF for c in item)
        elif isinstance(item, dict | list):
            unreadable |= depth >= MAX_DEPTH
            children = list(item.items()) if isinstance(item, dict) else [(None, v) for v in item]
            for key, inner in children:
                if key is not None:
                    stack.append((key, depth + 1))
                stack.append((inner, depth + 1))
    return refused, unreadable


class Schemas:
    """Strategies for one JSON schema document ($defs, or an OpenAPI document's components)."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            node: Any = self.document
            for part in schema["$ref"].removeprefix("#/").split("/"):
                node = node[part]
            schema = node
        return schema

    def alternatives(self, schema: dict[str, Any]) -> list[dict[str, Any]]:
        schema = self.resolve(schema)
        if "anyOf" in schema or "oneOf" in schema:
            out: list[dict[str, Any]] = []
            for s in schema.get("anyOf", []) + schema.get("oneOf", []):
                out += self.alternatives(s)
            return out
        return [schema]

    # --- values that fit ----------------------------------------------------------

    def valid(self, schema: dict[str, Any], depth: int = 0) -> st.SearchStrategy[Any]:
        return st.one_of([self._valid_one(s, depth) for s in self.alternatives(schema)])

    def _valid_one(self, s: dict[str, Any], depth: int) -> st.SearchStrategy[Any]:
        if "const" in s:
            return st.just(s["const"])
        if "enum" in s:
            return st.sampled_from(s["enum"])
        kind = s.get("type")
        if kind == "null":
            return st.none()
        if kind == "boolean":
            return st.booleans()
        if kind == "integer":
            return st.integers(s.get("minimum", -(2**63)), s.get("maximum", MAX_ID))
        if kind == "number":
            lo, hi = s.get("minimum"), s.get("maximum")
            return st.floats(lo, hi, allow_nan=False, allow_infinity=False)
        if kind == "string":
            if s.get("format") == "uuid":
                return st.uuids().map(str)
            if s.get("format") == "uri":
                return st.just("http://127.0.0.1:9/hook")
            if s.get("format") == "date-time":
                return st.datetimes().map(lambda d: d.isoformat())
            if "pattern" in s:
                return st.from_regex(s["pattern"], fullmatch=True)
            lo, hi = s.get("minLength", 0), min(s.get("maxLength", 40), 40)
            return st.text(TEXT_CHARS, min_size=lo, max_size=max(lo, hi))
        if kind == "array":
            items = self.valid(s.get("items", {}), depth + 1) if depth < 4 else st.none()
            lo, hi = s.get("minItems", 0), min(s.get("maxItems", 4), 4)
            return st.lists(items, min_size=lo, max_size=max(lo, hi))
        if kind == "object" or "properties" in s:
            props = s.get("properties", {})
            required = set(s.get("required", []))
            return st.fixed_dictionaries(
                {k: self.valid(v, depth + 1) for k, v in props.items() if k in required},
                optional={
                    k: self.valid(v, depth + 1) for k, v in props.items() if k not in required
                },
            )
        return json_values(depth)

    # --- values that cannot fit ---------------------------------------------------

    def wrong(self, schema: dict[str, Any], *, lax: bool = False) -> st.SearchStrategy[Any]:
        """A value this schema refuses for certain. `lax`: as pydantic's lax mode reads it
        (REST bodies), where "5" is a number, true is 1 and 1 is true; strict (frames) where
        they are not."""
        alts = self.alternatives(schema)
        types = {a.get("type") for a in alts}
        if any("const" in a or "enum" in a for a in alts):
            types.add("string")
        if any(a.get("type") is None and "const" not in a and "enum" not in a for a in alts):
            return st.nothing()  # it takes anything
        numeric = bool(types & {"number", "integer"})
        options: list[st.SearchStrategy[Any]] = []
        # A JSON type none of the alternatives takes.
        if "string" not in types:
            # Lax mode reads "5" as a number and "yes" as true: a leading x is neither.
            options.append(st.text(TEXT_CHARS, max_size=8).map(lambda t: "x" + t if lax else t))
        if not numeric:
            if lax:  # 0 and 1 are booleans there
                options.append(st.integers(2, 99) | st.floats(2.5, 1e300))
            else:
                options.append(
                    st.integers(-5, 5) | st.floats(allow_nan=False, allow_infinity=False)
                )
            options.append(REFUSED_NUMBERS)
        elif "number" not in types:  # integers only: a fraction is wrong
            options.append(st.floats(0.01, 0.99).map(lambda f: 7 + f))
        if "boolean" not in types and not (lax and numeric):
            options.append(st.booleans())
        if "array" not in types:
            options.append(st.lists(st.integers(), max_size=3))
        if "object" not in types:
            options.append(st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))
        if "null" not in types:
            options.append(st.none())
        for a in alts:
            options += self._out_of_bounds(a)
        return st.one_of(options)

    def wrong_text(self, schema: dict[str, Any]) -> st.SearchStrategy[str]:
        """A path or query parameter's text that this schema refuses for certain."""
        options: list[st.SearchStrategy[str]] = [
            st.tuples(st.text(TEXT_CHARS, max_size=4), st.text(TEXT_CHARS, max_size=4)).map(
                lambda t: t[0] + "\x00" + t[1]
            )
        ]
        for a in self.alternatives(schema):
            kind = a.get("type")
            if kind in ("integer", "number", "boolean") or a.get("format") == "date-time":
                options.append(st.text(TEXT_CHARS, max_size=8).map(lambda t: "x" + t))
            if kind == "integer":
                options.append(st.sampled_from(["7.5", "NaN", "1e400", "-0.5", "9" * 5000]))
                if "maximum" in a:
                    options.append(st.integers(a["maximum"] + 1, a["maximum"] + 10**40).map(str))
                if "minimum" in a:
                    options.append(st.integers(a["minimum"] - 10**40, a["minimum"] - 1).map(str))
            if kind == "boolean":
                options.append(st.sampled_from(["maybe", "2", "-1", "truee"]))
            if a.get("format") == "date-time":
                options.append(st.sampled_from(["2026-02-30T00:00:00", "9999-99-99", "nan"]))
            if "enum" in a:
                options.append(st.sampled_from(a["enum"]).map(lambda w: w.upper() + "!"))
        return st.one_of(options)

    def _out_of_bounds(self, s: dict[str, Any]) -> list[st.SearchStrategy[Any]]:
        out: list[st.SearchStrategy[Any]] = []
        kind = s.get("type")
        if kind == "integer":
            out.append(GIANT_INTEGERS)
            if "maximum" in s:
                out.append(st.integers(s["maximum"] + 1, s["maximum"] + 10**40))
            if "minimum" in s:
                out.append(st.integers(s["minimum"] - 10**40, s["minimum"] - 1))
        if kind == "number":
            out.append(REFUSED_NUMBERS)
            if "maximum" in s:
                out.append(st.floats(s["maximum"] + 1, 1e308))
            if "minimum" in s:
                out.append(st.floats(-1e308, s["minimum"] - 1))
        if kind == "string" or "enum" in s or "const" in s:
            out.append(REFUSED_STRINGS)
            if "maxLength" in s:
                n = s["maxLength"]
                out.append(st.tuples(st.integers(n + 1, n + 300), TEXT_CHARS).map(_repeat))
            if s.get("minLength", 0) > 0:
                out.append(st.just(""))
            if s.get("format") == "uuid":
                out.append(st.text(TEXT_CHARS, max_size=36).map(lambda t: "x" + t))
            if "enum" in s or "const" in s:
                words = s.get("enum") or [s["const"]]
                out.append(st.sampled_from(words).map(lambda w: w.upper() + "!"))
        return out


def _repeat(t: tuple[int, str]) -> str:
    return t[1] * t[0]


def json_values(depth: int = 0) -> st.SearchStrategy[Any]:
    """Any valid JSON value, shallow (what an unknown extra field may hold)."""
    scalars = (
        st.none()
        | st.booleans()
        | st.integers(-(10**30), 10**30)
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(TEXT_CHARS, max_size=12)
    )
    if depth >= 3:
        return scalars
    return st.recursive(
        scalars,
        lambda inner: (
            st.lists(inner, max_size=3)
            | st.dictionaries(st.text(TEXT_CHARS, max_size=4), inner, max_size=3)
        ),
        max_leaves=4,
    )


def quietly(fuzz: Callable[[], None]) -> None:
    """Run a @given test in a worker thread while the server's event loop goes on in the
    main one. The websocket keepalive pings there draw from the global `random`, which
    hypothesis takes for a strategy using it: a warning (an error under this suite's
    filters), whose text holds the strategy's repr, itself a warning when it is large. No
    strategy here uses `random`."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", "Do not use the `random` module", HypothesisDeprecationWarning
        )
        warnings.filterwarnings("ignore", "Generating overly large repr", HypothesisWarning)
        fuzz()
