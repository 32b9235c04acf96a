"""Pure media decisions (hypothesis): a Range header is read as one in-bounds range, ignored,
or a 416; a chunk is taken only where the stored bytes end and never past the size."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatch_server.domain.media import Refused, base_type, byte_range, check_chunk

SIZES = st.integers(1, 10**9)
NUMBERS = st.integers(0, 2 * 10**9).map(str)
HEADERS = st.one_of(
    st.none(),
    st.text(max_size=20),
    st.tuples(NUMBERS | st.just(""), NUMBERS | st.just("")).map(lambda t: f"bytes={t[0]}-{t[1]}"),
    st.tuples(NUMBERS, NUMBERS).map(lambda t: f"bytes={t[0]}-{t[1]},0-1"),
)


@given(HEADERS, SIZES)
def test_a_range_is_in_bounds_ignored_or_refused(header: str | None, size: int) -> None:
    try:
        got = byte_range(header, size)
    except Refused as exc:
        assert exc.status == 416 and str(size) in str(exc)
        return
    if got is not None:
        first, last = got
        assert 0 <= first <= last <= size - 1


@given(SIZES, st.integers(0, 10**6))
def test_the_usual_ranges(size: int, n: int) -> None:
    assert byte_range(f"bytes=0-{n}", size) == (0, min(n, size - 1))
    assert byte_range(f"bytes=-{n + 1}", size) == (max(0, size - n - 1), size - 1)
    assert byte_range("items=0-1", size) is None
    with pytest.raises(Refused):
        byte_range(f"bytes={size + n}-", size)


@given(st.integers(0, 10**6), st.integers(1, 10**6), st.integers(0, 10**6), st.integers(0, 10**6))
def test_a_chunk_lands_only_at_received_and_within_the_size(
    received: int, size: int, offset: int, length: int
) -> None:
    try:
        after = check_chunk(received, size, offset, length)
    except Refused as exc:
        assert exc.received == received
        assert (exc.status == 409 and offset != received) or (
            exc.status == 422 and offset + length > size
        )
        return
    assert offset == received and after == received + length <= size


def test_parameters_do_not_change_the_type() -> None:
    assert base_type("video/webm;codecs=vp8") == "video/webm"
    assert base_type(" Image/JPEG ") == "image/jpeg"
