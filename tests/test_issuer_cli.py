"""``amana issuer`` for staff without a browser: find a person's credentials by reference,
revoke, suspend and reinstate them, list, cancel and replace open offers — run as real
subprocesses against the store of a running node (issue 10)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.credtypes import load_registry
from core.settings import REPO_ROOT, Settings
from tests.node import RunningNode
from tests.raw_files import stored_bytes
from wallet.receive import receive

SKILL = REPO_ROOT / "specs/credentials/SkillCertificate/example.json"


def test_staff_find_revoke_and_handle_offers_from_a_shell(tmp_path: Path) -> None:
    env = {**os.environ, "AMANA_DATA_DIR": str(tmp_path)}

    def amana(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([sys.executable, "-m", "server.cli", "issuer", *args], capture_output=True, text=True,
                              cwd=REPO_ROOT, env=env, check=False, timeout=60)
        assert (done.returncode == 0) == ok, done.stderr
        return done

    def lines(done: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
        return [json.loads(line) for line in done.stdout.splitlines()]

    amana("create-org", "--slug", "open-doors", "--name", "en=Open Doors", "--type", "SkillCertificate")
    with RunningNode(tmp_path) as node:
        env["AMANA_PUBLIC_BASE_URL"] = node.base
        made = json.loads(amana("offer", "--org", "open-doors", "--type", "SkillCertificate", "--claims", str(SKILL),
                                "--batch", "2", "--reference", "Case 4711").stdout)
        lost = json.loads(amana("offer", "--org", "open-doors", "--type", "SkillCertificate", "--claims", str(SKILL),
                                "--reference", "Case 4712").stdout)

        async def collect() -> None:
            async with httpx.AsyncClient() as http:
                await receive(http, made["link"], made["pin"], copies=2, types=load_registry(Settings().specs_dir))

        asyncio.run(collect())

    found = lines(amana("credentials", "--org", "open-doors", "--reference", "case 4711"))
    assert len(found) == 2 and {c["reference"] for c in found} == {"Case 4711"}
    assert {c["status"] for c in found} == {"valid"}
    assert lines(amana("credentials", "--org", "open-doors"))[0]["reference"] == "Case 4711"

    suspended = json.loads(amana("suspend", "--org", "open-doors", "--id", found[0]["id"]).stdout)
    assert suspended == {"id": found[0]["id"], "status": "suspended", "copies": 2}  # the batch, counted
    assert {c["status"] for c in lines(amana("credentials", "--org", "open-doors"))} == {"suspended"}  # both copies
    assert json.loads(amana("reinstate", "--org", "open-doors", "--id", found[1]["id"]).stdout)["status"] == "valid"
    assert json.loads(amana("revoke", "--org", "open-doors", "--id", found[1]["id"]).stdout)["status"] == "revoked"
    refused = amana("reinstate", "--org", "open-doors", "--id", found[1]["id"], ok=False)
    assert json.loads(refused.stderr)["code"] == "status_change_refused"  # revoked stays revoked
    assert json.loads(amana("revoke", "--org", "open-doors", "--id", "no-such-id", ok=False).stderr)["code"] == \
        "not_found"

    listed = amana("offers", "--org", "open-doors")
    [open_offer] = lines(listed)
    assert open_offer["offer_id"] == lost["offer_id"] and open_offer["reference"] == "Case 4712"
    assert listed.stdout.strip() == json.dumps(open_offer, ensure_ascii=False)  # written as every other command writes
    said = amana("reoffer", "--org", "open-doors", "--id", lost["offer_id"]).stdout
    replaced = json.loads(said)
    assert said.strip() == json.dumps(replaced, ensure_ascii=False)
    assert replaced["pin"] and replaced["offer_id"] != lost["offer_id"]
    amana("cancel-offer", "--org", "open-doors", "--id", replaced["offer_id"])
    assert lines(amana("offers", "--org", "open-doors")) == []
    stored = stored_bytes(Settings(data_dir=tmp_path))  # SQLite's files by a child process, or PostgreSQL's rows
    assert b"open-doors" in stored and found[0]["id"].encode() in stored  # the store was read
    # References are sealed at rest, in every case (the lookup key is the casefolded form). Whole:
    # "Case" or "4711" alone turn up by chance in ~100 KB of base64url ids and digests (one run in
    # a hundred or so); a space never does.
    assert b"case 4711" not in stored.lower() and b"case 4712" not in stored.lower()


@pytest.mark.parametrize("command", ["revoke", "suspend", "reinstate", "credentials", "offers", "cancel-offer",
                                     "reoffer"])
def test_every_staff_command_explains_itself(command: str) -> None:
    done = subprocess.run([sys.executable, "-m", "server.cli", "issuer", command, "--help"], capture_output=True,
                          text=True, cwd=REPO_ROOT, check=False, timeout=60)
    assert done.returncode == 0 and "--org" in done.stdout
