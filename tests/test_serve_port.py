"""``amana serve --port N`` announces the address it listens on (issue 10, item 9).

Offer links, issuer identifiers and the verifier's identity are built from the public base
URL; a node on port N that announced :8000 would hand out links nobody can follow. The
port (and host) set that URL unless ``AMANA_PUBLIC_BASE_URL`` says otherwise.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from core.settings import REPO_ROOT
from core.web_pages import QR_TOOLS, vendored
from server.cli import announced_url, listening_port
from tests.node import free_port
from tests.server_process import wait_until_serving


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AMANA_")}
    return {**env, "AMANA_DATA_DIR": str(data_dir), **extra}


@contextmanager
def serving(env: dict[str, str], *args: str, port: int | None = None) -> Iterator[str]:
    port = port or free_port()
    server = subprocess.Popen([sys.executable, "-m", "server.cli", "serve", "--port", str(port), *args],
                              cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(f"{base}/trust-list", server)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)


def amana(env: dict[str, str], *args: str) -> dict[str, str]:
    done = subprocess.run([sys.executable, "-m", "server.cli", *args], capture_output=True, text=True,
                          cwd=REPO_ROOT, env=env, check=False)
    assert done.returncode == 0, done.stderr
    out: dict[str, str] = json.loads(done.stdout)
    return out


def _org(env: dict[str, str]) -> str:
    return amana(env, "issuer", "create-org", "--slug", "open-doors", "--name", "en=Open Doors", "--type",
                 "SkillCertificate")["api_key"]


def test_the_port_sets_the_public_url(tmp_path: Path) -> None:
    env = _env(tmp_path)
    api_key = _org(env)
    with serving(env) as base:
        meta = httpx.get(f"{base}/.well-known/openid-credential-issuer/issuers/open-doors").json()
        assert meta["credential_issuer"] == f"{base}/issuers/open-doors"
        assert meta["credential_endpoint"].startswith(f"{base}/")
        claims = json.loads((REPO_ROOT / "specs/credentials/SkillCertificate/example.json").read_text())
        offer = httpx.post(f"{base}/api/issuer/offers", json={"type": "SkillCertificate", "claims": claims},
                           headers={"Authorization": f"Bearer {api_key}"}).json()
        [offer_uri] = parse_qs(urlsplit(offer["link"]).query)["credential_offer_uri"]
        assert offer_uri.startswith(f"{base}/")
        assert httpx.get(offer_uri).json()["credential_issuer"] == f"{base}/issuers/open-doors"  # followable


def test_an_explicit_public_url_wins_over_the_port(tmp_path: Path) -> None:
    env = _env(tmp_path, AMANA_PUBLIC_BASE_URL="https://node.amana.test")
    _org(env)
    with serving(env) as base:
        meta = httpx.get(f"{base}/.well-known/openid-credential-issuer/issuers/open-doors").json()
        assert meta["credential_issuer"] == "https://node.amana.test/issuers/open-doors"


def test_the_port_sets_the_verifier_id(tmp_path: Path) -> None:
    """The desk's registration names the verifier by its id; a node announcing another port finds none."""
    port = free_port()
    setup = _env(tmp_path, AMANA_PUBLIC_BASE_URL=f"http://127.0.0.1:{port}")  # the operator's tools, told the URL
    desk = amana(setup, "verifier", "init")
    assert desk["verifier_id"] == f"http://127.0.0.1:{port}/verifier"
    (tmp_path / "verifier.jwks.json").write_text(json.dumps(desk["jwks"]))
    amana(setup, "trust", "init", "--iss", "https://governance.amana.test")
    amana(setup, "trust", "register-verifier", "--id", desk["verifier_id"], "--name", "en=Desk", "--jwks",
          str(tmp_path / "verifier.jwks.json"), "--purpose", "dpv:HumanResourceManagement", "--legal-basis",
          "dpv:LegalObligation", "--claims", "SkillCertificate:skill,eqf_level")
    amana(setup, "trust", "sign")
    with serving(_env(tmp_path), port=port) as base:  # no AMANA_PUBLIC_BASE_URL: the port alone
        r = httpx.post(f"{base}/api/verifier/checks", json={"query": "skill-check"},
                       headers={"Authorization": f"Bearer {desk['desk_key']}"})
        assert r.status_code == 201, r.text
        [request_uri] = parse_qs(urlsplit(r.json()["link"]).query)["request_uri"]
        assert request_uri.startswith(f"{base}/")


