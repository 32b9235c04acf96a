"""REST input that no route may take: every one a clear 422, none a 500, none writing.

Huge ids, NaN and Infinity, lone surrogates, U+0000, bytes that are not UTF-8, deep
nesting and numbers out of range, on every route that takes them (read from the app's
OpenAPI document, so a new route is covered without editing this file)."""

from __future__ import annotations

import httpx

from tests.dispatch_server.api.conftest import Scene

BIG_IDS = [str(2**31), str(2**63), str(2**64), "1" + "0" * 30, "0", "-1"]

BAD_BODIES: list[tuple[bytes, str]] = [
    (b'{"text": NaN}', "NaN is not a JSON number"),
    (b'{"text": "x", "extra": Infinity}', "Infinity is not a JSON number"),
    (b'{"text": -Infinity}', "-Infinity is not a JSON number"),
    (b'{"text": 1e400}', "out of range"),
    (b'{"text": "\\ud800"}', "lone surrogate (\\ud800)"),
    (b'{"text": "ok", "\\udfff": 1}', "lone surrogate (\\udfff)"),
    (b'{"text": "a\\u0000b"}', "U+0000"),
    (b'{"text": "\xff"}', "not UTF-8: byte 0xff"),
    (b'{"text": "\xed\xa0\x80"}', "not UTF-8"),  # a surrogate encoded as if it were UTF-8
    (b"\xff\xfe{\x00}\x00", "not UTF-8"),  # UTF-16, BOM and all
    (b"[" * 100_000, "nested deeper than"),
    (b'{"text": ' + b"[" * 40 + b"]" * 40 + b"}", "nested deeper than 32"),
    (b'{"text": ' + b"9" * 5000 + b"}", "out of range"),
    (b'{"text": "x"', "Expecting ',' delimiter"),
]


def _say(r: httpx.Response, *words: str) -> None:
    """A 422 whose detail names the fault."""
    assert r.status_code == 422, (r.status_code, r.text)
    said = " ".join(f"{e['loc']} {e['msg']}" for e in r.json()["detail"])
    for word in words:
        assert word in said, (word, said)


async def test_huge_and_non_positive_path_ids(scene: Scene) -> None:
    before = scene.snapshots.take(digest=True)
    with_ids = [(m, p) for m, p in scene.routes() if "_id}" in p and "{grid_id}" not in p]
    assert len(with_ids) >= 9
    for method, path in with_ids:
        name = path[path.index("{") + 1 : path.index("}")]
        for big in BIG_IDS:
            url = scene.fill(path, **{name: big})
            body = b"{}" if method in ("POST", "PUT") else None
            r = await scene.request(method, url, body)
            _say(r, name)
    assert scene.snapshots.take(digest=True) == before


async def test_malformed_json_bodies(scene: Scene) -> None:
    before = scene.snapshots.take(digest=True)
    with_body = [
        (m, p)
        for p, ops in scene.openapi["paths"].items()
        for m, op in ((m.upper(), op) for m, op in ops.items())
        if "application/json" in op.get("requestBody", {}).get("content", {})
    ]
    assert len(with_body) >= 10
    for method, path in with_body:
        for body, words in BAD_BODIES:
            _say(await scene.request(method, scene.fill(path), body), words)
        # Not JSON at all, or not said to be.
        r = await scene.client(path).request(method, scene.fill(path), content=b"\xff\xfe")
        _say(r, "Content-Type: application/json")
    assert scene.snapshots.take(digest=True) == before


async def test_huge_ids_in_bodies(scene: Scene) -> None:
    before = scene.snapshots.take(digest=True)
    big = 2**31
    cases = [
        ("POST", f"/api/incidents/{scene.incident_id}/dispatch", {"member_ids": [big]}),
        ("PUT", "/api/roster/G01/morning", {"member_ids": [1, big]}),
        ("PUT", "/api/check-in-rules", {"member_id": big, "period_s": 60}),
    ]
    for method, path, body in cases:
        r = await scene.client(path).request(method, path, json=body)
        _say(r, "2147483647")
    assert scene.snapshots.take(digest=True) == before


async def test_query_parameters(scene: Scene) -> None:
    before = scene.snapshots.take(digest=True)
    for path in ("/api/incidents", "/api/incidents/export"):
        for query, words in [
            ({"since_seq": str(2**31)}, ["since_seq", "2147483647"]),
            ({"since_seq": str(2**63)}, ["since_seq", "2147483647"]),
            ({"since_seq": "-1"}, ["since_seq"]),
            ({"since": "nan"}, ["since"]),
            ({"until": "1e400"}, ["until"]),
            ({"grid_id": "G01\x00"}, ["grid_id", "U+0000"]),
            ({"limit": str(2**64)}, ["limit"]),
        ]:
            _say(await scene.request("GET", path, params=query), *words)
        # The first and last days a datetime holds, with or without an offset: no 500.
        for when in ("0001-01-01T00:00:00", "9999-12-31T23:59:59.999999", "0001-01-01T00:00+23:59"):
            for key in ("since", "until"):
                r = await scene.request("GET", path, params={key: when})
                assert r.status_code == 200, (key, when, r.text)
    r = await scene.request("GET", "/api/roll-calls", params={"limit": "1e999"})
    _say(r, "limit")
    assert scene.snapshots.take(digest=True) == before


async def test_naive_times_are_utc(scene: Scene) -> None:
    opened = (await scene.server.api.get(f"/api/incidents/{scene.incident_id}"))["opened_at"]
    naive = opened.rstrip("Z")
    r = await scene.request("GET", "/api/incidents", params={"since": naive})
    assert [i["incident_id"] for i in r.json()["incidents"]] == [scene.incident_id]
    r = await scene.request("GET", "/api/incidents", params={"until": naive})
    assert r.json()["incidents"] == []
