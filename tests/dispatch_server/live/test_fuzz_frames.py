"""Fuzzing the three sockets as a property, over real websockets to a real server.

Frames of every type are generated from the protocol models' JSON schemas
(dispatch_server/protocol/frames.py), then broken on purpose: a field of the wrong type
or out of range (huge and negative integers, NaN, Infinity, 1e400, thousands of digits),
a required field missing, an unknown or non-string `type`, an extra field the reader
must refuse (a lone surrogate, U+0000, nesting deeper than 32), something that is not an
object, broken JSON, deep nesting, a binary frame; dressed up with valid oddities
(unknown extra fields, right-to-left marks, emoji, noncharacters, key order, spacing).
Each batch goes to /ws/patrol, /ws/console and /ws/partner after a valid hello.

The property: every frame gets exactly one `error` frame, in order, with the code (and
`ref_type`) that docs/protocol.md gives for that fault; a frame over 64 KiB or a text
frame that is not UTF-8 gets its close code (1009, 1007) instead; each socket still
answers a valid frame after every batch; and nothing is written: the database is the
same after every batch, and the feeds still carry the next real alarm at the end.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
import websockets
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from dispatch_server.protocol.frames import PATROL_FRAMES
from tests.support.fuzz import (
    TEXT_CHARS,
    Schemas,
    encode,
    flags,
    json_values,
    quietly,
    refused_values,
)
from tests.support.servers import Running
from tests.support.snapshot import Snapshots

T = TypeVar("T")

DOCUMENT = PATROL_FRAMES.json_schema()
SCHEMAS = Schemas(DOCUMENT)
BY_TYPE = {
    kind: SCHEMAS.resolve({"$ref": ref})
    for kind, ref in DOCUMENT["discriminator"]["mapping"].items()
}
PATROL_TYPES = set(BY_TYPE)
FIELDS = {
    kind: {k: v for k, v in schema["properties"].items() if k != "type"}
    for kind, schema in BY_TYPE.items()
}
REQUIRED = {
    kind: [k for k in schema.get("required", []) if k != "type"] for kind, schema in BY_TYPE.items()
}
# Built once: a strategy made inside a draw costs far more than drawing from it.
VALID = {kind: SCHEMAS.valid(schema) for kind, schema in BY_TYPE.items()}
WRONG = {(kind, k): SCHEMAS.wrong(v) for kind, fields in FIELDS.items() for k, v in fields.items()}
SOCKETS = ("patrol", "console", "partner")

BATCH = 60  # cases per example; each goes to all three sockets, most in four writings
FRAMES_WANTED = 100_000
EXAMPLES = math.ceil(FRAMES_WANTED / (BATCH * len(SOCKETS) * 3.3))
MISSING = object()


@dataclass(frozen=True)
class Case:
    # One fault, written up to four ways (raw UTF-8 or escaped ASCII, compact or spaced);
    # bytes: binary frames.
    payloads: tuple[str | bytes, ...]
    shape: str  # binary | broken | nonobject | object | valid
    type_: Any = MISSING  # the object's `type`, if it has one
    refused: bool = False  # holds something the strict reader refuses
    unreadable: bool = False  # nothing of it can be read (a number of thousands of digits)


def _plain(s: object) -> bool:
    """docs/protocol.md: ref_type is there when the type is short printable ASCII."""
    return isinstance(s, str) and len(s) <= 64 and s.isascii() and s.isprintable()


def expected(case: Case, socket: str) -> tuple[str, str | None]:
    """The error code and ref_type docs/protocol.md gives for this fault on this socket."""
    if case.shape == "binary":
        return "binary_frame", None
    if case.shape == "broken" or case.unreadable:
        return "bad_json", None
    if case.shape == "nonobject":
        return ("bad_json" if case.refused else "invalid_frame"), None
    kind = case.type_
    if not isinstance(kind, str):
        return "invalid_frame", None
    ref = kind if _plain(kind) else None
    if case.refused:
        return "invalid_frame", ref
    if socket == "patrol":
        # Every frame reaching here was broken on purpose (or is a second hello).
        return ("invalid_frame" if kind in PATROL_TYPES else "unknown_type"), ref
    return ("invalid_frame" if kind == "hello" else "unknown_type"), ref


KINDS = [
    "wrong_value",
    "wrong_value",
    "wrong_value",
    "missing_field",
    "extra_refused",
    "type_unknown",
    "type_nonstring",
    "type_missing",
    "second_hello",
    "nonobject",
    "broken",
    "broken",
    "deep",
    "binary",
    "valid",  # a valid frame of any type: for the console and partner sockets only
]
UNKNOWN_TYPES = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=80
) | st.text(TEXT_CHARS, max_size=8)
REFUSED = refused_values()
DRESSING = st.lists(st.tuples(st.text(TEXT_CHARS, max_size=6), json_values()), max_size=2)
OTHER_JSON = (
    st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.booleans() | st.none()
)


def writings(value: Any) -> tuple[str, ...]:
    return tuple(
        encode(value, ascii_only=a, spaced=sp) for a in (False, True) for sp in (False, True)
    )


@st.composite
def cases(draw: st.DrawFn) -> Case:
    kind = draw(st.sampled_from(KINDS))
    ftype = "hello" if kind == "second_hello" else draw(st.sampled_from(sorted(BY_TYPE)))
    frame: dict[str, Any] = dict(draw(VALID[ftype]))
    fields, required = sorted(FIELDS[ftype]), REQUIRED[ftype]
    # Valid dressing, which changes nothing: unknown fields. It goes on before the fault, so
    # the fault is never overwritten (an extra field "x_" refused, then dressed as "x_": [],
    # once made a valid alarm that the test expected to be refused).
    for key, value in draw(DRESSING):
        frame["x_" + key] = value
    if kind == "wrong_value" and fields:
        name = draw(st.sampled_from(fields))
        frame[name] = draw(WRONG[ftype, name])
    elif kind == "missing_field" and required:
        del frame[draw(st.sampled_from(required))]
    elif kind == "type_unknown":
        frame["type"] = draw(UNKNOWN_TYPES.filter(lambda t: t not in PATROL_TYPES))
    elif kind == "type_nonstring":
        frame["type"] = draw(OTHER_JSON | st.lists(st.just(ftype), max_size=2))
    elif kind == "type_missing":
        del frame["type"]
    elif kind not in ("second_hello", "valid"):  # extra_refused, and the fallbacks
        frame["x" + draw(st.text(TEXT_CHARS, max_size=6))] = draw(REFUSED)
    if draw(st.booleans()) and "type" in frame:
        frame["type"] = frame.pop("type")  # last, not first
    # Four writings of each: raw UTF-8 or escaped ASCII, compact or spaced.
    texts = writings(frame)
    refused, unreadable = flags(frame)
    if kind == "broken":
        how = draw(st.sampled_from(["truncate", "append", "bracket", "comma"]))
        if how == "truncate":
            cut = draw(st.floats(0, 1, exclude_max=True))
            texts = tuple(t[: int(cut * len(t))] for t in texts)
        elif how == "append":
            garbage = draw(st.sampled_from(list('x}],:{["0-/\x00')))
            texts = tuple(t + garbage for t in texts)
        elif how == "bracket":
            texts = tuple("[" + t[1:] for t in texts)
        else:
            texts = tuple(t[:-1] + ",}" for t in texts)
        return Case(texts, "broken")
    if kind == "nonobject":
        value = draw(
            st.lists(st.just(frame), min_size=1, max_size=2)
            | OTHER_JSON
            | st.text(TEXT_CHARS, max_size=20)
            | st.lists(REFUSED, min_size=1, max_size=2)
        )
        return Case(writings(value), "nonobject", MISSING, *flags(value))
    if kind == "deep":
        depth = draw(st.integers(33, 30_000))
        return Case(("[" * depth + ("]" * depth if draw(st.booleans()) else ""),), "broken")
    if kind == "binary":
        payload = draw(st.binary(max_size=40) | st.just(texts[1].encode()))
        return Case((payload,), "binary")
    if kind == "valid":
        assert not refused and not unreadable
        return Case(texts, "valid", ftype)
    return Case(texts, "object", frame.get("type", MISSING), refused, unreadable)


@dataclass
class Peer:
    socket: str
    ws: ClientConnection
    frames: int = 0

    async def exchange(self, batch: list[Case]) -> None:
        sent = [
            (case, payload)
            for case in batch
            if case.shape != "valid" or self.socket != "patrol"  # it would be taken
            for payload in case.payloads
        ]
        for _, payload in sent:
            await self.ws.send(payload)
        for case, payload in sent:
            answer = json.loads(await asyncio.wait_for(self.ws.recv(), 10))
            code, ref = expected(case, self.socket)
            assert answer["type"] == "error", (self.socket, payload, case, answer)
            got = (answer["code"], answer.get("ref_type"))
            assert got == (code, ref), (self.socket, payload, case, answer)
            assert answer["message"]
        self.frames += len(sent)

    async def still_answers(self) -> None:
        """A valid frame gets its answer: a handheld repeating its shift state (which writes
        nothing), a console or partner saying hello again."""
        if self.socket == "patrol":
            await self.ws.send('{"type":"shift_end"}')
            assert json.loads(await asyncio.wait_for(self.ws.recv(), 10)) == {
                "type": "shift",
                "on_shift": False,
            }
        else:
            await self.ws.send('{"type":"hello","token":"t"}')
            answer = json.loads(await asyncio.wait_for(self.ws.recv(), 10))
            assert answer["message"] == "already said hello"


async def _open(server: Running, socket: str, token: str) -> ClientConnection:
    url = f"ws://{server.host}:{server.port}/ws/{socket}"
    ws = await websockets.connect(url, max_size=2**20, close_timeout=1)
    await ws.send(json.dumps({"type": "hello", "token": token}))
    assert json.loads(await ws.recv())["type"] == "welcome"
    return ws


async def _closes(server: Running, socket: str, token: str, payload: bytes, code: int) -> None:
    """A frame over the limit (1009) or a text frame that is not UTF-8 (1007): the socket
    is closed with that code."""
    ws = await _open(server, socket, token)
    try:
        await ws.send(payload, text=True)
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 10)
        assert ws.close_code == code, (socket, ws.close_code, ws.close_reason)
    finally:
        await ws.close()


async def test_mutated_frames_get_errors_and_write_nothing(
    server: Running, database_url: str
) -> None:
    member = await server.api.member("fuzz", "G01")
    duty = await server.api.dispatcher()
    partner = await server.api.post("/api/partners", {"name": "hotel", "grids": ["G01"]})
    tokens = {"patrol": member["token"], "console": duty["token"], "partner": partner["token"]}
    peers = [Peer(s, await _open(server, s, tokens[s])) for s in SOCKETS]
    snapshots = Snapshots(database_url)
    before = snapshots.take(digest=True)
    loop = asyncio.get_running_loop()
    closers = 0

    def run(coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, loop).result(60)

    async def one_batch(batch: list[Case], closer: int) -> None:
        nonlocal closers
        await asyncio.gather(*(p.exchange(batch) for p in peers))
        await asyncio.gather(*(p.still_answers() for p in peers))
        if closer < 6:  # now and then, on a socket of its own
            socket = SOCKETS[closer % 3]
            if closer < 3:
                big = json.dumps({"type": "alert", "note": "x" * (64 * 1024)}).encode()
                await _closes(server, socket, tokens[socket], big, 1009)
            else:
                await _closes(server, socket, tokens[socket], b'{"type":"\xff"}', 1007)
            closers += 1

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        # No shrinking: each step would replay frames against the server for minutes; the
        # failing assertion names the frame and the answer.
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(st.lists(cases(), min_size=BATCH, max_size=BATCH), st.integers(0, 60))
    def fuzz(batch: list[Case], closer: int) -> None:
        run(one_batch(batch, closer))
        now = snapshots.take()
        assert (now.last_seq, now.rows) == (before.last_seq, before.rows)

    try:
        await asyncio.to_thread(quietly, fuzz)
        sent = sum(p.frames for p in peers) + closers
        assert sent >= FRAMES_WANTED, sent
        assert snapshots.take(digest=True) == before
        # The feeds still carry what happens next: a fire, escalated to the partner at once.
        h = await server.handheld(member["token"]).connect()
        incident_id = (await h.alarm(category="fire"))["incident_id"]
        for peer, wanted in zip(peers[1:], ("incident_opened", "incident_escalated"), strict=True):
            while True:
                frame = json.loads(await asyncio.wait_for(peer.ws.recv(), 10))
                if frame["type"] == wanted:
                    assert frame["incident_id"] == incident_id
                    break
    finally:
        for p in peers:
            await p.ws.close()
        snapshots.close()
    print(f"sent {sent} mutated frames ({closers} closing ones)")
