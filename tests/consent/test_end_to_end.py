"""The consent ledger end to end over HTTP on loopback (issue 14): a holder's wallet presents to the
node's verifier; the verifier records the disclosure (names only, its registered purpose and legal
basis: here a legal obligation) and signs its receipt; the wallet keeps the receipt, counter-signed,
and it verifies; export (27560) and erasure by the holder's pairwise proof, with no account; and the
ledger's tables and the logs hold no claim value, no holder name, no holder key in clear."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from sqlalchemy import text

import consent.store.log
import consent.store.records  # noqa: F401
from consent import pseudonym, receipts
from consent.checkpoint import Checkpoint, Signer, sign_checkpoint
from consent.records import SpecialCategories
from core import _jose, db, keys
from core.db import Base
from core.encoding import b64url_decode, b64url_encode
from tests.node import RunningNode
from tests.server_process import POSTGRES_URL, empty_postgres
from tests.test_verifier_flow import STATUS_EXAMPLE, STATUS_VCT, World
from tests.test_wallet_copies import Holder
from wallet import flows, holder, ledger, rights

# Every table of the ledger, records' and log's alike, as the code declares them.
LEDGER_TABLES = sorted(t for t in Base.metadata.tables if t.startswith("consent_"))


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    url = None
    if request.param == "postgresql":
        if not POSTGRES_URL:
            pytest.skip("no PostgreSQL (.ci/run starts one; set AMANA_TEST_DATABASE_URL)")
        url = POSTGRES_URL
        empty_postgres(url)
    data_dir = tmp_path_factory.mktemp("consent")
    extra: dict[str, Any] = {"database_url": url} if url else {}
    with RunningNode(data_dir, **extra) as node:
        yield World(node, data_dir, database_url=url)


def _secrets_of(h: Holder) -> list[str]:
    """What would identify the holder or their data: claim values, their name, their keys."""
    values = [str(v) for v in STATUS_EXAMPLE.values() if not isinstance(v, bool)]
    copy = h.opened.contents.copies[0]
    holder_key = keys.PrivateKey.from_jwk(copy.holder_key).public_key()
    return [*values, "Amal", holder_key.thumbprint(), holder_key.to_jwk()["x"], str(h.opened.contents.ledger_key),
            h.opened.wallet_id]


async def _ledger_rows(world: World) -> str:
    engine = db.make_engine(db.database_url(world.node.settings))
    try:
        async with engine.connect() as connection:
            rows = [str(tuple(r)) for t in LEDGER_TABLES
                    for r in await connection.execute(text(f"SELECT * FROM {t}"))]  # noqa: S608 (our table names)
    finally:
        await engine.dispose()
    return "\n".join(rows)


async def _scalar(world: World, sql: str, **params: Any) -> Any:
    engine = db.make_engine(db.database_url(world.node.settings))
    try:
        async with engine.connect() as connection:
            return (await connection.execute(text(sql), params)).scalar_one()
    finally:
        await engine.dispose()


def test_a_disclosure_is_recorded_received_verified_exported_and_erased(
        world: World, tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    caplog.set_level(logging.DEBUG)

    shutil.copytree(world.data_dir / "trust", tmp_path / "holder" / "trust")  # the wallet knows the trust list

    async def story() -> None:
        async with Holder(world, tmp_path / "holder") as h:
            await h.receive(2)
            result, asked = await h.present()
            assert result["accepted"] is True, result
            # give() asked for the receipts once; a check still finishing then leaves a pointer,
            # which the wallet asks again for later (as the history page does): now the result is in.
            record_id = str(h.opened.contents.history[-1].receipt["record_id"])  # type: ignore[index]
            h.opened = await flows.keep_receipts(h.ctx, h.opened, h.http, record_id)
            pointer = h.opened.contents.history[-1].receipt
            assert pointer is not None and pointer["receipts"], pointer
            assert pointer["holder_signature"] and pointer["verifier_id"] == world.node.settings.verifier_id
            trust = world.verifier_ctx().trust_list()
            assert ledger.check(pointer, trust)
            record = pointer["record"]
            assert record["pii_categories"] == ["right_to_work", "valid_until"]
            assert record["purposes"][0]["legal_basis_article"] == "GDPR Art. 6(1)(c)"  # an authority's check
            assert record["notice"]["hash"] == ledger.notice(asked.screen).sha256
            assert record["notice"]["language"] == "en"

            changed = json.loads(json.dumps(pointer))  # a receipt altered in the vault no longer verifies
            changed["receipts"][0]["actor"] = "holder"
            assert not ledger.check(changed, trust)
            changed = json.loads(json.dumps(pointer))
            changed["receipts"][0]["proof"]["root"] = b64url_encode(bytes(32))
            assert not ledger.check(changed, trust)
            assert not ledger.check({**pointer, "holder_signature": ledger.countersign(bytes(32), pointer, 0)}, trust)
            # the checkpoint must be signed by the log key the verifier's receipt names, for this
            # ledger's origin: a note the ledger signs with another key, or a ledger elsewhere, fails
            proof = pointer["receipts"][0]["proof"]
            note_origin = proof["checkpoint"].splitlines()[0]
            forged = sign_checkpoint(Checkpoint(note_origin, proof["tree_size"], b64url_decode(proof["root"])),
                                     Signer(note_origin, ed25519.Ed25519PrivateKey.generate()))
            changed = json.loads(json.dumps(pointer))
            changed["receipts"][0]["proof"]["checkpoint"] = forged.note
            assert not ledger.check(changed, trust)
            assert not ledger.check({**pointer, "ledger": "https://elsewhere.example/consent"}, trust)
            # another record's receipts, or another holder's, verify as receipts, never as this one's
            assert not ledger.check({**pointer, "record_id": b64url_encode(bytes(24))}, trust)
            own = pseudonym.pairwise_key(h.opened.contents.consent_key(), pointer["verifier_id"]).public_key()
            assert ledger.check(pointer, trust, own)
            stranger_key = pseudonym.pairwise_key(bytes(32), pointer["verifier_id"]).public_key()
            assert not ledger.check(pointer, trust, stranger_key)
            assert ledger.log_origin(pointer["ledger"]) == note_origin

            # Receipts a ledger serves for another holder's record (here the record carried by the
            # "given" receipt names another key) are neither kept nor counter-signed by the wallet;
            # and the record it keeps is the one the receipt carries, not the ledger's copy.
            bare = {k: v for k, v in pointer.items() if k not in ("receipts", "record", "notice", "holder_signature")}

            def unkept(contents: Any) -> None:
                contents.history[-1] = dataclasses.replace(contents.history[-1], receipt=bare)

            h.opened, _ = await holder.update(h.ctx, h.opened, unkept)
            given = pointer["receipts"][0]
            signed = json.loads(b64url_decode(given["receipt"].split(".")[1]))
            signed["record"]["holder_key"] = {k: stranger_key.to_jwk()[k] for k in ("kty", "crv", "x")}
            anothers = _jose.sign_compact({"typ": receipts.RECEIPT_TYP}, signed, keys.generate())
            served: dict[str, Any] = {"receipts": [{**given, "receipt": anothers}], "record": pointer["record"]}

            async def serving(*_args: Any) -> dict[str, Any]:
                return served

            with monkeypatch.context() as patched:
                patched.setattr(ledger, "fetch", serving)
                h.opened = await flows.keep_receipts(h.ctx, h.opened, h.http, pointer["record_id"])
                assert h.opened.contents.history[-1].receipt == bare
                served = {"receipts": pointer["receipts"], "record": {**pointer["record"], "purposes": []}}
                h.opened = await flows.keep_receipts(h.ctx, h.opened, h.http, pointer["record_id"])
            again = h.opened.contents.history[-1].receipt
            assert again is not None and again["holder_signature"] and ledger.check(again, trust)
            assert again["record"] == pointer["record"]  # made from the receipt: the ledger's "no purposes" is not kept

            rows = await _ledger_rows(world)
            assert rows and all(s not in rows for s in _secrets_of(h)), "the ledger holds something in clear"
            logged = "\n".join(r.getMessage() for r in caplog.records)
            assert all(s not in logged for s in _secrets_of(h))

            key, vid = h.opened.contents.consent_key(), pointer["verifier_id"]

            async def holder_call(method: str, path: str, action: str) -> httpx.Response:
                proof = pseudonym.holder_proof(key, vid, action, world.verifier_ctx().now())
                return await h.http.request(method, f"{world.base}/consent{path}",
                                            headers={"Authorization": f"ConsentProof {proof}"})

            exported = (await holder_call("GET", "/export", "export")).json()["records"]
            assert [r["record_id"] for r in exported] == [pointer["record_id"]]
            # a proof seen on the wire is good once, even within its five minutes
            once = pseudonym.holder_proof(key, vid, "export", world.verifier_ctx().now())
            answers = [await h.http.get(f"{world.base}/consent/export",
                                        headers={"Authorization": f"ConsentProof {once}"}) for _ in range(2)]
            assert [r.status_code for r in answers] == [200, 401], answers
            assert answers[1].json()["code"] == "holder_proof_invalid"
            stranger = pseudonym.holder_proof(bytes(32), vid, f"read:{pointer['record_id']}",
                                              world.verifier_ctx().now())
            r = await h.http.get(f"{world.base}/consent/records/{pointer['record_id']}/receipts",
                                 headers={"Authorization": f"ConsentProof {stranger}"})
            assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
            r = await h.http.get(f"{world.base}/consent/export")
            assert r.status_code == 401 and r.json()["code"] == "holder_proof_invalid"

            h.opened, erased = await rights.erase(h.ctx, h.opened, h.http, pointer["record_id"])
            assert erased == 1 and h.opened.contents.history[-1].receipt["erased"] is True  # type: ignore[index]
            assert (await holder_call("GET", "/export", "export")).json() == {"records": []}
            r = await holder_call("GET", f"/records/{pointer['record_id']}/receipts", f"read:{pointer['record_id']}")
            assert r.status_code == 404
            rows = await _ledger_rows(world)
            assert pseudonym.subject_id(key, vid) not in rows and pointer["record_id"] not in rows
            assert all(s not in rows for s in _secrets_of(h))
            # nothing links the erased record to its leaf: no event row, salt or index of it is left
            erased_leaf = pointer["receipts"][0]["proof"]["leaf_index"]
            assert await _scalar(world, "SELECT count(*) FROM consent_events WHERE record_id = :r",
                                 r=pointer["record_id"]) == 0
            assert await _scalar(world, "SELECT count(*) FROM consent_events WHERE leaf_index = :i", i=erased_leaf) == 0
            assert await _scalar(world, "SELECT count(*) FROM consent_log_leaves") >= 1  # the leaf itself stays
            checkpoint = (await h.http.get(f"{world.base}/consent/checkpoint")).text
            assert checkpoint.splitlines()[1].isdigit()

    asyncio.run(story())




def test_the_verifier_refuses_special_category_data_it_cannot_record(
        world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Were right_to_work special-category data, the check (registered with no Art. 9(2)
    condition) must fail and nothing be recorded: the verifier may not take what it cannot record."""
    listed = SpecialCategories.load(world.node.settings.specs_dir)
    sensitive = SpecialCategories({**listed.types, STATUS_VCT: {"right_to_work": "https://w3id.org/dpv/pd#Health"}})
    monkeypatch.setattr(SpecialCategories, "load", classmethod(lambda cls, _specs: sensitive))
    monkeypatch.setattr(world.verifier_ctx(), "_ledger", None)  # the verifier makes its ledger once: again, now
    shutil.copytree(world.data_dir / "trust", tmp_path / "holder" / "trust")

    async def story() -> None:
        async with Holder(world, tmp_path / "holder") as h:
            await h.receive(1)
            result, _ = await h.present()
            assert result["accepted"] is False and result["reason"] == "art9_condition_missing", result
            record_id = str(h.opened.contents.history[-1].receipt["record_id"])  # type: ignore[index]
            assert await _scalar(world, "SELECT count(*) FROM consent_records WHERE record_id = :r", r=record_id) == 0

    asyncio.run(story())
