"""Rule 5 for the issuer: a whole issuance over real HTTP, with every logger at DEBUG, leaves no
claim value, PIN, code, token or key in the logs."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from core.credtypes import load_registry
from core.settings import REPO_ROOT, Settings
from tests.node import RunningNode
from wallet.receive import receive


def test_logs_hold_no_claims_pins_tokens_or_keys(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    env = {**os.environ, "AMANA_DATA_DIR": str(tmp_path)}
    created = subprocess.run([sys.executable, "-m", "server.cli", "issuer", "create-org", "--slug", "open-doors",
                              "--name", "en=Open Doors", "--type", "SkillCertificate"],
                             capture_output=True, text=True, cwd=REPO_ROOT, env=env, check=True)
    api_key = json.loads(created.stdout)["api_key"]
    claims = json.loads((REPO_ROOT / "specs/credentials/SkillCertificate/example.json").read_text())
    claims |= {"given_name": "Zarghuna", "family_name": "Wardakizadeh"}
    types = load_registry(Settings().specs_dir)
    caplog.set_level(logging.DEBUG)
    with RunningNode(tmp_path, propagate_logs=True) as node:

        async def story() -> tuple[dict[str, str], list[str]]:
            async with httpx.AsyncClient(timeout=10) as http:
                offer = (await http.post(f"{node.base}/api/issuer/offers", json={"type": "SkillCertificate",
                         "claims": claims}, headers={"Authorization": f"Bearer {api_key}"})).json()
                bad = await http.post(f"{node.base}/api/issuer/offers", json={"type": "SkillCertificate",
                      "claims": dict(claims, eqf_level="Wardakizadeh")}, headers={"Authorization": f"Bearer {api_key}"})
                assert bad.status_code == 400
                received = await receive(http, offer["link"], offer["pin"], copies=1, types=types)
                return offer, [r.credential for r in received]

        offer, credentials = asyncio.run(story())
    logged = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert "amana.access POST /api/issuer/offers 201" in logged  # the access log was captured...
    assert "amana.access GET /issuers/{slug}/offers/{offer_id} 200" in logged  # ...with route templates
    assert "amana.access POST /issuers/{slug}/credential 200" in logged
    secrets_ = ["Zarghuna", "Wardakizadeh", claims["skill"]["label"], offer["pin"], api_key, offer["offer_id"],
                *(c.split("~")[0] for c in credentials), *(d for c in credentials for d in c.split("~")[1:-1])]
    for secret in secrets_:
        assert secret not in logged, f"{secret[:12]}… appears in the logs"
