"""``amana wallet``, the shell holder: which copy answers whom, and http only in local mode.

The whole receive → present path runs in tests/test_readme_path.py against a real node.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core import dcql
from core.errors import InvalidInput
from core.settings import REPO_ROOT
from wallet.content import Copy, choose

SKILL = "urn:amana:credential:SkillCertificate:1"
QUERY = dcql.parse({"credentials": [{"id": "skill", "format": "dc+sd-jwt", "meta": {"vct_values": [SKILL]},
                                     "claims": [{"path": ["skill"]}]}]})


def _held(*shown_to: str | None, vct: str = SKILL) -> list[Copy]:
    return [Copy(f"copy{i}", f"cred{i}", {}, vct, "https://i.example", "b", 0, shown_to=who)
            for i, who in enumerate(shown_to)]


def test_a_copy_goes_to_one_verifier_only() -> None:
    held = _held("https://a.example/verifier", None, None)
    assert choose(held, QUERY, "https://b.example/verifier")["skill"].copy_id == "copy1"  # never copy0: A saw it
    assert choose(held, QUERY, "https://a.example/verifier")["skill"].copy_id == "copy0"  # A again: the copy A knows
    with pytest.raises(InvalidInput, match="shown to another verifier"):
        choose(_held("https://a.example/verifier"), QUERY, "https://b.example/verifier")


def test_only_the_asked_type_answers() -> None:
    with pytest.raises(InvalidInput, match="no credential"):
        choose(_held(None, vct="urn:amana:credential:RegistrationStatus:1"), QUERY, "https://a.example/verifier")


def test_plain_http_is_refused_before_the_offer_is_spent(tmp_path: Path) -> None:
    """Plain http outside local mode is refused (the wallet unlocks first, then fetches)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AMANA_")}
    env |= {"AMANA_DATA_DIR": str(tmp_path), "AMANA_PUBLIC_BASE_URL": "https://node.example",
            "AMANA_WALLET_PASSPHRASE": "p"}
    run = [sys.executable, "-m", "server.cli", "wallet"]
    subprocess.run([*run, "create"], capture_output=True, text=True, cwd=REPO_ROOT, env=env, check=True)
    link = "openid-credential-offer://?credential_offer_uri=http%3A%2F%2F127.0.0.1%3A9%2Foffers%2Fx"
    done = subprocess.run([*run, "receive", link, "--pin", "123456"], capture_output=True, text=True, cwd=REPO_ROOT,
                          env=env, check=False)
    assert done.returncode == 1 and json.loads(done.stderr)["code"] == "fetch_refused"
    assert not (tmp_path / "wallet").exists()  # no plaintext file beside the database, ever


def test_no_passphrase_and_no_terminal_is_a_problem_not_a_hang(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AMANA_")} | {"AMANA_DATA_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "server.cli", "wallet", "create"], capture_output=True, text=True,
                          cwd=REPO_ROOT, env=env, check=False, stdin=subprocess.DEVNULL)
    assert done.returncode == 1 and json.loads(done.stderr.splitlines()[-1])["code"] == "invalid_input"


def test_with_two_wallets_here_a_command_asks_which(tmp_path: Path) -> None:
    """A node keeps every wallet made on it, the web wallet's too: a shell command not told which
    says so by name, with what to add, and --wallet then opens the one asked for (helper-79: "The
    input is malformed" told a holder nothing)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AMANA_")}
    env |= {"AMANA_DATA_DIR": str(tmp_path), "AMANA_WALLET_PASSPHRASE": "two wallets, one shell"}
    run = [sys.executable, "-m", "server.cli", "wallet"]
    made = [json.loads(subprocess.run([*run, "create"], capture_output=True, text=True, cwd=REPO_ROOT, env=env,
                                      check=True).stdout)["wallet_id"] for _ in range(2)]
    asked = subprocess.run([*run, "list"], capture_output=True, text=True, cwd=REPO_ROOT, env=env, check=False)
    problem = json.loads(asked.stderr)
    assert asked.returncode == 1 and problem["code"] == "which_wallet" and "--wallet" in problem["detail"]
    assert not any(wallet_id in asked.stderr for wallet_id in made)  # nobody's wallet code is listed to the shell
    chosen = subprocess.run([*run, "list", "--wallet", made[1]], capture_output=True, text=True, cwd=REPO_ROOT,
                            env=env, check=False)
    assert chosen.returncode == 0 and json.loads(chosen.stdout)["cards"] == []
