"""`dispatch-server`: migrate the database, serve, check a grid file before deploying it,
print member cards, and back up and restore the embedded database."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import secrets
import socket
import ssl
import sys
import tempfile
from pathlib import Path

import uvicorn
from alembic.util import CommandError
from fastapi import FastAPI
from sqlalchemy.exc import DBAPIError
from uvicorn.config import LOGGING_CONFIG

from dispatch_server import structured_logs
from dispatch_server.app import create_app
from dispatch_server.cards import command as cards_command
from dispatch_server.geo.grids import GridLoadError, load_grids
from dispatch_server.geo.index import GridIndex
from dispatch_server.services import grid_sets
from dispatch_server.settings import Settings
from dispatch_server.store import backup_command, inuse
from dispatch_server.store.engine import create_database, sqlite_file
from dispatch_server.store.schema import (
    NotMigrated,
    SchemaNotCurrent,
    check_current,
    missing_sqlite_file,
    shown,
    upgrade,
)
from patrol_client.fleet import FleetOptions, register_members, run_fleet


def uvicorn_config(app: FastAPI, settings: Settings) -> uvicorn.Config:
    """The socket settings that matter (PERFORMANCE-FACTS): the sans-I/O websockets
    implementation, no per-message deflate (alarm frames are small; deflate costs
    memory per connection), and a frame limit of what a frame can legitimately be.
    With a certificate and key in the settings, TLS (https and wss) on the same socket."""
    tls = settings.tls_certfile is not None and settings.tls_keyfile is not None
    return uvicorn.Config(
        app,
        ws="websockets-sansio",
        ws_max_size=settings.max_frame_bytes,
        ws_per_message_deflate=False,
        ws_ping_interval=20.0,
        ws_ping_timeout=20.0,
        lifespan="on",
        log_level="warning",
        # JSON logs: uvicorn's own loggers go through the root's JSON handler too.
        log_config=None if settings.log_format == "json" else LOGGING_CONFIG,
        timeout_graceful_shutdown=5,
        ssl_certfile=settings.tls_certfile if tls else None,
        ssl_keyfile=settings.tls_keyfile if tls else None,
    )


def tls_problem(certfile: Path | None, keyfile: Path | None) -> str | None:
    """Why this certificate and key cannot serve TLS, or None if they can (or neither is
    given): both or neither, files that exist and can be read, a key that matches."""
    if certfile is None and keyfile is None:
        return None
    if certfile is None or keyfile is None:
        return "TLS needs both a certificate and its key (--certfile and --keyfile)"
    for what, path in (("certificate", certfile), ("key", keyfile)):
        try:
            path.read_bytes()
        except OSError as exc:
            return f"cannot read the TLS {what} {path}: {exc.strerror or exc}"
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(certfile, keyfile)
    except (ssl.SSLError, ValueError) as exc:
        return f"the TLS certificate {certfile} and key {keyfile} do not work together: {exc}"
    return None


def bind(host: str, port: int) -> socket.socket:
    """Bind ourselves so `--port 0` works and we can print the port the OS chose."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY on accepted sockets only when the listening
    # socket says it is TCP; without it a small console frame can wait 40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return sock


def serve(args: argparse.Namespace) -> int:
    settings = Settings()
    structured_logs.configure(settings.log_format)
    if args.grids:
        settings = settings.model_copy(update={"grids": Path(args.grids)})
    if args.certfile or args.keyfile:  # the command line's pair replaces the settings' pair
        certfile = Path(args.certfile) if args.certfile else None
        keyfile = Path(args.keyfile) if args.keyfile else None
        settings = settings.model_copy(update={"tls_certfile": certfile, "tls_keyfile": keyfile})
    if (problem := tls_problem(settings.tls_certfile, settings.tls_keyfile)) is not None:
        print(f"dispatch-server: refusing to start: {problem}", file=sys.stderr)
        return 2
    try:
        if (fresh := missing_sqlite_file(settings.database_url)) is not None:
            # Refused before a database file is made; a new one has no applied grid set.
            GridIndex(load_grids(settings.grids), settings.grid_overlap_tolerance_m2)
            made = upgrade(settings.database_url)
            print(f"Database: created {fresh} at schema {made.after}", flush=True)
        check_current(settings.database_url)
        # The newest applied grid set, else the file (decision 45): what `Grids:` says.
        grids_source = grid_sets.choose_grids_at(settings).source
        if (database := sqlite_file(settings.database_url)) is not None:
            with inuse.serving(database):  # a restore under way: say so before listening
                pass
    except (GridLoadError, SchemaNotCurrent, NotMigrated, CommandError, inuse.DatabaseInUse) as exc:
        print(f"dispatch-server: refusing to start: {exc}", file=sys.stderr)
        return 2
    except DBAPIError as exc:
        return _unreachable(settings.database_url, exc)
    if settings.admin_token is None:
        token = secrets.token_urlsafe(24)
        settings = settings.model_copy(update={"admin_token": token})
        print(f"Admin token (set DISPATCH_ADMIN_TOKEN to keep one): {token}", flush=True)
    sock = bind(args.host, args.port)
    host, port = sock.getsockname()[:2]
    host_shown = f"[{host}]" if ":" in host else host
    scheme = "https" if settings.tls_certfile is not None else "http"
    base = f"{scheme}://{host_shown}:{port}"
    server = uvicorn.Server(uvicorn_config(create_app(settings), settings))
    print(f"Database: {shown(settings.database_url)}", flush=True)
    print(f"Grids: {grids_source}", flush=True)
    print(f"Console: {base}/", flush=True)
    print(f"Admin pages: {base}/admin/", flush=True)
    print(f"API docs: {base}/docs", flush=True)
    asyncio.run(_serve(server, sock, base, settings, args.demo, args.demo_alarms_per_hour))
    return 0


