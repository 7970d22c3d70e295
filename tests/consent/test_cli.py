"""``amana consent report`` (GDPR Art. 30 from the configuration and the trust list) and
``amana consent purge`` (retention), as subprocesses on a node's data directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from core import keys
from core.settings import REPO_ROOT
from core.trust.model import PurposeRegistration, RegisteredVerifier, parse
from core.trust.operator import new_draft, put_verifier_purpose, sign_draft

BASE = "http://127.0.0.1:9"
STATUS = "urn:amana:credential:RegistrationStatus:1"


def _amana(data_dir: Path, *args: str) -> dict[str, Any]:
    env = {**os.environ, "AMANA_DATA_DIR": str(data_dir), "AMANA_PUBLIC_BASE_URL": BASE}
    env.pop("AMANA_DATABASE_URL", None)
    done = subprocess.run([sys.executable, "-m", "server.cli", "consent", *args], capture_output=True, text=True,
                          cwd=REPO_ROOT, env=env, check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    value: dict[str, Any] = json.loads(done.stdout)
    return value


def test_the_art30_report_comes_from_the_trust_list_and_purge_runs(tmp_path: Path) -> None:
    registration = parse(PurposeRegistration, {
        "purpose": "https://w3id.org/dpv#HumanResourceManagement", "legal_basis": "https://w3id.org/dpv#Consent",
        "credentials": [{"vct": STATUS, "claims": [["right_to_work"], ["valid_until"]]}]})
    verifier = parse(RegisteredVerifier, {"id": BASE + "/verifier", "names": {"en": "Employer"},
                                          "jwks": keys.jwks([keys.generate().public_key()]),
                                          "registrations": [registration.model_dump()]})
    draft = put_verifier_purpose(new_draft("https://governance.amana.test"), verifier, registration)[0]
    governance = keys.generate()
    trust = tmp_path / "trust"
    trust.mkdir()
    (trust / "trust-list.jwt").write_text(sign_draft(draft, governance, int(time.time()))[0])
    (trust / "governance.jwks.json").write_text(json.dumps(keys.jwks([governance.public_key()])))

    report = _amana(tmp_path, "report")
    assert report["controller"]["registered_on_trust_list"] is True
    [activity] = report["activities"]
    assert activity["legal_basis_article"] == "GDPR Art. 6(1)(a)"
    assert activity["categories_of_personal_data"] == {STATUS: ["right_to_work", "valid_until"]}
    assert activity["special_categories"] == [] and report["consent_records_held"] == {}
    assert _amana(tmp_path, "purge") == {"purged": 0}
