"""``amana wallet`` end to end, as real subprocesses against a node on loopback (issue 12, item 9):
create → receive from the node's issuer → list → present to the node's verifier (and decline one)
→ history with names only → export → destroy → import → list again; wrong passphrase, a mistyped
recovery code and a tampered export file refused with nothing changed; and the wallet's database
holds none of what it keeps in the clear."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from core.settings import REPO_ROOT
from tests.node import RunningNode, free_port

PASS = "Zq7 the holder's own passphrase"
EXPORT_PASS = "another one, for the file"
SKILL = REPO_ROOT / "specs/credentials/SkillCertificate/example.json"


def _cli(env: dict[str, str], *args: str, ok: bool = True, stdin: str = "") -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "server.cli", *args], capture_output=True, text=True, cwd=REPO_ROOT,
                          env=env, check=False, input=stdin, timeout=120)
    assert (done.returncode == 0) == ok, f"{args}: {done.stdout}\n{done.stderr}"
    return done


def _out(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(done.stdout)
    return value


def _problem(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(done.stderr.strip().splitlines()[-1])
    return value


def _node_setup(env: dict[str, str], tmp_path: Path) -> dict[str, Any]:
    org = _out(_cli(env, "issuer", "create-org", "--slug", "ngo", "--name", "en=NGO", "--type", "SkillCertificate",
                    "--jwks-out", str(tmp_path / "ngo.jwks")))
    desk = _out(_cli(env, "verifier", "init"))
    (tmp_path / "v.jwks").write_text(json.dumps(desk["jwks"]))
    trust = str(tmp_path / "node" / "trust")
    for args in (("init", "--iss", "https://gov.amana.test"),
                 ("add-issuer", "--id", org["issuer"], "--name", "en=NGO", "--jwks", str(tmp_path / "ngo.jwks"),
                  "--vct", "SkillCertificate"),
                 ("register-verifier", "--id", desk["verifier_id"], "--name", "en=Harbour Desk", "--jwks",
                  str(tmp_path / "v.jwks"), "--purpose", "dpv:HumanResourceManagement", "--legal-basis",
                  "dpv:LegalObligation", "--claims", "SkillCertificate:skill,eqf_level"),
                 ("sign",)):
        _cli(env, "trust", *args, "--dir", trust)
    return org


def test_a_holder_from_a_shell(tmp_path: Path) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AMANA_") and k != "DATABASE_URL"}
    port = free_port()  # ids (issuer, verifier) carry the node's address: known before they are made
    node_env = clean | {"AMANA_DATA_DIR": str(tmp_path / "node"), "AMANA_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}"}
    _node_setup(node_env, tmp_path)
    with RunningNode(tmp_path / "node", port=port) as node:
        holder_env = clean | {"AMANA_DATA_DIR": str(tmp_path / "holder"), "AMANA_PUBLIC_BASE_URL": node.base,
                              "AMANA_WALLET_PASSPHRASE": PASS, "AMANA_WALLET_EXPORT_PASSPHRASE": EXPORT_PASS}

        def wallet(*args: str, ok: bool = True, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
            return _cli(holder_env | env, "wallet", *args, ok=ok, stdin=stdin)

        made = _out(wallet("create", "--name", "Amal Haddad"))
        wallet_id, code = made["wallet_id"], made["recovery_code"]
        offer = _out(_cli(node_env, "issuer", "offer", "--org", "ngo", "--type", "SkillCertificate", "--claims",
                          str(SKILL), "--batch", "2"))
        # The holder's wallet has no trust list yet: the issuer is unknown to it, and the offer is
        # not redeemed (not spent) until the holder says they want it anyway.
        unlisted = wallet("receive", offer["link"], "--pin", offer["pin"], "--copies", "2", ok=False)
        assert _problem(unlisted)["code"] == "issuer_unregistered" and "WARNING" in unlisted.stderr
        got = _out(wallet("receive", offer["link"], "--pin", offer["pin"], "--copies", "2", "--allow-unregistered"))
        assert got["received"] == 2 and got["wallet"] == wallet_id and got["issuer_registered"] is False
        assert got["refreshable"] is True  # the node's issuer gave a refresh token

        listed = wallet("list")
        [card] = _out(listed)["cards"]
        assert (card["copies"], card["copies_left"]) == (2, 2) and "operate forklift" not in listed.stdout
        assert _out(wallet("list", "--show-claims"))["cards"][0]["claims"]["skill"]["label"] == "operate forklift"

        check = _out(_cli(node_env, "verifier", "request", "--query", "skill-check"))
        # Nor is any verifier known to it, so --yes alone
        # does not answer (issue 12 item 9) and nothing is given or marked.
        unknown = wallet("present", check["link"], "--yes", ok=False)
        assert _problem(unknown)["code"] == "consent_warning_unheeded" and "Unknown verifier" in unknown.stderr
        assert _out(wallet("list"))["cards"][0]["copies_left"] == 2
        holder_trust = tmp_path / "holder" / "trust"
        holder_trust.mkdir()
        for name in ("governance.jwks.json", "trust-list.jwt"):  # the anchor and list the node publishes
            (holder_trust / name).write_bytes((tmp_path / "node" / "trust" / name).read_bytes())
        answered_run = wallet("present", check["link"], "--yes")
        assert "Who asks: Harbour Desk" in answered_run.stderr and "WARNING" not in answered_run.stderr
        answered = _out(answered_run)
        assert answered["shown"] == {"skill": ["skill", "eqf_level"]}
        assert _out(_cli(node_env, "verifier", "result", check["id"]))["accepted"] is True

        declined_check = _out(_cli(node_env, "verifier", "request", "--query", "skill-check"))
        wallet("present", declined_check["link"], ok=False, stdin="n\n")

        shown = wallet("history")
        given, declined = _out(shown)["history"]
        assert (given["event"], declined["event"]) == ("given", "declined")
        assert given["data_categories"] == ["eqf_level", "skill"] and given["controller"]["name"] == "Harbour Desk"
        assert given["purposes"] == ["https://w3id.org/dpv#HumanResourceManagement"]
        assert len(given["copy_ids"]) == 1 and declined["copy_ids"] == []
        assert "operate forklift" not in shown.stdout
        # One unused copy was left: the wallet fetched two fresh ones with the issuer's refresh token.
        listed = _out(wallet("list"))["cards"][0]
        assert (listed["copies"], listed["copies_left"], listed["refreshable"], listed["warning"]) == (4, 3, True, None)

        stored = b"".join(p.read_bytes() for p in (tmp_path / "holder").glob("amana.db*"))
        assert wallet_id.encode() in stored  # it is the wallet's database
        for clear in ("operate forklift", "eqf_level", "skill", "Amal Haddad", "Harbour Desk", PASS,
                      answered["answered"], offer["link"].split("%2F")[-1], "/issuers/ngo", "SkillCertificate",
                      "HumanResource"):
            assert clear.encode() not in stored, clear
        assert not (tmp_path / "holder" / "wallet").exists()

        wrong = wallet("history", ok=False, AMANA_WALLET_PASSPHRASE="not it")
        assert _problem(wrong)["code"] == "wrong_passphrase" and "not it" not in wrong.stderr
        typo = code[:-1] + ("A" if code[-1] != "A" else "B")
        mistyped = wallet("recover", ok=False, AMANA_WALLET_RECOVERY_CODE=typo)
        assert _problem(mistyped)["code"] == "invalid_recovery_code"
        assert len(_out(wallet("history"))["history"]) == 2  # nothing changed, still opens

        exported = tmp_path / "moving.json"
        assert _out(wallet("export", str(exported)))["exported"] == wallet_id
        assert exported.stat().st_mode & 0o077 == 0 and b"operate forklift" not in exported.read_bytes()
        receipt = _out(wallet("destroy", "--exported", str(exported), "--yes"))
        assert receipt["receipt"] == "wallet destroyed" and receipt["wallet_id"] == wallet_id
        assert receipt["destroyed_at"].endswith("Z")
        assert _problem(wallet("list", ok=False))["code"] == "invalid_input"  # no wallet here any more

        document = json.loads(exported.read_text())
        middle = len(document["ciphertext"]) // 2
        document["ciphertext"] = document["ciphertext"][:middle] + (
            "A" if document["ciphertext"][middle] != "A" else "B") + document["ciphertext"][middle + 1:]
        tampered = tmp_path / "tampered.json"
        tampered.write_text(json.dumps(document))
        assert _problem(wallet("import", str(tampered), ok=False))["code"] == "vault_tampered"
        assert _problem(wallet("import", str(exported), ok=False, AMANA_WALLET_EXPORT_PASSPHRASE="no"))["code"] == \
            "wrong_passphrase"
        assert _problem(wallet("list", ok=False))["code"] == "invalid_input"  # the refusals changed nothing

        imported = _out(wallet("import", str(exported)))
        assert imported["wallet_id"] == wallet_id and imported["recovery_code"] != code
        [card] = _out(wallet("list"))["cards"]
        assert (card["copies"], card["copies_left"], card["refreshable"]) == (4, 3, True)  # the grant moved too
        assert len(_out(wallet("history"))["history"]) == 2
        assert _out(wallet("recover", AMANA_WALLET_RECOVERY_CODE=imported["recovery_code"],
                           AMANA_WALLET_PASSPHRASE="a new passphrase"))["passphrase_changed"] is True
        assert _out(wallet("list", AMANA_WALLET_PASSPHRASE="a new passphrase"))["name"] == "Amal Haddad"
