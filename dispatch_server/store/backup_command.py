"""`dispatch-server backup PATH` and `dispatch-server restore PATH`: the command line over
store/backup.py, for the database named by DISPATCH_DATABASE_URL."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from dispatch_server.settings import Settings
from dispatch_server.store import backup as backups
from dispatch_server.store.schema import shown


def add_parsers(sub: Any) -> None:
    """Add both commands to `dispatch-server`'s subcommands."""
    b = sub.add_parser(
        "backup",
        help="copy the SQLite database of DISPATCH_DATABASE_URL to PATH, while serving",
    )
    b.add_argument("path", help="the backup file to write")
    b.add_argument("--force", action="store_true", help="replace PATH if it exists")
    b.add_argument(
        "--pages",
        type=int,
        default=backups.STEP_PAGES,
        metavar="N",
        help=f"database pages copied per step, with a pause between steps so the server's "
        f"writer is not held up (default {backups.STEP_PAGES})",
    )
    b.set_defaults(func=run_backup)
    r = sub.add_parser(
        "restore",
        help="check the backup PATH and copy it into the SQLite database of "
        "DISPATCH_DATABASE_URL (stop the server first)",
    )
    r.add_argument("path", help="a file written by `dispatch-server backup`")
    r.add_argument(
        "--force",
        action="store_true",
        help="overwrite the database even though a server is using it (restart it at once)",
    )
    r.set_defaults(func=run_restore)


def run_backup(args: argparse.Namespace) -> int:
    url = Settings().database_url
    to = Path(args.path)
    print(f"Database: {shown(url)}", flush=True)
    try:
        contents, restarts = backups.backup(url, to, force=args.force, pages=max(1, args.pages))
    except backups.BackupRefused as exc:
        print(f"dispatch-server: no backup made: {exc}", file=sys.stderr)
        return 2
    print(f"Backup: {to} (integrity ok; copy restarted by the server's commits: {restarts})")
    for line in contents.lines():
        print(line)
    return 0


def run_restore(args: argparse.Namespace) -> int:
    url = Settings().database_url
    source = Path(args.path)
    print(f"Database: {shown(url)}", flush=True)
    try:
        contents = backups.restore(source, url, force=args.force)
    except backups.BackupRefused as exc:
        print(f"dispatch-server: nothing restored: {exc}", file=sys.stderr)
        return 2
    print(f"Restored: {source} (integrity ok)")
    for line in contents.lines():
        print(line)
    if args.force:
        print("Restart the server now: it still holds what it had before the restore.")
    return 0
