"""Getting and keeping a link: connect, hello, and when to try again.

`websockets.connect` tries once; every retry is the client's business. Closes
4401 and 4403 mean the token is wrong: trying again cannot help, so they stop
the client with a clear message. Everything else (a refused or reset TCP
connection, a server that dies in the middle of the handshake or answers 503,
a timeout, a welcome that is not one) is worth another try.
"""

from __future__ import annotations

import asyncio
import json
import random
from dataclasses import dataclass, field

import websockets
from pydantic import ValidationError
from websockets.asyncio.client import ClientConnection

from dispatch_server.protocol.codes import CloseCode
from dispatch_server.protocol.frames import Welcome
from patrol_client.core import parse

OPEN_TIMEOUT_S = 10.0
HELLO_TIMEOUT_S = 10.0
STOPPING_CODES = {
    CloseCode.UNAUTHORIZED: "the token was refused",
    CloseCode.FORBIDDEN: "not a patrol token",
}


class Refused(Exception):
    """The server will not take this handheld: wrong or revoked token. Do not retry."""

    def __init__(self, code: int, reason: str) -> None:
        self.code = code
        self.reason = reason
        what = STOPPING_CODES.get(CloseCode(code), "refused")
        super().__init__(
            f"server closed the link with {code} ({what}): {reason or 'no reason given'}"
        )


def patrol_url(server: str) -> str:
    """Accept http(s):// or ws(s):// base URLs, with or without the /ws/patrol path."""
    url = server.rstrip("/")
    for http, ws in (("https://", "wss://"), ("http://", "ws://")):
        if url.startswith(http):
            url = ws + url[len(http) :]
    if not url.startswith(("ws://", "wss://")):
        url = "ws://" + url
    return url if url.endswith("/ws/patrol") else url + "/ws/patrol"


@dataclass
class Backoff:
    """Jittered exponential backoff ("full jitter"). A link must stay up `stable_s` before the
    delay resets, so a flapping link backs off instead of hammering the server."""

    initial_s: float = 0.5
    maximum_s: float = 30.0
    stable_s: float = 10.0
    rng: random.Random = field(default_factory=random.Random)
    attempt: int = 0

    def next_delay(self) -> float:
        ceiling = min(self.maximum_s, self.initial_s * 2**self.attempt)
        self.attempt += 1
        return self.rng.uniform(ceiling / 2, ceiling)

    def link_lasted(self, seconds: float) -> None:
        if seconds >= self.stable_s:
            self.attempt = 0


async def open_link(url: str, token: str) -> tuple[ClientConnection, Welcome]:
    """Connect and say hello. Raises Refused for a bad token; anything else that goes wrong
    (the handshake, the hello, a welcome that is not one) raises something else, and the
    socket is closed before it propagates."""
    ws = await websockets.connect(url, open_timeout=OPEN_TIMEOUT_S, close_timeout=2, max_size=2**20)
    try:
        await ws.send(json.dumps({"type": "hello", "token": token}))
        async with asyncio.timeout(HELLO_TIMEOUT_S):
            raw = await ws.recv()
        try:
            welcome = parse(raw)  # not JSON at all raises JSONDecodeError
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            where = ".".join(str(p) for p in first["loc"]) or "frame"
            raise ConnectionError(
                f"expected welcome, got a bad frame ({where}: {first['msg']})"
            ) from None
        if not isinstance(welcome, Welcome):
            raise ConnectionError(f"expected welcome, got {welcome.type}")
    except websockets.ConnectionClosed as exc:
        await ws.close()
        if exc.rcvd is not None and exc.rcvd.code in STOPPING_CODES:
            raise Refused(exc.rcvd.code, exc.rcvd.reason) from None
        raise
    except BaseException:
        await ws.close()
        raise
    return ws, welcome