async def _serve(
    server: uvicorn.Server,
    sock: socket.socket,
    base: str,
    settings: Settings,
    demo: int,
    alarms_per_hour: float = 4.0,
) -> None:
    """The server, and with --demo a fleet of simulated patrols that lives as long as it does."""
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    if not demo:
        await serving
        return
    while not server.started and not serving.done():  # noqa: ASYNC110 (uvicorn offers no event)
        await asyncio.sleep(0.05)
    if serving.done():
        await serving
        return
    assert settings.admin_token is not None
    with tempfile.TemporaryDirectory(prefix="patrol-demo-") as outboxes:
        tokens = await asyncio.to_thread(register_members, base, settings.admin_token, demo)
        print(
            f"Demo: {demo} simulated patrols on shift, about {alarms_per_hour:g} alarms an hour "
            "in all; sign in to the console with the admin token"
        )
        # Each patrol's mean time between alarms, so that the whole fleet raises
        # `alarms_per_hour` (a real community sees a few an hour, not one every 12 s).
        every_s = 3600.0 * demo / alarms_per_hour if alarms_per_hour > 0 else 0.0
        fleet = asyncio.create_task(
            run_fleet(base, tokens, Path(outboxes), FleetOptions(alarm_every_s=every_s))
        )
        try:
            await serving
        finally:
            fleet.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await fleet


def migrate(args: argparse.Namespace) -> int:
    """Bring DISPATCH_DATABASE_URL's schema to the revision this version needs (creating it
    on an empty database); run before `serve` (which does it by itself only for a SQLite file
    that does not exist yet), and after every upgrade of the server."""
    url = Settings().database_url
    print(f"Database: {shown(url)}", flush=True)
    try:
        if args.create and create_database(url):
            print("Database: created", flush=True)
        done = upgrade(url, adopt=args.adopt)
    except DBAPIError as exc:
        return _unreachable(url, exc)
    except (CommandError, NotMigrated) as exc:  # e.g. a revision this version does not know
        print(f"dispatch-server: cannot migrate: {exc}", file=sys.stderr)
        return 2
    if done.adopted:
        print(f"Schema: made before migrations, matches; recorded as {done.after}", flush=True)
    elif done.before == done.after:
        print(f"Schema: already at {done.after}; nothing to do", flush=True)
    else:
        print(f"Schema: {done.before or 'empty'} -> {done.after}", flush=True)
        for step in done.steps():
            print(f"  applied {step}", flush=True)
    return 0


def _unreachable(url: str, exc: DBAPIError) -> int:
    """A database that is down or refuses us: one line that says so, not a traceback."""
    reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
    print(f"dispatch-server: cannot use the database {shown(url)}: {reason}", file=sys.stderr)
    return 2


def check_grids(args: argparse.Namespace) -> int:
    try:
        index = GridIndex(load_grids(Path(args.path)), Settings().grid_overlap_tolerance_m2)
    except GridLoadError as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 2
    for grid_id, grid in index.grids.items():
        area = index.area_m2(grid_id)
        names = "\t".join(x or "" for x in (grid.name_zh, grid.name_en, grid.kind))
        print(f"{grid_id}\t{names}\t{area:.0f} m²")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dispatch-server", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("serve", help="start the dispatch server")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    p.add_argument(
        "--grids", help="a GeoJSON file or folder (default: DISPATCH_GRIDS or the sample grids)"
    )
    p.add_argument(
        "--demo", type=int, default=0, metavar="N", help="also run N simulated patrols (try 30)"
    )
    p.add_argument(
        "--demo-alarms-per-hour",
        type=float,
        default=4.0,
        metavar="R",
        help="alarms the demo fleet raises an hour, in all (default 4; 0: none; 60: busy)",
    )
    p.add_argument(
        "--certfile",
        metavar="PATH",
        help="serve https and wss with this certificate (PEM, full chain); with --keyfile "
        "(default: DISPATCH_TLS_CERTFILE)",
    )
    p.add_argument(
        "--keyfile",
        metavar="PATH",
        help="the certificate's private key (PEM) (default: DISPATCH_TLS_KEYFILE)",
    )
    p.set_defaults(func=serve)
    m = sub.add_parser(
        "migrate", help="create or upgrade the schema of DISPATCH_DATABASE_URL (before serve)"
    )
    m.add_argument(
        "--adopt",
        action="store_true",
        help="a database made before migrations: record it as current if its tables match",
    )
    m.add_argument(
        "--create",
        action="store_true",
        help="PostgreSQL: create the database first if the server does not have it",
    )
    m.set_defaults(func=migrate)
    c = sub.add_parser("check-grids", help="validate a grid file or folder and list its grids")
    c.add_argument("path")
    c.set_defaults(func=check_grids)
    cards_command.add_parser(sub)
    backup_command.add_parsers(sub)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # Alembic narrates every revision check; `migrate` prints the steps it applied itself.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        result: int = args.func(args)
    except KeyboardInterrupt:  # uvicorn re-raises Ctrl-C once it has shut down cleanly
        return 0
    return result


if __name__ == "__main__":
    sys.exit(main())
