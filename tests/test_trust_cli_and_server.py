"""`amana trust` as an operator runs it, and `/trust-list` as `amana serve` publishes it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from core import keys
from core.settings import REPO_ROOT, Settings
from core.trust import MEDIA_TYPE, verify
from server.app import build_app
from tests.server_process import wait_until_serving
from tests.test_cli import amana

NGO = "https://ngo.amana.test"


@pytest.fixture(scope="module")
def trust_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("data")
    t = d / "trust"
    ngo = d / "ngo.pub.jwk"
    assert amana("keys", "generate", "--out", d / "ngo.jwk", "--public-out", ngo).returncode == 0
    init = amana("trust", "init", "--iss", "https://gov.amana.test", "--dir", t)
    assert init.returncode == 0, init.stderr
    added = amana("trust", "add-issuer", "--dir", t, "--id", NGO, "--name", "en=Open Doors",
                  "--name", "ar=أبواب مفتوحة", "--jwks", ngo, "--vct", "SkillCertificate")
    assert json.loads(added.stdout)["result"] == "added", added.stderr
    registered = amana("trust", "register-verifier", "--dir", t, "--id", "https://employer.amana.test",
                       "--name", "en=Employer", "--jwks", ngo, "--purpose", "dpv:HumanResourceManagement",
                       "--legal-basis", "dpv:LegalObligation",
                       "--claims", "RegistrationStatus:right_to_work,valid_until")
    assert registered.returncode == 0, registered.stderr
    suspended = amana("trust", "suspend-issuer", "--dir", t, "--id", NGO, "--at", "2030-01-01")
    assert json.loads(suspended.stdout)["suspended_from"] == 1893456000
    for seq in (1, 2):
        signed = amana("trust", "sign", "--dir", t)
        assert json.loads(signed.stdout)["seq"] == seq, signed.stderr
    return d


def test_cli_builds_and_signs_the_list(trust_dir: Path) -> None:
    shown = amana("trust", "show", "--dir", trust_dir / "trust")
    assert shown.returncode == 0, shown.stderr
    doc = json.loads(shown.stdout)
    assert doc["seq"] == 2 and doc["expired"] is False
    issuer = doc["issuers"][0]
    assert issuer["vcts"] == ["urn:amana:credential:SkillCertificate:1"] and issuer["suspended_from"] == 1893456000
    assert issuer["names"]["ar"] == "أبواب مفتوحة"
    registration = doc["verifiers"][0]["registrations"][0]
    assert registration["purpose"] == "https://w3id.org/dpv#HumanResourceManagement"
    assert registration["credentials"][0]["claims"] == [["right_to_work"], ["valid_until"]]
    assert (trust_dir / "trust" / "governance.jwk").stat().st_mode & 0o077 == 0


def test_cli_refuses_bad_input_and_changes_nothing(trust_dir: Path) -> None:
    t = trust_dir / "trust"
    before = (t / "draft.json").read_text()
    bad = amana("trust", "add-issuer", "--dir", t, "--id", "http://evil.example", "--name", "en=x",
                "--jwks", trust_dir / "ngo.pub.jwk", "--vct", "SkillCertificate")
    assert bad.returncode == 1 and json.loads(bad.stderr)["code"] == "invalid_trust_list"
    private = amana("trust", "add-issuer", "--dir", t, "--id", "https://a.example", "--name", "en=x",
                    "--jwks", trust_dir / "ngo.jwk", "--vct", "SkillCertificate")
    assert private.returncode == 1 and '"d"' not in private.stderr
    unknown = amana("trust", "suspend-issuer", "--dir", t, "--id", "https://nobody.example")
    assert unknown.returncode == 1
    assert amana("trust", "init", "--iss", "https://gov.amana.test", "--dir", t).returncode == 1
    assert (t / "draft.json").read_text() == before


def test_show_refuses_a_list_under_another_anchor(trust_dir: Path, tmp: Path) -> None:
    other = tmp / "other.jwks.json"
    other.write_text(json.dumps(keys.jwks([keys.generate().public_key()])))
    shown = amana("trust", "show", "--dir", trust_dir / "trust", "--anchor", other)
    assert shown.returncode == 1 and json.loads(shown.stderr)["code"] == "unknown_issuer_key"


@pytest.fixture()
def client(trust_dir: Path) -> Iterator[TestClient]:
    app = build_app(Settings(data_dir=trust_dir))
    with TestClient(app, base_url="https://node.amana.test") as c:
        yield c


def test_trust_list_served_with_cache_headers(client: TestClient, trust_dir: Path) -> None:
    r = client.get("/trust-list")
    assert r.status_code == 200 and r.headers["content-type"] == MEDIA_TYPE
    jwks = json.loads((trust_dir / "trust/governance.jwks.json").read_text())
    anchor = [keys.PublicKey.from_jwk(k) for k in jwks["keys"]]

    assert verify(r.text, governance_keys=anchor, now=int(time.time())).content.seq == 2
    cache = r.headers["cache-control"]
    assert cache.startswith("public, max-age=") and int(cache.split("=")[1].split(",")[0]) <= 3600
    assert r.headers["etag"].startswith('"') and "last-modified" in r.headers
    again = client.get("/trust-list", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    assert client.get("/trust-list", headers={"If-None-Match": '"other"'}).status_code == 200
    for weakly_same in ("W/" + r.headers["etag"], "*"):  # RFC 9110 section 13.1.2: weak comparison; * is any
        assert client.get("/trust-list", headers={"If-None-Match": weakly_same}).status_code == 304


def test_every_response_carries_security_headers(client: TestClient) -> None:
    for r in (client.get("/trust-list"), client.get("/no-such-page")):
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
        assert "wasm" not in csp  # only a page with the QR reader may compile WebAssembly
        assert r.headers["x-content-type-options"] == "nosniff"
    missing = client.get("/no-such-page")
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
    assert missing.json()["code"] == "not_found"


def test_no_list_or_a_foreign_list_is_not_published(tmp: Path, trust_dir: Path) -> None:
    app = build_app(Settings(data_dir=tmp))
    with TestClient(app) as c:
        r = c.get("/trust-list")
        assert r.status_code == 503 and r.json()["code"] == "trust_list_unavailable"
        (tmp / "trust").mkdir()
        (tmp / "trust/trust-list.jwt").write_text((trust_dir / "trust/trust-list.jwt").read_text())
        (tmp / "trust/governance.jwks.json").write_text(json.dumps(keys.jwks([keys.generate().public_key()])))
        assert c.get("/trust-list").status_code == 503


def test_amana_serve_publishes_the_list_over_real_http(trust_dir: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "AMANA_DATA_DIR": str(trust_dir)}
    server = subprocess.Popen([sys.executable, "-m", "server.cli", "serve", "--port", str(port)], cwd=REPO_ROOT,
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_until_serving(f"http://127.0.0.1:{port}/trust-list", server)
        r = httpx.get(f"http://127.0.0.1:{port}/trust-list", timeout=10)
        assert r.status_code == 200 and r.headers["content-type"] == MEDIA_TYPE
        assert r.text == (trust_dir / "trust/trust-list.jwt").read_text().strip()
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_oversized_bodies_are_refused_before_they_are_read(client: TestClient) -> None:
    from core.web import MAX_BODY_BYTES

    r = client.post("/issuers/x/token", content=b"a=" + b"b" * (MAX_BODY_BYTES + 10),
                    headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 413 and r.json()["code"] == "payload_too_large"
    assert r.headers["content-security-policy"]  # still a response of ours, headers and all

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams
        for _ in range(MAX_BODY_BYTES // 65536 + 2):
            yield b"x" * 65536

    r = client.post("/issuers/x/token", content=chunks(), headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 413


@pytest.mark.parametrize("path", ["/api/issuer/offers", "/verifier/consent-withdrawals", "/api/verifier/checks"])
def test_a_streamed_json_body_over_the_limit_gets_413_not_400(client: TestClient, path: str) -> None:
    """FastAPI answers any failure while it reads a JSON body with 400; the limit's own error
    passes through it as 413, on a FastAPI route and on a direct one (core.direct_routes)."""
    from core.web import MAX_BODY_BYTES

    def chunks() -> Iterator[bytes]:
        yield b'{"a": "'
        for _ in range(MAX_BODY_BYTES // 65536 + 2):
            yield b"x" * 65536

    r = client.post(path, content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["code"] == "payload_too_large", (r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/problem+json")
