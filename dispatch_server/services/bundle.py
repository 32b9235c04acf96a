"""An incident's export bundle: one zip with `incident.json` (the view, with its timeline and
names), every photo and clip still held (`media/<media_id>-<kind>.<ext>`) and
`manifest.json` (each file's size and sha256, so a copy can be checked on its own).

Built in a worker thread on a reader connection into a temporary file, one chunk of a
media in memory at a time: a bundle of twenty 32 MiB clips never blocks the event loop
nor fills memory. The caller sends the file and deletes it.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
import zipfile
from typing import Any

from sqlalchemy import Connection, Engine

from dispatch_server.clock import iso
from dispatch_server.domain.media import CONTENT_TYPES
from dispatch_server.services import incidents
from dispatch_server.services.media import chunks


def media_path(item: dict[str, Any]) -> str:
    ext = CONTENT_TYPES.get(item["content_type"], "bin")
    return f"media/{item['media_id']}-{item['kind']}.{ext}"


def _stamp(ts: float) -> tuple[int, int, int, int, int, int]:
    t = time.gmtime(max(ts, 315532800.0))  # zip dates start in 1980
    return (t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec)


def _write_json(zf: zipfile.ZipFile, name: str, value: Any, at: float) -> dict[str, Any]:
    data = json.dumps(value, ensure_ascii=False, indent=1).encode()
    info = zipfile.ZipInfo(name, _stamp(at))
    info.compress_type = zipfile.ZIP_DEFLATED
    zf.writestr(info, data)
    return {"path": name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def _write_media(zf: zipfile.ZipFile, conn: Connection, item: dict[str, Any]) -> dict[str, Any]:
    name = media_path(item)
    info = zipfile.ZipInfo(name, _stamp(item["at"]))
    info.compress_type = zipfile.ZIP_STORED  # photos and clips are compressed already
    h = hashlib.sha256()
    size = 0
    with zf.open(info, "w", force_zip64=True) as out:
        for chunk in chunks(conn, item["media_id"]):
            out.write(chunk)
            h.update(chunk)
            size += len(chunk)
    return {"path": name, "size": size, "sha256": h.hexdigest(), "media_id": item["media_id"]}


def write_bundle(conn: Connection, incident_id: int, now: float, path: str) -> str:
    """Write the bundle of `incident_id` to `path`; the file name to offer."""
    inc, view = incidents.detail(conn, incident_id)
    with zipfile.ZipFile(path, "w") as zf:
        files = [_write_json(zf, "incident.json", view, now)]
        files += [_write_media(zf, conn, m) for m in inc.media if not m["expired"]]
        manifest = {
            "incident_id": incident_id,
            "generated_at": iso(now),
            "files": files,
            # Listed in the timeline, but their bytes were deleted after retention.
            "expired_media": [m["media_id"] for m in inc.media if m["expired"]],
        }
        _write_json(zf, "manifest.json", manifest, now)
    return f"incident-{incident_id}-bundle.zip"


def build(reader: Engine, incident_id: int, now: float) -> tuple[str, str]:
    """(temporary file, name to offer): run in a worker thread. The file is the caller's to
    delete; on failure it is deleted here."""
    fd, path = tempfile.mkstemp(prefix="bundle-", suffix=".zip")
    os.close(fd)
    try:
        with reader.connect() as conn:
            return path, write_bundle(conn, incident_id, now, path)
    except BaseException:
        os.unlink(path)
        raise
