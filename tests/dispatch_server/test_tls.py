"""`serve --certfile/--keyfile`: the real server in a child process behind TLS, with a
throwaway CA (trustme) trusted by the test: https and wss work, the console address and the
enrolment links say https, plain http is refused; a bad pair is refused before start."""

from __future__ import annotations

import asyncio
import json
import ssl
from pathlib import Path

import httpx
import pytest
import trustme
import websockets

from dispatch_server.cli import main
from tests.support.servers import ADMIN, ServerProcess


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


def _pair(ca: trustme.CA, folder: Path, name: str = "server") -> tuple[Path, Path]:
    cert = ca.issue_cert("127.0.0.1", "localhost")
    certfile, keyfile = folder / f"{name}.crt", folder / f"{name}.key"
    for i, pem in enumerate(cert.cert_chain_pems):  # the full chain, as certbot writes it
        pem.write_to_path(str(certfile), append=i > 0)
    cert.private_key_pem.write_to_path(str(keyfile))
    return certfile, keyfile


def _trusting(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


async def test_https_and_wss(ca: trustme.CA, database_url: str, tmp_path: Path) -> None:
    certfile, keyfile = _pair(ca, tmp_path)
    trust = _trusting(ca)
    args = ["--certfile", str(certfile), "--keyfile", str(keyfile)]
    proc = ServerProcess(database_url, tmp_path / "server.log", args=args, verify=trust)
    running = proc.start()
    try:
        assert running.base.startswith("https://")
        printed = (tmp_path / "server.log").read_text()
        assert f"Console: https://127.0.0.1:{running.port}/" in printed
        async with httpx.AsyncClient(base_url=running.base, verify=trust, timeout=10) as c:
            assert (await c.get("/api/health")).status_code == 200
            admin = {"Authorization": f"Bearer {ADMIN}"}
            body = {"name": "Li", "grid_id": "G01", "skills": []}
            member = (await c.post("/api/members", json=body, headers=admin)).json()
            made = await c.post(f"/api/members/{member['member_id']}/enrolment", headers=admin)
            # No DISPATCH_PUBLIC_URL: the link takes the scheme the request came in on.
            assert made.json()["url"].startswith(f"https://127.0.0.1:{running.port}/h/#enrol=")

        url = f"wss://127.0.0.1:{running.port}/ws/patrol"
        async with websockets.connect(url, ssl=trust, open_timeout=10) as ws:
            await ws.send(json.dumps({"type": "hello", "token": member["token"]}))
            welcome = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert welcome["type"] == "welcome" and welcome["member_id"] == member["member_id"]

        async with httpx.AsyncClient(timeout=5) as plain:
            with pytest.raises(httpx.TransportError):  # plain http on the TLS port
                await plain.get(f"http://127.0.0.1:{running.port}/api/health")
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                await plain.get(f"{running.base}/api/health")  # a CA nobody trusts
    finally:
        proc.stop()


def test_a_bad_pair_is_refused_before_start(
    ca: trustme.CA,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("DISPATCH_TLS_CERTFILE", "DISPATCH_TLS_KEYFILE"):
        monkeypatch.delenv(name, raising=False)
    certfile, keyfile = _pair(ca, tmp_path)
    _, other_key = _pair(trustme.CA(), tmp_path, "other")

    def refused(*args: str) -> str:
        capsys.readouterr()
        assert main(["serve", "--port", "0", *args]) == 2
        return capsys.readouterr().err

    assert "both a certificate and its key" in refused("--certfile", str(certfile))
    assert "both a certificate and its key" in refused("--keyfile", str(keyfile))
    missing = str(tmp_path / "nope.crt")
    err = refused("--certfile", missing, "--keyfile", str(keyfile))
    assert f"cannot read the TLS certificate {missing}" in err
    err = refused("--certfile", str(certfile), "--keyfile", str(other_key))
    assert "do not work together" in err
    err = refused("--certfile", str(keyfile), "--keyfile", str(keyfile))
    assert "do not work together" in err
    monkeypatch.setenv("DISPATCH_TLS_CERTFILE", str(certfile))  # the settings' pair too
    assert "both a certificate and its key" in refused()
