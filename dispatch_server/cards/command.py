"""`dispatch-server cards`: member cards as a PDF file, from the command line.

A client of the running server's admin API (`POST /api/member-cards`), not of the database
(decision 38): every write goes through the server's one log writer, so the
`enrolment_created` events take their place in the log and reach the consoles like any
other, on one instance or a cluster.
"""

from __future__ import annotations

import argparse
import os
import re
import ssl
import sys
from pathlib import Path
from typing import Any

import httpx

from dispatch_server.cards.sheet import pages
from dispatch_server.settings import PUBLIC_URL_PATTERN

MAX_CARDS = 200  # as the API takes in one request
TIMEOUT_S = 60.0


class Refused(Exception):
    """Something the operator must fix; the message says what."""


def add_parser(sub: Any) -> None:
    c = sub.add_parser(
        "cards",
        help="print member cards (QR enrolment links) to a PDF, through a running server",
        description="Makes a fresh one-time enrolment code for each member and writes an A4 "
        "PDF of cards, 8 a page. Each earlier code stays valid until it expires.",
    )
    who = c.add_mutually_exclusive_group(required=True)
    who.add_argument("--member", type=int, action="append", metavar="ID", help="repeatable")
    who.add_argument("--grid", action="append", metavar="GRID", help="every member of the grid")
    who.add_argument("--all", action="store_true", help="every member")
    c.add_argument("-o", "--output", required=True, type=Path, help="the PDF to write")
    c.add_argument(
        "--url",
        help="where phones reach the server, as https://patrol.example.org: the base of the "
        "links in the QR codes (default: DISPATCH_PUBLIC_URL)",
    )
    c.add_argument(
        "--server",
        default="http://127.0.0.1:8000",
        help="the running server to ask (default http://127.0.0.1:8000)",
    )
    c.add_argument("--token", help="the admin token (default: DISPATCH_ADMIN_TOKEN)")
    c.add_argument("--cafile", type=Path, help="a CA (or certificate) to trust for https")
    c.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except Refused as exc:
        print(f"dispatch-server cards: {exc}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    public_url = args.url or os.environ.get("DISPATCH_PUBLIC_URL")
    if not public_url:
        raise Refused(
            "the QR codes need the address phones reach the server at: pass --url "
            "https://patrol.example.org or set DISPATCH_PUBLIC_URL"
        )
    if not re.fullmatch(PUBLIC_URL_PATTERN, public_url):
        raise Refused(f"{public_url!r} is not an http(s) address like https://patrol.example.org")
    token = args.token or os.environ.get("DISPATCH_ADMIN_TOKEN")
    if not token:
        raise Refused("the admin token is needed: pass --token or set DISPATCH_ADMIN_TOKEN")
    with _client(args.server, token, args.cafile) as client:
        ids = args.member or _chosen(_get(client, "/api/members"), args.grid)
        if len(ids) > MAX_CARDS:
            raise Refused(f"{len(ids)} members: at most {MAX_CARDS} cards at a time; use --grid")
        pdf = _post(client, "/api/member-cards", {"member_ids": ids, "public_url": public_url})
    args.output.write_bytes(pdf)
    print(f"{len(ids)} cards on {pages(len(ids))} pages: {args.output}", flush=True)
    return 0


def _chosen(members: list[dict[str, Any]], grids: list[str] | None) -> list[int]:
    chosen = [m for m in members if grids is None or m["grid_id"] in grids]
    if not chosen:
        where = f"in grid {', '.join(grids)}" if grids else "registered"
        raise Refused(f"no members {where}")
    return sorted(m["member_id"] for m in chosen)


def _client(server: str, token: str, cafile: Path | None) -> httpx.Client:
    verify: ssl.SSLContext | bool = True
    if cafile is not None:
        try:
            verify = ssl.create_default_context(cafile=str(cafile))
        except (OSError, ssl.SSLError) as exc:
            raise Refused(f"cannot use {cafile} as a CA: {exc}") from None
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.Client(base_url=server, headers=headers, timeout=TIMEOUT_S, verify=verify)


def _get(client: httpx.Client, path: str) -> Any:
    return _checked(client, "GET", path).json()


def _post(client: httpx.Client, path: str, body: dict[str, Any]) -> bytes:
    return _checked(client, "POST", path, json=body).content


def _checked(client: httpx.Client, method: str, path: str, **kw: Any) -> httpx.Response:
    try:
        r = client.request(method, path, **kw)
    except httpx.HTTPError as exc:
        raise Refused(
            f"cannot reach the server at {client.base_url} ({exc}); is `dispatch-server "
            "serve` running there? (--server)"
        ) from None
    if r.is_error:
        try:
            detail = r.json().get("detail")
        except ValueError:
            detail = r.text[:200]
        raise Refused(f"the server refused ({r.status_code}): {detail}")
    return r
