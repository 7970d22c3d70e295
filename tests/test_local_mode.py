"""Local mode (issue 10, item 8): a node on http://127.0.0.1 works out of the box, a deployment
never fetches from loopback or over http, and the trust tool keeps http ids to local nodes.

One derived setting decides (``Settings.local_mode``); these tests pin both sides of it.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

from core import keys
from core.fetch import AddressPolicy, Fetcher, FetchRefused
from core.settings import REPO_ROOT, Settings
from tests.node import free_port


@pytest.mark.parametrize(("url", "local"), [
    ("http://127.0.0.1:8000", True),
    ("http://127.8.9.10:8000", True),  # all of 127.0.0.0/8
    ("http://[::1]:8000", True),
    ("http://localhost:8000", True),
    ("http://LOCALHOST", True),
    ("https://127.0.0.1:8000", False),  # https: a deployment (behind a proxy, say), whatever the host
    ("https://node.example", False),
    ("http://node.example", False),
    ("http://192.168.1.5:8000", False),  # reached from the LAN: not local
    ("http://0.0.0.0:8000", False),
    ("http://localhost.node.example", False),
    ("http://127.0.0.1.nip.io", False),
    ("http://[::ffff:10.0.0.1]", False),
])
def test_local_mode_is_http_on_a_loopback_host(url: str, local: bool) -> None:
    assert Settings(public_base_url=url).local_mode is local


@pytest.fixture(scope="module")
def loopback_server() -> Iterator[str]:
    port = free_port()

    async def ok(_r: object) -> Response:
        return Response("hello")

    srv = uvicorn.Server(uvicorn.Config(Starlette(routes=[Route("/ok", ok)]), host="127.0.0.1", port=port,
                                        log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    while not srv.started:
        time.sleep(0.02)  # waiting for start-up, not for a result
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


def _fetch(settings: Settings, url: str) -> bytes:
    return asyncio.run(Fetcher(AddressPolicy.for_node(settings)).get(url, accept="*/*")).body


def test_a_local_node_fetches_from_loopback_over_http(loopback_server: str) -> None:
    assert _fetch(Settings(public_base_url="http://127.0.0.1:8000"), f"{loopback_server}/ok") == b"hello"


@pytest.mark.parametrize("public", ["https://node.example", "https://127.0.0.1:8443", "http://node.example"])
def test_a_deployment_never_fetches_from_loopback_or_over_http(
    loopback_server: str, public: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AMANA_FETCH_ALLOW_INSECURE", "true")  # the old switch: no longer anything to switch
    monkeypatch.setenv("AMANA_PUBLIC_BASE_URL", public)
    settings = Settings()
    port = loopback_server.rsplit(":", 1)[1]
    for url in (f"{loopback_server}/ok", f"https://127.0.0.1:{port}/ok", f"https://localhost:{port}/ok",
                f"http://[::1]:{port}/ok", "http://example.org/"):
        with pytest.raises(FetchRefused):
            _fetch(settings, url)


def test_local_mode_still_refuses_private_addresses() -> None:
    with pytest.raises(FetchRefused):  # loopback is this machine; the LAN and cloud metadata are not
        _fetch(Settings(public_base_url="http://127.0.0.1:8000"), "http://169.254.169.254/latest/meta-data/")


def _trust(tmp_path: Path, public: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AMANA_")}
    env |= {"AMANA_DATA_DIR": str(tmp_path), "AMANA_PUBLIC_BASE_URL": public}
    return subprocess.run([sys.executable, "-m", "server.cli", "trust", *args], capture_output=True, text=True,
                          cwd=REPO_ROOT, env=env, check=False)


@pytest.mark.parametrize("command", ["add-issuer", "register-verifier"])
def test_trust_tool_refuses_http_ids_outside_local_mode(tmp_path: Path, command: str) -> None:
    jwks = tmp_path / "key.jwks.json"
    jwks.write_text(json.dumps(keys.jwks([keys.generate().public_key()])))
    entry = {"add-issuer": ["--vct", "SkillCertificate"],
             "register-verifier": ["--purpose", "dpv:HumanResourceManagement", "--legal-basis", "dpv:LegalObligation",
                                   "--claims", "SkillCertificate:skill"]}[command]
    args = [command, "--id", "http://127.0.0.1:8000/issuers/ngo", "--name", "en=NGO", "--jwks", str(jwks), *entry]
    assert _trust(tmp_path, "https://node.example", "init", "--iss", "https://gov.example").returncode == 0
    draft = (tmp_path / "trust" / "draft.json").read_text()

    refused = _trust(tmp_path, "https://node.example", *args)
    assert refused.returncode == 1 and json.loads(refused.stderr)["code"] == "invalid_input"
    assert "https://" in json.loads(refused.stderr)["detail"]
    assert (tmp_path / "trust" / "draft.json").read_text() == draft  # nothing changed
    assert _trust(tmp_path, "https://node.example", *[a.replace("http://127.0.0.1:8000", "https://node.example")
                                                      for a in args]).returncode == 0

    local = _trust(tmp_path, "http://127.0.0.1:8000", *args)  # a node on a laptop accredits itself
    assert local.returncode == 0, local.stderr


def test_trust_init_refuses_an_http_governance_id_outside_local_mode(tmp_path: Path) -> None:
    refused = _trust(tmp_path, "https://node.example", "init", "--iss", "http://127.0.0.1:8000/governance")
    assert refused.returncode == 1 and json.loads(refused.stderr)["code"] == "invalid_input"
    assert not (tmp_path / "trust" / "draft.json").exists()
