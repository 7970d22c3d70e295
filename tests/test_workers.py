"""Stateless workers (issue 16, item 3): two ``amana serve`` processes on one PostgreSQL database,
behind a balancer that sends every request to the other worker than the one before.

A worker that kept a nonce, an offer, a token, a session or a CSRF secret in its own memory
fails here: the wallet's token request reaches the worker that did not serve its offer, its
credential request the one that did not give its nonce, the verifier's ``direct_post`` the one
that did not sign the request object, the console's form post the one that did not draw the
form. Both workers must answer their share, and nothing may reach a client as a 5xx.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.settings import REPO_ROOT
from tests.node import free_port
from tests.round_robin import RoundRobin
from tests.server_process import POSTGRES_URL, NodeProcess, empty_postgres, verifier_result

SKILL = REPO_ROOT / "specs/credentials/SkillCertificate/example.json"
PASS = "a holder's passphrase, long enough"


def _run(env: dict[str, str], *args: str) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-m", "server.cli", *args], capture_output=True, text=True,
                          cwd=REPO_ROOT, env=env, check=False, timeout=120)
    assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
    out: dict[str, Any] = json.loads(done.stdout) if done.stdout.strip().startswith("{") else {}
    return out


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RoundRobin, dict[str, str], list[NodeProcess]]]:
    if not POSTGRES_URL:
        pytest.skip("several workers need PostgreSQL (.ci/run starts one: eval \"$(.ci/postgres)\")")
    empty_postgres(POSTGRES_URL)
    tmp = tmp_path_factory.mktemp("fleet")
    public = f"http://127.0.0.1:{free_port()}"  # the balancer's address: the only one anyone is told
    workers = [NodeProcess(tmp / "node", database_url=POSTGRES_URL, AMANA_PUBLIC_BASE_URL=public) for _ in range(2)]
    env = workers[0].env
    org = _run(env, "issuer", "create-org", "--slug", "ngo", "--name", "en=NGO", "--type", "SkillCertificate",
               "--jwks-out", str(tmp / "ngo.jwks"))
    desk = _run(env, "verifier", "init", "--jwks-out", str(tmp / "desk.jwks"))
    trust = str(tmp / "node" / "trust")
    for args in (("init", "--iss", "https://gov.amana.test"),
                 ("add-issuer", "--id", org["issuer"], "--name", "en=NGO", "--jwks", str(tmp / "ngo.jwks"),
                  "--vct", "SkillCertificate"),
                 ("register-verifier", "--id", desk["verifier_id"], "--name", "en=Harbour Desk", "--jwks",
                  str(tmp / "desk.jwks"), "--purpose", "dpv:HumanResourceManagement", "--legal-basis",
                  "dpv:LegalObligation", "--claims", "SkillCertificate:skill,eqf_level"),
                 ("sign",)):
        _run(env, "trust", *args, "--dir", trust)
    ports = [w.port for w in workers]
    with workers[0], workers[1], RoundRobin(int(public.rsplit(":", 1)[1]), ports) as balancer:
        yield balancer, env | {"api_key": org["api_key"], "public": public, "trust": trust}, workers
    for worker in workers:
        assert "Traceback" not in worker.log_text()


def _both_served(balancer: RoundRobin, since: int) -> Counter[int]:
    share = Counter(balancer.served[since:])
    assert len(share) == 2 and min(share.values()) >= 2, share
    return share


def test_issuance_and_a_check_with_every_request_on_the_other_worker(
        fleet: tuple[RoundRobin, dict[str, str], list[NodeProcess]], tmp_path: Path) -> None:
    balancer, env, _ = fleet
    start = len(balancer.served)
    created = httpx.post(f"{env['public']}/api/issuer/offers", headers={"Authorization": f"Bearer {env['api_key']}"},
                         json={"type": "SkillCertificate", "claims": json.loads(SKILL.read_text()), "batch_size": 2},
                         timeout=30)
    assert created.status_code == 201, created.text

    clean = {k: v for k, v in os.environ.items() if not k.startswith("AMANA_") and k != "DATABASE_URL"}
    holder = clean | {"AMANA_DATA_DIR": str(tmp_path / "holder"), "AMANA_PUBLIC_BASE_URL": env["public"],
                      "AMANA_WALLET_PASSPHRASE": PASS}
    _run(holder, "wallet", "create", "--name", "Amal")
    (tmp_path / "holder" / "trust").mkdir()
    for name in ("governance.jwks.json", "trust-list.jwt"):
        (tmp_path / "holder" / "trust" / name).write_bytes((Path(env["trust"]) / name).read_bytes())
    # offer, metadata, token (with the PIN), nonce, credential: alternate workers, one database.
    got = _run(holder, "wallet", "receive", created.json()["link"], "--pin", created.json()["pin"], "--copies", "2")
    assert got["received"] == 2 and got["issuer_registered"] is True

    check = _run(env, "verifier", "request", "--query", "skill-check")
    # request object on one worker, direct_post on the other, status list fetched through the balancer.
    answered = _run(holder, "wallet", "present", check["link"], "--yes")
    assert answered["shown"] == {"skill": ["skill"]}  # --yes: the part of the first claim set that also answers
    shown = verifier_result(env, check["id"])
    assert shown.returncode == 0, f"{shown.stdout}\n{shown.stderr}"
    result = json.loads(shown.stdout)
    assert result["accepted"] is True and result["credentials"][0]["status"] == "valid", result
    _both_served(balancer, start)


def test_a_used_code_and_a_used_nonce_stay_used_on_the_other_worker(
        fleet: tuple[RoundRobin, dict[str, str], list[NodeProcess]]) -> None:
    balancer, env, _ = fleet
    start = len(balancer.served)
    made = httpx.post(f"{env['public']}/api/issuer/offers", headers={"Authorization": f"Bearer {env['api_key']}"},
                      json={"type": "SkillCertificate", "claims": json.loads(SKILL.read_text())}, timeout=30).json()
    from urllib.parse import parse_qs, urlsplit

    offer_uri = parse_qs(urlsplit(made["link"]).query)["credential_offer_uri"][0]
    offer = httpx.get(offer_uri, timeout=10).json()
    from core.oid4vc import PRE_AUTHORIZED_GRANT

    form = {"grant_type": PRE_AUTHORIZED_GRANT, "tx_code": made["pin"],
            "pre-authorized_code": offer["grants"][PRE_AUTHORIZED_GRANT]["pre-authorized_code"]}
    token_url = f"{env['public']}/issuers/ngo/token"
    first, second = (httpx.post(token_url, data=form, timeout=10) for _ in range(2))
    assert first.status_code == 200, first.text
    assert second.status_code == 400 and second.json()["error"] == "invalid_grant", second.text
    assert balancer.served[-1] != balancer.served[-2]  # the refusal came from the other worker
    _both_served(balancer, start)


def test_a_console_form_drawn_by_one_worker_is_accepted_by_the_other(
        fleet: tuple[RoundRobin, dict[str, str], list[NodeProcess]]) -> None:
    balancer, env, _ = fleet
    start = len(balancer.served)
    page = httpx.get(f"{env['public']}/issuer/console", timeout=10)
    cookie = page.headers["set-cookie"].split(";")[0].split("=", 1)[1]
    token = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    signed_in = httpx.post(f"{env['public']}/issuer/console/login", data={"csrf": token, "api_key": env["api_key"]},
                           headers={"Cookie": f"__Host-amana_csrf={cookie}"}, follow_redirects=False, timeout=10)
    assert signed_in.status_code == 303, signed_in.text
    session = signed_in.headers["set-cookie"].split(";")[0]
    console = httpx.get(f"{env['public']}/issuer/console", headers={"Cookie": session}, timeout=10)
    assert console.status_code == 200 and 'action="/issuer/console/offer"' in console.text  # signed in
    assert len(set(balancer.served[start:start + 3])) == 2
