"""``amana wallet`` end to end, as real subprocesses against a node on loopback (issue 12, item 9):
create → receive from the node's issuer → list → present to the node's verifier (and decline one)
→ history with names only → export → destroy → import → list again; wrong passphrase, a mistyped
recovery code and a tampered export file refused with nothing changed; and the wallet's database
holds none of what it keeps in the clear."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from core import db
from core.encoding import b64url_decode
from core.errors import WrongPassphrase
from core.settings import REPO_ROOT, Settings
from tests.node import RunningNode, free_port
from tests.raw_files import raw_bytes, stored_bytes
from tests.server_process import POSTGRES_URL, empty_postgres, verifier_result
from wallet import flows, holder, store
from wallet.vault import KdfParams

PASS = "Zq7 the holder's own passphrase"
EXPORT_PASS = "another one, for the file"
SKILL = REPO_ROOT / "specs/credentials/SkillCertificate/example.json"
FAST = KdfParams(opslimit=1, memlimit=8192)  # what is stored does not depend on the KDF's cost


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
        assert "--allow-unregistered" in _problem(unlisted)["detail"]  # what to type, if the holder trusts it
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
        assert answered["shown"] == {"skill": ["skill"]}  # --yes: the part of the first claim set that also answers
        assert _out(verifier_result(node_env, check["id"]))["accepted"] is True

        declined_check = _out(_cli(node_env, "verifier", "request", "--query", "skill-check"))
        # No answer to read (stdin closed, as under cron): nothing done, not even a "no" sent
        unread = wallet("present", declined_check["link"], ok=False, stdin="")
        assert _problem(unread)["code"] == "invalid_input" and "--yes" in _problem(unread)["detail"]
        waiting = _cli(node_env, "verifier", "result", declined_check["id"], ok=False)
        assert waiting.returncode == 3 and _out(waiting)["declined"] is False
        said_no = wallet("present", declined_check["link"], ok=False, stdin="n\n")
        # stdout one JSON document (click's confirm wrote a space before it), and the holder told (helper-79)
        assert _out(said_no) == {"declined": answered["answered"], "shown": {}, "continue_at": None}
        assert "The verifier was told you said no." in said_no.stderr and said_no.stdout.startswith("{")

        shown = wallet("history")
        given, declined = _out(shown)["history"]
        assert (given["event"], declined["event"]) == ("given", "declined")
        assert given["data_categories"] == ["skill"] and given["controller"]["name"] == "Harbour Desk"
        assert given["purposes"] == ["https://w3id.org/dpv#HumanResourceManagement"]
        assert len(given["copy_ids"]) == 1 and declined["copy_ids"] == []
        # where the disclosure stands at the consent ledger; its signed receipts and proofs with --full
        # (kilobytes of base64 on one line made the history unreadable: helper-79)
        assert set(given["receipt"]) == {"ledger", "record_id", "state", "withdrawable"}, given["receipt"]
        assert given["receipt"]["state"] == "given" and declined["receipt"] is None
        kept = _out(wallet("history", "--full"))["history"][0]["receipt"]
        assert kept["record_id"] == given["receipt"]["record_id"] and kept["receipts"] and len(shown.stdout) < 4000
        assert "operate forklift" not in shown.stdout
        # One unused copy was left: the wallet fetched two fresh ones with the issuer's refresh token.
        listed = _out(wallet("list"))["cards"][0]
        assert (listed["copies"], listed["copies_left"], listed["refreshable"], listed["warning"]) == (4, 3, True, None)

        stored = stored_bytes(Settings(data_dir=tmp_path / "holder", database_url=None))  # as holder_env has it
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
        here = _problem(wallet("import", str(exported), ok=False))  # the same file again: nothing replaced
        assert (here["code"], here["status"]) == ("wallet_already_here", 409)
        [card] = _out(wallet("list"))["cards"]
        assert (card["copies"], card["copies_left"], card["refreshable"]) == (4, 3, True)  # the grant moved too
        assert len(_out(wallet("history"))["history"]) == 2
        assert _out(wallet("recover", AMANA_WALLET_RECOVERY_CODE=imported["recovery_code"],
                           AMANA_WALLET_PASSPHRASE="a new passphrase"))["passphrase_changed"] is True
        assert _out(wallet("list", AMANA_WALLET_PASSPHRASE="a new passphrase"))["name"] == "Amal Haddad"


# --- the raw database, on both stores -------------------------------------------------------------


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str, dict[str, str], dict[str, Any]]]:
    """A node (SQLite, its own directory) with an issuer and a verifier on a signed trust list."""
    tmp = tmp_path_factory.mktemp("served")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AMANA_") and k != "DATABASE_URL"}
    port = free_port()
    node_env = clean | {"AMANA_DATA_DIR": str(tmp / "node"), "AMANA_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}"}
    org = _node_setup(node_env, tmp)
    with RunningNode(tmp / "node", port=port, database_url=None) as node:
        yield tmp, node.base, node_env, org


async def _stored(ctx: holder.WalletContext) -> bytes:
    """What a thief of the wallet's database gets: the SQLite files byte for byte (WAL included),
    or every column of every row of every table of the schema (information_schema) on PostgreSQL:
    bytes as stored, everything else as text."""
    if db.database_url(ctx.settings).startswith("sqlite"):
        return raw_bytes(ctx.settings.data_dir, "amana.db*")  # by a child process: tests.raw_files says why
    from sqlalchemy import text

    found: list[bytes] = []
    async with ctx.engine.connect() as connection:
        tables = (await connection.execute(text(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() "
            "AND table_type = 'BASE TABLE'"))).scalars().all()
        assert "wallet_vaults" in tables and "console_login_attempts" in tables, tables
        for table in tables:
            # A table name the database itself listed, of our own schema.
            for row in await connection.execute(text(f'SELECT * FROM "{table}"')):  # noqa: S608
                found += [v if isinstance(v, bytes) else str(v).encode() for v in row]
    return b"\n".join(found)


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_the_wallets_database_holds_nothing_in_the_clear(
        served: tuple[Path, str, dict[str, str], dict[str, Any]], tmp_path: Path, database: str) -> None:
    """Issue 12's acceptance: after the use cases received, presented and declined (so the vault
    holds credentials, keys, a history and answered nonces, and an unlock attempt is counted), no
    claim value or name, holder key, credential, token, verifier name or id, passphrase or
    recovery code is anywhere in the wallet's database. The same dump then finds the content once
    it is planted unencrypted: the search would see a leak."""
    if database == "postgresql":
        if not POSTGRES_URL:
            pytest.skip("no PostgreSQL (set AMANA_TEST_DATABASE_URL; .ci/run does)")
        empty_postgres(POSTGRES_URL)
    tmp, base, node_env, org = served
    holder_trust = tmp_path / "holder" / "trust"
    holder_trust.mkdir(parents=True)
    for name in ("governance.jwks.json", "trust-list.jwt"):  # the holder knows the node's issuer and verifier
        (holder_trust / name).write_bytes((tmp / "node" / "trust" / name).read_bytes())
    settings = Settings(data_dir=tmp_path / "holder", public_base_url=base,
                        database_url=POSTGRES_URL if database == "postgresql" else None)
    offer = httpx.post(f"{base}/api/issuer/offers", headers={"Authorization": f"Bearer {org['api_key']}"},
                       json={"type": "SkillCertificate", "claims": json.loads(SKILL.read_text()), "batch_size": 2},
                       timeout=30).json()
    given_link, declined_link = (_out(_cli(node_env, "verifier", "request", "--query", "skill-check"))["link"]
                                 for _ in range(2))
    tokens: list[str] = []  # what the token endpoint handed the wallet
    seen: list[str] = []  # and the pre-authorized code, the requests' client id and nonces

    async def capture(response: httpx.Response) -> None:
        if response.request.url.path.endswith("/token"):
            await response.aread()
            tokens.extend(v for k, v in response.json().items() if k in ("access_token", "refresh_token"))

    async def hold() -> tuple[str, str, holder.Opened]:
        ctx = await holder.WalletContext.open(settings, kdf=FAST)
        try:
            wallet_id, code = await holder.create(ctx, PASS, "Amal Haddad")
            with pytest.raises(WrongPassphrase):
                await holder.unlock(ctx, wallet_id, "not it")  # a counted attempt: its table has a row
            opened = await holder.unlock(ctx, wallet_id, PASS)
            async with flows.http_client(settings) as http:
                http.event_hooks["response"].append(capture)
                offered = await flows.look_at_offer(ctx, http, offer["link"], "en")
                seen.append(offered.offer.grant["pre-authorized_code"])
                opened, _ = await flows.accept_offer(ctx, opened, http, offered, offer["pin"], copies=2,
                                                     allow_unregistered=False)
                asked = await flows.open_request(ctx, opened, http, given_link, "en")
                assert not asked.screen.who.unknown
                opened = (await flows.give(ctx, opened, http, asked, flows.default_choice(asked.screen),
                                           heeded_warning=False)).opened
                refused = await flows.open_request(ctx, opened, http, declined_link, "en")
                opened = (await flows.decline(ctx, opened, http, refused)).opened
            seen.extend([asked.request.client_id, asked.request.nonce, refused.request.nonce])
            return wallet_id, code, opened
        finally:
            await ctx.engine.dispose()

    wallet_id, code, opened = asyncio.run(hold())
    assert [r.event for r in opened.contents.history] == ["given", "declined"] and len(opened.contents.copies) == 2
    assert tokens, "the access token was not caught"
    example = json.loads(SKILL.read_text())
    secrets: dict[str, bytes] = {f"claim name {k}": k.encode() for k in example}
    secrets |= {"claim value": b"operate forklift", "given name": b"Layla", "family name": b"Haddad",
                "esco uri": example["skill"]["uri"].encode(), "organisation": b"Amana Demo NGO",
                "verifier name": b"Harbour Desk", "wallet name": b"Amal Haddad", "passphrase": PASS.encode(),
                "recovery code": code.encode(), "recovery code, bare": code.replace("-", "").encode(),
                "issuer": org["issuer"].encode(), "vct": b"SkillCertificate", "purpose": b"HumanResource"}
    secrets |= {f"token {n}": v.encode() for n, v in enumerate(tokens)}
    secrets |= {f"wire {n}": v.encode() for n, v in enumerate(seen)}
    for n, copy in enumerate(opened.contents.copies):
        jwt, *disclosures = [part for part in copy.credential.split("~") if part]
        secrets |= {f"holder key d {n}": copy.holder_key["d"].encode(),
                    f"holder key d {n}, raw": b64url_decode(copy.holder_key["d"]),
                    f"issuer-signed JWT {n}": jwt.encode(), f"copy id {n}": copy.copy_id.encode()}
        secrets |= {f"disclosure {n}.{i}": d.encode() for i, d in enumerate(disclosures)}

    async def dumps() -> tuple[bytes, bytes]:
        ctx = await holder.WalletContext.open(settings, kdf=FAST)
        try:
            stored = await _stored(ctx)
            async with ctx.transaction() as session:  # the content unencrypted, as a broken vault would write it
                await store.save(session, replace(opened.sealed, content=opened.contents.to_bytes()), opened.version)
            return stored, await _stored(ctx)
        finally:
            await ctx.engine.dispose()

    stored, planted = asyncio.run(dumps())
    assert wallet_id.encode() in stored  # the dump is real
    leaked = [what for what, value in secrets.items() if value in stored]
    assert leaked == [], leaked
    found = {what for what, value in secrets.items() if value in planted}
    assert {"claim value", "holder key d 0", "issuer-signed JWT 0", "verifier name", "wallet name",
            "wire 1"} <= found, found  # (the vault keeps no access token)
