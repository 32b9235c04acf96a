"""Real websocket and HTTP clients for tests: what a handheld or a console does, no mocks."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import websockets
from websockets.asyncio.client import ClientConnection

TIMEOUT = 10.0


@dataclass
class Handheld:
    """A patrol member's handheld over a real websocket."""

    url: str
    token: str
    ws: ClientConnection | None = None
    welcome: dict[str, Any] = field(default_factory=dict)
    inbox: list[dict[str, Any]] = field(default_factory=list)

    async def connect(self) -> Handheld:
        self.ws = await websockets.connect(
            self.url, open_timeout=TIMEOUT, close_timeout=1, max_size=2**20
        )
        await self.send({"type": "hello", "token": self.token})
        self.welcome = await self.expect("welcome")
        return self

    async def send(self, frame: dict[str, Any] | str) -> None:
        assert self.ws is not None
        await self.ws.send(frame if isinstance(frame, str) else json.dumps(frame))

    async def recv(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        assert self.ws is not None
        frame: dict[str, Any] = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
        return frame

    async def expect(self, kind: str, timeout: float = TIMEOUT, **match: Any) -> dict[str, Any]:
        """The next frame of this type (and fields), keeping the others for later looks."""
        for i, frame in enumerate(self.inbox):
            if frame["type"] == kind and all(frame.get(k) == v for k, v in match.items()):
                return self.inbox.pop(i)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            frame = await self.recv(max(0.01, deadline - loop.time()))
            if frame["type"] == kind and all(frame.get(k) == v for k, v in match.items()):
                return frame
            self.inbox.append(frame)

    async def start_shift(self, lon: float | None = None, lat: float | None = None) -> None:
        await self.send({"type": "shift_start"})
        await self.expect("shift", on_shift=True)
        if lon is not None:
            await self.send({"type": "position", "lon": lon, "lat": lat, "accuracy_m": 5.0})

    async def alarm(self, alert_id: str | None = None, **fields: Any) -> dict[str, Any]:
        alert_id = alert_id or str(uuid.uuid4())
        await self.send({"type": "alert", "alert_id": alert_id, **fields})
        return await self.expect("alert_accepted", alert_id=alert_id)

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()


@dataclass
class Console:
    url: str
    token: str
    ws: ClientConnection | None = None
    welcome: dict[str, Any] = field(default_factory=dict)

    async def connect(self, since: int | None = None) -> Console:
        self.ws = await websockets.connect(
            self.url, open_timeout=TIMEOUT, close_timeout=1, max_size=2**22
        )
        hello: dict[str, Any] = {"type": "hello", "token": self.token}
        if since is not None:
            hello["since"] = since
        await self.ws.send(json.dumps(hello))
        self.welcome = json.loads(await asyncio.wait_for(self.ws.recv(), TIMEOUT))
        assert self.welcome["type"] == "welcome", self.welcome
        return self

    async def event(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        assert self.ws is not None
        frame: dict[str, Any] = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
        return frame

    async def events_until(self, done: Any, timeout: float = TIMEOUT) -> list[dict[str, Any]]:
        """Collect events until `done(collected)` is true."""
        got: list[dict[str, Any]] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not done(got):
            got.append(await self.event(max(0.01, deadline - loop.time())))
        return got

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()


@dataclass
class Api:
    """The admin and dispatcher REST API of one running server."""

    base: str
    admin_token: str

    def client(self, token: str | None = None) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.AsyncClient(base_url=self.base, headers=headers, timeout=TIMEOUT)

    async def post(self, path: str, body: dict[str, Any], token: str | None = None) -> Any:
        async with self.client(token or self.admin_token) as c:
            r = await c.post(path, json=body)
        r.raise_for_status()
        return r.json()

    async def get(self, path: str, token: str | None = None, **params: Any) -> Any:
        async with self.client(token or self.admin_token) as c:
            r = await c.get(path, params=params)
        r.raise_for_status()
        return r.json()

    async def member(
        self, name: str, grid_id: str, skills: list[str] | None = None
    ) -> dict[str, Any]:
        body = {"name": name, "grid_id": grid_id, "skills": skills or []}
        result: dict[str, Any] = await self.post("/api/members", body)
        return result

    async def dispatcher(self, name: str = "duty") -> dict[str, Any]:
        result: dict[str, Any] = await self.post("/api/dispatchers", {"name": name})
        return result
