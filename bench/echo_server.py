"""The floor for `alarm_latency.py`: a bare `websockets` echo server, nothing else.

Run as a child process (alarm_latency.py pins it to one CPU before it starts):
it listens on 127.0.0.1 on a port the OS picks, prints `PORT <n>` once it is
listening, and echoes every frame back until SIGTERM or SIGINT. No compression
(alarm frames are small; PERFORMANCE-FACTS), as on the dispatch server's sockets.

    python bench/echo_server.py
"""

from __future__ import annotations

import asyncio
import signal

from websockets.asyncio.server import ServerConnection, serve

MAX_FRAME = 64 * 1024  # the dispatch server's max_frame_bytes


async def echo(ws: ServerConnection) -> None:
    async for message in ws:
        await ws.send(message)


async def run() -> None:
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set_result, None)
    async with serve(echo, "127.0.0.1", 0, compression=None, max_size=MAX_FRAME) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        print(f"PORT {port}", flush=True)
        await stop


if __name__ == "__main__":
    asyncio.run(run())
