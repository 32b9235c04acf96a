"""The one JSON reader for frames and REST bodies: what it refuses, and what it still reads."""

from __future__ import annotations

import pytest

from dispatch_server.protocol.strict_json import MAX_DEPTH, NotJson, loads


def test_reads_plain_json() -> None:
    assert loads(b'{"a": [1, 2.5, "\\u4e2d", null, true]}') == {"a": [1, 2.5, "中", None, True]}
    assert loads("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None
    assert loads('"\\ud83d\\ude00"') == "😀"  # a surrogate pair is one character, not two


@pytest.mark.parametrize(
    ("text", "words", "value"),
    [
        (b"\xff", "not UTF-8: byte 0xff at offset 0", None),
        (b'"\xed\xa0\x80"', "not UTF-8", None),
        ('{"x": NaN}', "NaN is not a JSON number", {"x": None}),
        ('{"x": -Infinity}', "-Infinity is not a JSON number", {"x": None}),
        ('{"x": 1e400}', "the number 1e400 is out of range", {"x": None}),
        ('{"x": "\\udc00"}', "lone surrogate (\\udc00)", {"x": "\udc00"}),
        ('{"\\ud800": 1}', "lone surrogate (\\ud800)", {"\ud800": 1}),
        ('{"x": "\\u0000"}', "U+0000", {"x": "\x00"}),
        ("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), "nested deeper than 32", None),
        ('{"x": "\\u0000", "y": ' + "[" * 40 + "]" * 40 + "}", "nested deeper than 32", None),
        ("[" * 100_000, "nested deeper than 32", None),
        ("9" * 5000, "out of range", None),
        ('{"x": 1', "Expecting ',' delimiter (line 1 column 8)", None),
        ("\ufeff{}", "BOM", None),
        ("", "Expecting value", None),
    ],
)
def test_refuses(text: str | bytes, words: str, value: object) -> None:
    with pytest.raises(NotJson) as caught:
        loads(text)
    assert words in str(caught.value)
    assert caught.value.value == value
