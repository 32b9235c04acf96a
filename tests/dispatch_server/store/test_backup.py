"""`dispatch-server backup` and `restore` refuse what they must, and change nothing when
they do: an existing backup, a damaged or foreign file, a newer schema, PostgreSQL, and
a server starting while a restore copies in. (Taking a backup under a burst of alarms and
restoring it into a new server: tests/e2e/test_backup_restore.py.)"""

from __future__ import annotations

import shutil
import sqlite3
import threading
from pathlib import Path

import pytest

from dispatch_server.cli import main
from dispatch_server.store import backup as backups
from dispatch_server.store import inuse
from dispatch_server.store.schema import head

pytestmark = pytest.mark.only_on("sqlite", "backup and restore copy an embedded SQLite file")


def file_of(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///"))


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, database_url: str) -> str:
    monkeypatch.setenv("DISPATCH_DATABASE_URL", database_url)
    return database_url


def test_backup_refuses_an_existing_file_without_force(
    env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    to = tmp_path / "old-backup.sqlite3"
    to.write_bytes(b"yesterday's backup")
    assert main(["backup", str(to)]) == 2
    assert "exists" in capsys.readouterr().err
    assert to.read_bytes() == b"yesterday's backup"
    assert main(["backup", str(to), "--force"]) == 0
    out = capsys.readouterr().out
    assert "integrity ok" in out and f"Schema: {head()}" in out
    assert backups.inspect(to).revision == head()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_neither_command_takes_the_database_itself(
    env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    database = file_of(env)
    before = database.read_bytes()
    assert main(["backup", str(database), "--force"]) == 2
    assert main(["restore", str(database), "--force"]) == 2
    assert capsys.readouterr().err.count("the database itself") == 2
    assert database.read_bytes() == before


def test_postgresql_is_pointed_at_pg_dump(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DISPATCH_DATABASE_URL", "postgresql+psycopg://u:secret@db/dispatch")
    for command in ("backup", "restore"):
        assert main([command, str(tmp_path / "x")]) == 2
        err = capsys.readouterr().err
        assert "pg_dump" in err and "docs/operations.md" in err and "secret" not in err
    assert not (tmp_path / "x").exists()


def backup_of(url: str, tmp_path: Path) -> Path:
    to = tmp_path / "good.sqlite3"
    backups.backup(url, to)
    return to


@pytest.mark.parametrize("damage", ["garbage", "truncated", "foreign", "newer", "torn"])
def test_restore_refuses_a_bad_backup_and_leaves_the_database(
    env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: str
) -> None:
    good = backup_of(env, tmp_path)
    bad = tmp_path / "bad.sqlite3"
    if damage == "garbage":
        bad.write_bytes(b"not a database at all" * 100)
    elif damage == "truncated":
        bad.write_bytes(good.read_bytes()[: good.stat().st_size // 3])
    elif damage == "foreign":
        with sqlite3.connect(bad) as db:
            db.execute("CREATE TABLE notes(x)")
    elif damage == "torn":  # a page in the middle overwritten: the b-trees no longer agree
        data = bytearray(good.read_bytes())
        data[4096 * 5 : 4096 * 6] = b"\xff" * 4096
        bad.write_bytes(bytes(data))
    else:
        shutil.copyfile(good, bad)
        with sqlite3.connect(bad) as db:
            db.execute("UPDATE alembic_version SET version_num = 'ffffffffffff'")
    target = file_of(env)
    before = target.read_bytes()
    assert main(["restore", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "nothing restored" in err
    if damage == "newer":
        assert "does not know" in err
    assert target.read_bytes() == before


def test_a_server_does_not_start_while_a_restore_holds_the_database(
    env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with inuse.exclusive(file_of(env)) as alone:
        assert alone
        assert main(["serve", "--port", "0"]) == 2
    assert "a restore into" in capsys.readouterr().err


def test_servers_share_the_lock_and_a_restore_cannot_have_it(env: str) -> None:
    database = file_of(env)
    with inuse.serving(database), inuse.serving(database), inuse.exclusive(database) as alone:
        assert not alone
    with inuse.exclusive(database) as alone:
        assert alone


def test_a_copy_restarted_by_commits_finishes_in_one_step(tmp_path: Path) -> None:
    """A writer committing between every step would restart a paged copy for ever; after
    RESTARTS restarts the rest goes in one step, and the copy is one consistent snapshot."""
    path = tmp_path / "busy.sqlite3"
    with sqlite3.connect(path, isolation_level=None) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE t(n INTEGER PRIMARY KEY, pad BLOB)")
        db.executemany("INSERT INTO t(pad) VALUES (?)", [(b"x" * 2000,)] * 200)
    stop = threading.Event()

    def write() -> None:
        with sqlite3.connect(path, isolation_level=None) as w:
            while not stop.is_set():
                w.execute("INSERT INTO t(pad) VALUES (?)", (b"y" * 2000,))

    writer = threading.Thread(target=write)
    writer.start()
    try:
        with sqlite3.connect(path) as src, sqlite3.connect(tmp_path / "copy.sqlite3") as dst:
            restarts = backups._copy(src, dst, pages=2)
            (count,) = dst.execute("SELECT count(*) FROM t").fetchone()
            (top,) = dst.execute("SELECT max(n) FROM t").fetchone()
            assert dst.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        stop.set()
        writer.join()
    assert restarts == backups.RESTARTS
    assert count == top >= 200  # no row missing below the newest one copied
