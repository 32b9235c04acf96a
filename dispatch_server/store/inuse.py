"""Who is using an embedded SQLite database: a lock file beside it, held while serving.

Every server holds a shared `flock` on `<database>.serving` for as long as it runs, and
`restore` asks for an exclusive one without waiting: if it cannot have it, a server is
using the database. The kernel drops a process's locks when it ends, however it ends
(SIGKILL, a crash), so there is no lease to expire and no stale "live" mark to clear by
hand; and while a restore holds its lock a server refuses to start on a half-copied file
(docs/decisions.md). PostgreSQL has no such file: backups there are pg_dump's business.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path


class DatabaseInUse(RuntimeError):
    """Someone else holds the lock in a way that excludes us; the message says who."""


def lock_path(database: Path) -> Path:
    """The lock file of a database file (not SQLite's own `-wal`/`-shm`/`.lock` names)."""
    return database.with_name(database.name + ".serving")


def _try_lock(path: Path, how: int) -> int | None:
    """An open descriptor holding `how` on `path`, or None if someone's lock excludes it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, how | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    except BaseException:
        os.close(fd)
        raise
    return fd


@contextlib.contextmanager
def serving(database: Path) -> Iterator[None]:
    """Held by a server for its life: many servers may share it, a restore excludes them."""
    fd = _try_lock(lock_path(database), fcntl.LOCK_SH)
    if fd is None:
        raise DatabaseInUse(
            f"a restore into {database} is under way ({lock_path(database)} is locked); "
            "start the server when it has finished"
        )
    try:
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


@contextlib.contextmanager
def exclusive(database: Path) -> Iterator[bool]:
    """Try for the database alone, without waiting: True while held; False when a server
    (or another restore) holds the lock, i.e. the database is live."""
    fd = _try_lock(lock_path(database), fcntl.LOCK_EX)
    try:
        yield fd is not None
    finally:
        if fd is not None:
            os.close(fd)
