"""DISPATCH_LOG_FORMAT=json: a real `dispatch-server serve` process writes nothing but JSON
lines to stderr, each request's id in its lines and in `X-Request-ID`."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from dispatch_server.structured_logs import REQUEST_ID, JsonFormatter
from tests.support.servers import ADMIN, Running


def _start(database_url: str, tmp_path: Path) -> tuple[subprocess.Popen[bytes], Path, str]:
    out, err = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    env = {
        **os.environ,
        "DISPATCH_DATABASE_URL": database_url,
        "DISPATCH_ADMIN_TOKEN": ADMIN,
        "DISPATCH_LOG_FORMAT": "json",
    }
    cmd = [sys.executable, "-m", "dispatch_server.cli", "serve", "--host", "127.0.0.1"]
    with out.open("wb") as o, err.open("wb") as e:
        proc = subprocess.Popen([*cmd, "--port", "0"], env=env, stdout=o, stderr=e)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert proc.poll() is None, err.read_text()
        found = re.search(r"Console: (http://127\.0\.0\.1:\d+)/", out.read_text())
        if found:
            try:
                if httpx.get(f"{found[1]}/api/health", timeout=1).status_code == 200:
                    return proc, err, found[1]
            except httpx.HTTPError:
                pass
        time.sleep(0.05)
    proc.kill()
    raise TimeoutError(err.read_text())


def test_json_logs_are_one_object_a_line_with_request_and_incident_ids(
    database_url: str, tmp_path: Path
) -> None:
    proc, err, base = _start(database_url, tmp_path)
    try:
        admin = {"Authorization": f"Bearer {ADMIN}"}
        with httpx.Client(base_url=base, timeout=10) as c:
            health = c.get("/api/health", headers={"X-Request-ID": "probe-1"})
            assert health.headers["x-request-id"] == "probe-1"
            member = c.post("/api/members", json={"name": "李伟", "grid_id": "G01"}, headers=admin)
            member.raise_for_status()
            token = member.json()["token"]
            alarm = c.post(
                "/api/alarms",
                json={"alert_id": str(uuid.uuid4())},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert alarm.status_code == 201, alarm.text
            alarm_request = alarm.headers["x-request-id"]
            incident_id = alarm.json()["incident_id"]
    finally:
        proc.terminate()
        proc.wait(15)
    lines = err.read_text(encoding="utf-8").splitlines()
    assert lines, "the server logged nothing"
    parsed: list[dict[str, Any]] = [json.loads(line) for line in lines]  # every line JSON
    for line in parsed:
        assert {"time", "level", "logger", "message"} <= line.keys(), line
    by_request = {line.get("request_id") for line in parsed}
    assert {"probe-1", alarm_request} <= by_request
    alarm_lines = [line for line in parsed if line.get("incident_id") == incident_id]
    assert alarm_lines and alarm_lines[0]["request_id"] == alarm_request
    assert any(line.get("path") == "/api/health" and line.get("status") == 200 for line in parsed)


async def test_every_answer_carries_a_request_id(server: Running) -> None:
    async with httpx.AsyncClient(base_url=server.base, timeout=10) as c:
        first = (await c.get("/api/health")).headers["x-request-id"]
        second = (await c.get("/api/health")).headers["x-request-id"]
        odd = await c.get("/api/health", headers={"X-Request-ID": "not ok" * 20})
    assert first != second and re.fullmatch(r"[0-9a-f]{16}", first)
    assert re.fullmatch(r"[0-9a-f]{16}", odd.headers["x-request-id"])  # not echoed back


@pytest.mark.parametrize("incident_id", [None, 7])
def test_the_formatter_writes_the_ids_it_has(incident_id: int | None) -> None:
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "报警 %s", ("失败",), None)
    if incident_id is not None:
        record.incident_id = incident_id
    token = REQUEST_ID.set("r-1")
    try:
        line = json.loads(JsonFormatter().format(record))
    finally:
        REQUEST_ID.reset(token)
    assert line["message"] == "报警 失败" and line["request_id"] == "r-1"
    assert line.get("incident_id") == incident_id