def test_a_loopback_public_url_sets_the_port_when_none_is_given(tmp_path: Path) -> None:
    """The README's way to another port: AMANA_PUBLIC_BASE_URL=http://127.0.0.1:N, then ``amana
    serve``. The node listened on 8000 (perhaps someone else's) and handed out links to N."""
    port = free_port()
    env = _env(tmp_path, AMANA_PUBLIC_BASE_URL=f"http://127.0.0.1:{port}")
    server = subprocess.Popen([sys.executable, "-m", "server.cli", "serve"], cwd=REPO_ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until_serving(f"http://127.0.0.1:{port}/trust-list", server)
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_links_to_a_port_the_node_does_not_listen_on_are_warned_about(tmp_path: Path) -> None:
    links, listens = free_port(), free_port()
    env = _env(tmp_path, AMANA_PUBLIC_BASE_URL=f"http://127.0.0.1:{links}")
    server = subprocess.Popen([sys.executable, "-m", "server.cli", "serve", "--port", str(listens)], cwd=REPO_ROOT,
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_until_serving(f"http://127.0.0.1:{listens}/trust-list", server)
    finally:
        server.terminate()
        _, log = server.communicate(timeout=10)
    assert f"name port {links}, but it listens on {listens}" in log
    # and nothing an operator need not read: alembic's plugin and DDL notes at every start were
    # eleven lines (helper-79); the missing QR tools warned of exactly when missing (make test vendors them)
    assert "alembic" not in log and "non-transactional DDL" not in log
    assert ("no QR reader" in log) == (not all(vendored(name) for name in QR_TOOLS))
    # where each person starts, at the address the links name (helper-92: the log named no page)
    assert f"staff console http://127.0.0.1:{links}/issuer/console" in log


@pytest.mark.parametrize(("public", "given", "listened"), [
    (None, None, 8000), (None, 8123, 8123),
    ("http://127.0.0.1:8156", None, 8156), ("http://localhost", None, 80), ("http://[::1]:9001", None, 9001),
    ("http://127.0.0.1:8156", 8157, 8157),  # said outright: a proxy may forward (the log warns)
    ("https://node.amana.test", None, 8000), ("http://192.0.2.7:8080", None, 8000),  # a proxy's port, not ours
])
def test_the_listening_port(public: str | None, given: int | None, listened: int) -> None:
    assert listening_port(public, given) == listened


@pytest.mark.parametrize("public", ["http://127.0.0.1:abc", "http://127.0.0.1:99999", "http://127.0.0.1:0"])
def test_a_public_url_with_no_usable_port_is_a_clear_error(tmp_path: Path, public: str) -> None:
    done = subprocess.run([sys.executable, "-m", "server.cli", "serve"], capture_output=True, text=True,
                          cwd=REPO_ROOT, env=_env(tmp_path, AMANA_PUBLIC_BASE_URL=public), check=False, timeout=60)
    assert done.returncode == 2 and "AMANA_PUBLIC_BASE_URL" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(("host", "port", "url"), [
    ("127.0.0.1", 8123, "http://127.0.0.1:8123"),
    ("localhost", 80, "http://localhost:80"),
    ("::1", 9001, "http://[::1]:9001"),
    ("192.0.2.7", 8000, "http://192.0.2.7:8000"),
])
def test_announced_url(host: str, port: int, url: str) -> None:
    assert announced_url(host, port) == url


@pytest.mark.parametrize(("host", "public"), [
    ("0.0.0.0", None),  # noqa: S104 -- every interface, and no address to announce
    ("::", None),
    ("0.0.0.0", "http://127.0.0.1:8000"),  # noqa: S104 -- local mode, yet reachable from the network
    ("192.0.2.7", "http://localhost:8000"),
])
def test_serve_refuses_local_mode_on_a_reachable_interface(tmp_path: Path, host: str, public: str | None) -> None:
    env = _env(tmp_path, **({"AMANA_PUBLIC_BASE_URL": public} if public else {}))
    done = subprocess.run([sys.executable, "-m", "server.cli", "serve", "--host", host, "--port", str(free_port())],
                          capture_output=True, text=True, cwd=REPO_ROOT, env=env, check=False, timeout=60)
    assert done.returncode == 2 and "--host" in done.stderr
