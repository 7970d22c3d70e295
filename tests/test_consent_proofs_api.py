"""The ledger's public proof endpoints over HTTP: RFC 9162 proofs that verify, and a tree number
written one way only (helper-84 found "01", "+1" and "1.0" all answered as 1)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from consent import merkle
from consent.app import build_app
from consent.checkpoint import Verifier, parse_checkpoint, verify_checkpoint
from core.settings import Settings

LEAVES = [bytes([i]) * 32 for i in range(7)]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = Settings(data_dir=Path(tmp_path_factory.mktemp("ledger")), public_base_url="http://127.0.0.1:8000")
    with TestClient(build_app(settings)) as client:
        ctx = client.app.state.consent  # type: ignore[attr-defined]

        async def grow() -> None:
            async with ctx.ledger.transaction() as session:
                await ctx.ledger.log.append(session, LEAVES, 1_700_000_000)

        client.portal.call(grow)  # type: ignore[union-attr]
        yield client


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_the_published_log_key_verifies_the_checkpoint(client: TestClient) -> None:
    """A monitor holding no receipt reads the key here (C2SP vkey) and checks checkpoints with it."""
    vkey = client.get("/consent/log-key").text.strip()
    verifier = Verifier.from_vkey(vkey)
    assert verifier.name == "127.0.0.1:8000/consent"
    assert verify_checkpoint(client.get("/consent/checkpoint").text, verifier, verifier.name).size == len(LEAVES)


def test_the_proofs_verify_against_the_checkpoint(client: TestClient) -> None:
    head = parse_checkpoint(client.get("/consent/checkpoint").text.split("\n\n")[0] + "\n")
    assert head.size == len(LEAVES)
    for index, leaf in enumerate(LEAVES):
        answer = client.get("/consent/proofs/inclusion", params={"index": index, "size": head.size}).json()
        proof = [_b64url(h) for h in answer["inclusion"]]
        merkle.verify_inclusion(merkle.leaf_hash(leaf), index, head.size, proof, head.root)
    old_root = merkle.mth(LEAVES[:3])
    answer = client.get("/consent/proofs/consistency", params={"old": 3, "new": head.size}).json()
    merkle.verify_consistency(3, head.size, [_b64url(h) for h in answer["consistency"]], old_root, head.root)


@pytest.mark.parametrize("spelled", ["01", "+1", "1.0", "1e0", " 1", "1 ", "\u0661", "0x1", "-0", ""])
def test_a_tree_number_is_decimal_digits_only(client: TestClient, spelled: str) -> None:
    for path, params in [("inclusion", {"index": spelled, "size": "7"}), ("inclusion", {"index": "1", "size": spelled}),
                         ("consistency", {"old": spelled, "new": "7"}), ("consistency", {"old": "1", "new": spelled})]:
        answer = client.get(f"/consent/proofs/{path}", params=params)
        assert answer.status_code == 400, (path, params, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
    assert client.get("/consent/proofs/inclusion", params={"index": "1", "size": "7"}).status_code == 200
    assert client.get("/consent/proofs/inclusion", params={"index": "0", "size": "7"}).status_code == 200


def test_a_proof_no_tree_has_is_named_a_wrong_request_not_a_failed_proof(client: TestClient) -> None:
    """``index >= size`` and ``old > new`` ask for what no tree has: a 400 that says so (helper-85:
    it was "The Merkle proof does not verify"); beyond the tree is still a 404."""
    head = parse_checkpoint(client.get("/consent/checkpoint").text.split("\n\n")[0] + "\n")
    for path, params in [("inclusion", {"index": head.size, "size": head.size}),
                         ("inclusion", {"index": head.size + 5, "size": head.size}),
                         ("consistency", {"old": head.size, "new": head.size - 1})]:
        answer = client.get(f"/consent/proofs/{path}", params=params)
        assert answer.status_code == 400 and answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["code"] == "no_such_proof" and "does not verify" not in answer.json()["title"], params
    beyond = client.get("/consent/proofs/inclusion", params={"index": 0, "size": head.size + 1})
    assert beyond.status_code == 404


def test_a_node_whose_public_url_changed_says_its_log_changes_name(tmp_path: Path,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    """The log's name (its origin) follows the public URL, and a new name gets a new key: a mistyped
    or changed AMANA_PUBLIC_BASE_URL forks the log's identity silently (helper-84). The node says so
    when it starts; started again as before, it says nothing."""
    def started(base: str) -> list[str]:
        caplog.clear()
        with TestClient(build_app(Settings(data_dir=tmp_path, public_base_url=base))) as client:
            assert client.get("/consent/checkpoint").status_code == 200  # signs: the key of this name is made
        return [r.getMessage() for r in caplog.records if r.name == "amana.consent" and r.levelname == "WARNING"]

    caplog.set_level("WARNING", logger="amana.consent")
    assert started("https://ngo.example") == []
    assert started("https://ngo.example") == []
    [said] = started("https://localhost:8443")
    assert "ngo.example/consent" in said and "localhost:8443/consent" in said
