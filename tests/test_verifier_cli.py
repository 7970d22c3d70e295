"""`amana verifier init | request | result` against a running node sharing the same store."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from core.credtypes import load_registry
from core.settings import REPO_ROOT, Settings
from tests.node import RunningNode
from tests.server_process import verifier_result
from wallet import present as wallet
from wallet.receive import receive


def test_request_and_result_from_a_shell(tmp_path: Path) -> None:
    types = load_registry(Settings().specs_dir)
    with RunningNode(tmp_path) as node:
        env = {**os.environ, "AMANA_DATA_DIR": str(tmp_path), "AMANA_PUBLIC_BASE_URL": node.base}

        def cli(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run([sys.executable, "-m", "server.cli", *args], capture_output=True, text=True,
                                  cwd=REPO_ROOT, env=env, check=False)

        def ok(*args: str) -> dict[str, Any]:
            done = cli(*args)
            assert done.returncode == 0, done.stderr
            out: dict[str, Any] = json.loads(done.stdout)
            return out

        org = ok("issuer", "create-org", "--slug", "ngo", "--name", "en=NGO", "--type", "SkillCertificate",
                 "--jwks-out", str(tmp_path / "ngo.jwks"))
        desk = ok("verifier", "init")
        (tmp_path / "v.jwks").write_text(json.dumps(desk["jwks"]))
        trust = str(tmp_path / "trust")
        for args in (("init", "--iss", "https://gov.amana.test"),
                     ("add-issuer", "--id", org["issuer"], "--name", "en=NGO", "--jwks", str(tmp_path / "ngo.jwks"),
                      "--vct", "SkillCertificate"),
                     ("register-verifier", "--id", desk["verifier_id"], "--name", "en=Desk", "--jwks",
                      str(tmp_path / "v.jwks"), "--purpose", "dpv:HumanResourceManagement", "--legal-basis",
                      "dpv:LegalObligation", "--claims", "SkillCertificate:skill,eqf_level"),
                     ("sign",)):
            done = cli("trust", *args, "--dir", trust)
            assert done.returncode == 0, done.stderr

        requested = cli("verifier", "request", "--query", "skill-check")
        assert requested.returncode == 0, requested.stderr
        check = json.loads(requested.stdout)
        assert check["link"].startswith("openid4vp://") and Path(check["qr"]).read_text().startswith("<svg")
        assert "result_key" not in check  # kept in a 0600 file, not printed
        assert (tmp_path / "verifier" / "pending" / f"{check['id']}.key").stat().st_mode & 0o077 == 0
        waiting = cli("verifier", "result", check["id"])
        assert waiting.returncode == 3, waiting.stdout + waiting.stderr  # nobody answered yet
        plain = cli("verifier", "request", "--query", "skill-check", "--response-mode", "direct_post")
        assert plain.returncode == 0, plain.stderr
        unknown = cli("verifier", "request", "--query", "skill-check", "--response-mode", "query")
        assert unknown.returncode == 1 and json.loads(unknown.stderr)["code"] == "invalid_input", unknown.stderr

        async def answer() -> None:
            async with httpx.AsyncClient(timeout=10) as http:
                offer = (await http.post(f"{node.base}/api/issuer/offers",
                                         headers={"Authorization": f"Bearer {org['api_key']}"},
                                         json={"type": "SkillCertificate",
                                               "claims": dict(types.by_name("SkillCertificate").example)})).json()
                [copy] = await receive(http, offer["link"], offer["pin"], copies=1, types=types)
                request = await wallet.fetch_request(http, check["link"])
                assert request.response_mode == "direct_post.jwt"  # x509_hash: the HAIP default
                plain_request = await wallet.fetch_request(http, json.loads(plain.stdout)["link"])
                assert plain_request.response_mode == "direct_post"  # as the desk asked
                vp = wallet.vp_token(request, {"skill": (copy.credential, copy.holder_key)}, int(time.time()))
                assert (await wallet.answer(http, request, vp)).status_code == 200

        asyncio.run(answer())
        shown = verifier_result(env, check["id"])
        assert shown.returncode == 0, shown.stdout + shown.stderr
        result = json.loads(shown.stdout)
        assert result["accepted"] and result["credentials"][0]["claims"]["skill"]["label"] == "operate forklift"
        again = cli("verifier", "result", check["id"])
        assert again.returncode == 1 and json.loads(again.stderr)["code"] == "not_found"  # once, then gone
