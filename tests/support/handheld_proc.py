"""A handheld as its own process, for tests that SIGKILL it: it presses the alarm key
`--alarms` times, `--every` seconds apart, while its client runs, and never exits by itself."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from patrol_client.client import PatrolClient
from patrol_client.connection import Backoff
from patrol_client.outbox import Outbox


async def main(args: argparse.Namespace) -> None:
    client = PatrolClient(
        args.server, args.token, Outbox(Path(args.outbox)), backoff=Backoff(0.05, 0.2)
    )
    runner = asyncio.create_task(client.run())
    for _ in range(args.alarms):
        await client.alarm("other")
        await asyncio.sleep(args.every)
    await runner


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--outbox", required=True)
    parser.add_argument("--alarms", type=int, default=0)
    parser.add_argument("--every", type=float, default=0.01)
    asyncio.run(main(parser.parse_args()))
