"""`patrol-client`: the handheld in a terminal (`run`), one alarm from a script (`alarm`),
and a fleet of simulated patrols (`simulate`)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import locale
import os
import sys
from pathlib import Path

from patrol_client.categories import CATEGORIES
from patrol_client.client import PatrolClient
from patrol_client.connection import Refused
from patrol_client.fleet import FleetOptions, run_fleet, tokens_for
from patrol_client.outbox import NOT_YET_ACCEPTED, AlarmState, Outbox
from patrol_client.position import FixedPoint, PositionSource, SimulatedWalk, TrackReplay

EXIT_ACCEPTED, EXIT_REFUSED, EXIT_QUEUED = 0, 2, 3
# `alert_accepted` with `unattended: true`: accepted, but no one is at a duty console.
UNATTENDED = (
    "unattended: no duty console was open, so the alarm went straight to escalation "
    "(security partners); call out to people near you too"
)


def default_outbox(token: str) -> Path:
    """One outbox per member, where `run` and `alarm` both find it."""
    state = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    key = hashlib.sha256(token.encode()).hexdigest()[:12]
    return state / "patrol-client" / f"outbox-{key}.sqlite3"


def position_source(spec: str | None) -> PositionSource | None:
    """`sim` (a walk in the member's grid), `fixed:LON,LAT`, `track:FILE` (GeoJSON/CSV), `none`."""
    if spec in (None, "none"):
        return None
    if spec == "sim":
        return SimulatedWalk()
    kind, _, arg = spec.partition(":")
    if kind == "fixed":
        lon, lat = (float(x) for x in arg.split(","))
        return FixedPoint(lon, lat)
    if kind == "track":
        return TrackReplay.from_file(Path(arg))
    raise SystemExit(f"unknown --position {spec!r}: use sim, fixed:LON,LAT, track:FILE or none")


def guess_lang() -> str:
    lang = os.environ.get("LANG") or (locale.getlocale()[0] or "")
    return "zh" if lang.lower().startswith("zh") else "en"


def cmd_run(args: argparse.Namespace) -> int:
    from patrol_client.tui import HandheldApp  # Textual only where a screen is wanted

    outbox = Outbox(Path(args.outbox) if args.outbox else default_outbox(args.token))
    client = PatrolClient(args.server, args.token, outbox, position_source(args.position))
    app = HandheldApp(client, args.lang or guess_lang())
    app.run()
    if client.view.stopped_because:
        print(client.view.stopped_because, file=sys.stderr)
        return EXIT_REFUSED
    return 0


async def raise_one(args: argparse.Namespace) -> int:
    outbox = Outbox(Path(args.outbox) if args.outbox else default_outbox(args.token))
    fix: PositionSource | None = FixedPoint(args.lon, args.lat) if args.lon is not None else None
    done = asyncio.Event()
    client = PatrolClient(args.server, args.token, outbox, fix, on_change=done.set)
    alarm = await client.alarm(args.category, args.note)
    print(f"alarm {alarm.alert_id} saved in {outbox.path}", flush=True)
    runner = asyncio.create_task(client.run())
    try:
        async with asyncio.timeout(args.timeout):
            while True:
                await done.wait()
                done.clear()
                now = outbox.get(alarm.alert_id)
                if now is not None and now.state is AlarmState.REJECTED:
                    print(f"refused by the centre: {now.detail}", file=sys.stderr)
                    return EXIT_REFUSED
                if now is not None and now.state not in NOT_YET_ACCEPTED:
                    print(f"accepted: incident {now.incident_id}", flush=True)
                    if now.detail == "unattended":
                        print(UNATTENDED, flush=True)
                    return EXIT_ACCEPTED
                if runner.done():
                    break
    except TimeoutError:
        pass
    finally:
        client.stop()
        with contextlib.suppress(Refused):
            await runner
        outbox.close()
    if client.view.stopped_because:
        print(client.view.stopped_because, file=sys.stderr)
        return EXIT_REFUSED
    print(
        f"not confirmed within {args.timeout:g} s: the alarm stays queued in {outbox.path} "
        "and is sent by the next `patrol-client run` or `patrol-client alarm`",
        file=sys.stderr,
    )
    return EXIT_QUEUED


def cmd_simulate(args: argparse.Namespace) -> int:
    outbox_dir = Path(args.outbox_dir)
    tokens = tokens_for(args.server, args.admin_token, args.members, outbox_dir / "tokens.json")
    options = FleetOptions(
        alarm_every_s=args.alarm_every,
        accept_rate=args.accept_rate,
        position_every_s=args.position_every,
        seed=args.seed,
    )
    print(f"{len(tokens)} simulated patrols against {args.server}; Ctrl-C stops them", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_fleet(args.server, tokens, outbox_dir, options))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="patrol-client", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--server", default="http://127.0.0.1:8000", help="the dispatch server")
        p.add_argument("--token", required=True, help="this member's token")
        p.add_argument("--outbox", help="outbox file (default: one per token under ~/.local/state)")

    run = sub.add_parser("run", help="the interactive handheld")
    common(run)
    run.add_argument("--lang", choices=["zh", "en"], help="default: from the locale")
    run.add_argument("--position", default="sim", help="sim | fixed:LON,LAT | track:FILE | none")
    run.set_defaults(func=cmd_run)

    alarm = sub.add_parser("alarm", help="raise one alarm and wait for the centre to accept it")
    common(alarm)
    alarm.add_argument(
        "--category",
        default="unknown",
        choices=CATEGORIES,
        metavar="CATEGORY",
        help="what the alarm is about: %(choices)s (default: %(default)s)",
    )
    alarm.add_argument("--note")
    alarm.add_argument("--lon", type=float)
    alarm.add_argument("--lat", type=float)
    alarm.add_argument("--timeout", type=float, default=10.0)
    alarm.set_defaults(func=lambda a: asyncio.run(raise_one(a)))

    sim = sub.add_parser(
        "simulate", help="run simulated patrols (registers them with --admin-token)"
    )
    sim.add_argument("--server", default="http://127.0.0.1:8000")
    sim.add_argument("--admin-token", required=True)
    sim.add_argument("--members", type=int, default=30)
    sim.add_argument("--outbox-dir", default="data/fleet")
    sim.add_argument(
        "--alarm-every", type=float, default=600.0, help="mean s between alarms per member"
    )
    sim.add_argument("--accept-rate", type=float, default=0.7)
    sim.add_argument("--position-every", type=float, default=5.0)
    sim.add_argument("--seed", type=int)
    sim.set_defaults(func=cmd_simulate)

    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
