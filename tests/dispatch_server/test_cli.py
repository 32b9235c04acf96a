"""The CLI's own pieces: the listening socket, and grid checking."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

from dispatch_server.cli import bind, main
from dispatch_server.settings import SAMPLE_GRIDS


async def test_accepted_sockets_have_nagle_off() -> None:
    """A small console frame must not wait for a delayed ACK (40 ms on Linux)."""
    sock = bind("127.0.0.1", 0)
    seen: list[int] = []

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(
            writer.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        )
        writer.close()

    server = await asyncio.start_server(on_connect, sock=sock)
    async with server:
        _, w = await asyncio.open_connection(*sock.getsockname()[:2])
        while not seen:
            await asyncio.sleep(0.01)
        w.close()
    assert seen == [1]


def test_check_grids(capsys: object, tmp_path: Path) -> None:
    assert main(["check-grids", str(SAMPLE_GRIDS)]) == 0
    broken = tmp_path / "broken.geojson"
    broken.write_text('{"type": "FeatureCollection", "features": []}')
    assert main(["check-grids", str(broken)]) == 2
