"""`dispatch-server`: serve, and check a grid file before deploying it."""

from __future__ import annotations

import argparse
import asyncio
import logging
import secrets
import socket
import sys
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from dispatch_server.app import create_app
from dispatch_server.geo.grids import GridLoadError, load_grids
from dispatch_server.geo.index import GridIndex
from dispatch_server.settings import Settings


def uvicorn_config(app: FastAPI, settings: Settings) -> uvicorn.Config:
    """The socket settings that matter (PERFORMANCE-FACTS): the sans-I/O websockets
    implementation, no per-message deflate (alarm frames are small; deflate costs
    memory per connection), and a frame limit of what a frame can legitimately be."""
    return uvicorn.Config(
        app,
        ws="websockets-sansio",
        ws_max_size=settings.max_frame_bytes,
        ws_per_message_deflate=False,
        ws_ping_interval=20.0,
        ws_ping_timeout=20.0,
        lifespan="on",
        log_level="warning",
        timeout_graceful_shutdown=5,
    )


def bind(host: str, port: int) -> socket.socket:
    """Bind ourselves so `--port 0` works and we can print the port the OS chose."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def serve(args: argparse.Namespace) -> int:
    settings = Settings()
    if args.grids:
        settings = settings.model_copy(update={"grids": Path(args.grids)})
    if settings.admin_token is None:
        token = secrets.token_urlsafe(24)
        settings = settings.model_copy(update={"admin_token": token})
        print(f"Admin token (set DISPATCH_ADMIN_TOKEN to keep one): {token}", flush=True)
    try:
        GridIndex(load_grids(settings.grids), settings.grid_overlap_tolerance_m2)
    except GridLoadError as exc:
        print(f"dispatch-server: refusing to start: {exc}", file=sys.stderr)
        return 2
    sock = bind(args.host, args.port)
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    server = uvicorn.Server(uvicorn_config(create_app(settings), settings))
    print(f"Database: {settings.database_url}", flush=True)
    print(f"Grids: {settings.grids}", flush=True)
    print(f"Console: http://{shown}:{port}/", flush=True)
    print(f"API docs: http://{shown}:{port}/docs", flush=True)
    asyncio.run(server.serve(sockets=[sock]))
    return 0


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
    p.add_argument("--grids", help="a GeoJSON file or folder (default: DISPATCH_GRIDS or grids/)")
    p.set_defaults(func=serve)
    c = sub.add_parser("check-grids", help="validate a grid file or folder and list its grids")
    c.add_argument("path")
    c.set_defaults(func=check_grids)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
