"""A node's data directory made as the README's path makes it, through the ``amana`` CLI in a
subprocess: an issuer ``ngo`` of SkillCertificate, a desk, and a signed trust list naming both.

``bench.world`` (the issuer and verifier figures), ``bench.load_node`` (the load test) and
``bench.wallet`` stand up the same node; they differ only in the store (SQLite or PostgreSQL)
and in the claims the desk is registered for, so those are the arguments."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from core.settings import REPO_ROOT

AMANA = [sys.executable, "-m", "server.cli"]


def node_env(data_dir: Path, port: int, pg: str | None) -> dict[str, str]:
    """The node's environment: this data directory and port, PostgreSQL if given, else SQLite. One
    client address sends everything in a benchmark: the per-address limit would measure itself."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AMANA_") and k != "DATABASE_URL"}
    env = clean | {"AMANA_DATA_DIR": str(data_dir), "AMANA_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
                   "AMANA_RATE_LIMIT_PER_S": "1000000000", "AMANA_RATE_LIMIT_BURST": "1000000000"}
    return env | ({"AMANA_DATABASE_URL": pg} if pg else {})


def amana(env: dict[str, str], *args: str) -> dict[str, Any]:
    """One ``amana`` command; its JSON answer, or ``{}`` for one that prints none."""
    done = subprocess.run([*AMANA, *args], capture_output=True, text=True, cwd=REPO_ROOT, env=env, check=False,
                          timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"amana {' '.join(args[:2])}: {done.stderr}")
    return json.loads(done.stdout) if done.stdout.strip().startswith("{") else {}


def setup(data_dir: Path, port: int, pg: str | None, claims: Iterable[str]) -> tuple[str, str]:
    """The issuer and the desk (registered for SkillCertificate's ``claims``); their keys. The
    JWKS files go beside the data directory, the trust list into it."""
    env, tmp = node_env(data_dir, port, pg), data_dir.parent
    org = amana(env, "issuer", "create-org", "--slug", "ngo", "--name", "en=NGO", "--type", "SkillCertificate",
                "--jwks-out", str(tmp / "ngo.jwks"))
    desk = amana(env, "verifier", "init", "--jwks-out", str(tmp / "desk.jwks"))
    trust = str(data_dir / "trust")
    for args in (("init", "--iss", "https://gov.amana.test"),
                 ("add-issuer", "--id", org["issuer"], "--name", "en=NGO", "--jwks", str(tmp / "ngo.jwks"),
                  "--vct", "SkillCertificate"),
                 ("register-verifier", "--id", desk["verifier_id"], "--name", "en=Harbour Desk", "--jwks",
                  str(tmp / "desk.jwks"), "--purpose", "dpv:HumanResourceManagement", "--legal-basis",
                  "dpv:LegalObligation", "--claims", "SkillCertificate:" + ",".join(claims)),
                 ("sign",)):
        amana(env, "trust", *args, "--dir", trust)
    return org["api_key"], desk["desk_key"]
