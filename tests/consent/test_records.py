"""Consent records (issue 14 item 2): pseudonyms, the 27560 record's rules, commitments, and the
ledger over SQLite with the test log: record, prove, receipt, erase."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from consent import iso27560, notify, pseudonym, receipts, records
from consent.ledger import Ledger, Logged
from consent.log import ConsentLog
from consent.records import Disclosure, Notice, SpecialCategories
from core import _jose, db, i18n, keys
from core.encoding import b64url_decode, b64url_encode
from core.sealing import NodeKey
from core.settings import get_settings
from tests.consent.fake_log import FakeLog, InclusionFailed
from tests.consent.world import AUTHORITY, DPV, EMPLOYER, HEALTH, IDENTITY, NOW, STATUS, trust_list
from tests.consent_log_world import BACKENDS, migrated, store_url

GDPR = "https://w3id.org/dpv/legal/eu/gdpr#"
EMPLOYER_KEY, AUTHORITY_KEY = keys.generate("ES256"), keys.generate("ES256")
TL = trust_list(EMPLOYER_KEY, AUTHORITY_KEY)
SPECIAL = SpecialCategories({**SpecialCategories.load(get_settings().specs_dir).types,
                             HEALTH: {"blood_type": "https://w3id.org/dpv/pd#Health"}})
HOLDER = bytes(range(32))
SHOWN = json.dumps({"who": "Good Employer", "asks": ["Right to work"]}, ensure_ascii=False)


def disclosure(ledger_key: bytes = HOLDER, verifier: str = EMPLOYER, purpose: str = "HumanResourceManagement",
               claims: Mapping[str, tuple[str, ...]] | None = None, **rest: object) -> Disclosure:
    return Disclosure(pseudonym.subject_id(ledger_key, verifier),
                      pseudonym.pairwise_key(ledger_key, verifier).public_key().to_jwk(), verifier,
                      (DPV + purpose,), claims or {STATUS: ("right_to_work",)}, Notice.of(SHOWN, "ar"),
                      retention_s=3600, **rest)  # type: ignore[arg-type]


# --- pseudonyms ------------------------------------------------------------------------


def test_the_subject_id_is_keyed_and_pairwise_never_a_plain_hash() -> None:
    one, other = pseudonym.subject_id(HOLDER, EMPLOYER), pseudonym.subject_id(HOLDER, AUTHORITY)
    assert one != other  # pairwise: two verifiers cannot join their records on it
    assert pseudonym.subject_id(bytes(32), EMPLOYER) != one  # keyed: another key, another id
    for plain in (EMPLOYER.encode(), HOLDER, HOLDER + EMPLOYER.encode()):
        assert b64url_encode(hashlib.sha256(plain).digest()) != one
    expected = hmac.new(HOLDER, b"amana-consent-subject\x00" + EMPLOYER.encode(), hashlib.sha256).digest()
    assert one == b64url_encode(expected)
    assert (pseudonym.pairwise_key(HOLDER, EMPLOYER).public_key().thumbprint()
            != pseudonym.pairwise_key(HOLDER, AUTHORITY).public_key().thumbprint())


def test_a_holder_proof_is_checked_for_action_time_and_signature() -> None:
    token = pseudonym.holder_proof(HOLDER, EMPLOYER, "read", NOW)
    sub, aud, key = pseudonym.check_holder_proof(token, "read", NOW + 10)
    assert (sub, aud) == (pseudonym.subject_id(HOLDER, EMPLOYER), EMPLOYER)
    assert key.thumbprint() == pseudonym.pairwise_key(HOLDER, EMPLOYER).public_key().thumbprint()
    with pytest.raises(pseudonym.HolderProofInvalid):
        pseudonym.check_holder_proof(token, "erase", NOW)
    with pytest.raises(pseudonym.HolderProofInvalid):
        pseudonym.check_holder_proof(token, "read", NOW + pseudonym.PROOF_MAX_AGE_S + 1)
    head, body, sig = token.split(".")
    flipped = bytearray(b64url_decode(sig))
    flipped[5] ^= 1
    with pytest.raises(pseudonym.HolderProofInvalid):
        pseudonym.check_holder_proof(f"{head}.{body}.{b64url_encode(bytes(flipped))}", "read", NOW)


# --- the record's rules ----------------------------------------------------------------


def test_a_record_takes_controller_purposes_and_basis_from_the_trust_list() -> None:
    record = records.build(disclosure(), TL, SPECIAL, NOW)
    assert record.controller == records.Controller(EMPLOYER, "Good Employer")
    assert record.purposes == (DPV + "HumanResourceManagement",) and record.legal_basis == DPV + "Consent"
    assert record.article6 == "GDPR Art. 6(1)(a)" and record.consent_based
    assert record.data_categories == ("right_to_work",) and record.notice.language == "ar"
    assert record.notice.sha256 == hashlib.sha256(SHOWN.encode()).hexdigest()


def test_an_unregistered_purpose_or_verifier_is_refused() -> None:
    with pytest.raises(records.RecordRefused):
        records.build(disclosure(purpose="Marketing"), TL, SPECIAL, NOW)
    with pytest.raises(records.RecordRefused):
        records.build(dataclasses.replace(disclosure(), verifier_id="https://rogue.example"), TL, SPECIAL, NOW)


@pytest.mark.parametrize("name", ["Ahmad Ali", "1985-02-01", "{\"x\":1}", "", "a" * 80, "right_to_work=true"])
def test_a_data_category_is_a_claim_name_never_a_value(name: str) -> None:
    with pytest.raises(records.RecordRefused):
        records.build(disclosure(claims={STATUS: (name,)}), TL, SPECIAL, NOW)


VALID_NOTICE = hashlib.sha256(SHOWN.encode()).hexdigest()


@pytest.mark.parametrize("change", [
    {"subject_id": "ahmad.ali@example.org"},  # a foreign wallet's "pseudonym"
    {"subject_id": "A" * 44},
    {"subject_id": "A" * 42 + "B"},  # 43 characters, but not 32 bytes in canonical base64url
    {"notice": Notice("Ahmad Ali 1985-02-01 passport N1234567".ljust(64, "."), "ar")},
    {"notice": Notice(VALID_NOTICE.upper(), "ar")},
    {"notice": Notice(VALID_NOTICE, "Ahmad Ali, asylum case 2024-ABC-123456")},
    {"notice": Notice(VALID_NOTICE, "ar\n")},
    {"notice": Notice(VALID_NOTICE, "")},
    {"holder_key": {"kty": "OKP", "crv": "Ed25519", "x": "Ahmad Ali"}},
])
def test_the_ledger_keeps_no_text_a_wallet_could_fill_with_a_name(change: dict[str, Any]) -> None:
    """What a record keeps of the holder has a shape no name fits: a pseudonym of 32 bytes, a
    notice's SHA-256 in hex and a language tag, a public key (helper-60 stored an e-mail address,
    a passport number and a case number through a foreign wallet's offer)."""
    with pytest.raises(records.RecordRefused):
        records.build(dataclasses.replace(disclosure(), **change), TL, SPECIAL, NOW)


def test_a_holder_keys_own_text_is_not_kept() -> None:
    jwk = pseudonym.pairwise_key(HOLDER, EMPLOYER).public_key().to_jwk()
    record = records.build(dataclasses.replace(disclosure(), holder_key={**jwk, "kid": "Ahmad Ali, +49 151 2345678"}),
                           TL, SPECIAL, NOW)
    assert record.holder_key == {"kty": "OKP", "crv": "Ed25519", "x": jwk["x"]}


def test_a_consent_offer_is_taken_only_in_the_shape_a_wallet_makes_it() -> None:
    """An offer whose pseudonym or notice could carry a name is no offer (the verifier then records
    under a random pseudonym); a good one gives the key without the sender's kid."""
    key = pseudonym.pairwise_key(HOLDER, EMPLOYER)
    good = {"sub": pseudonym.subject_id(HOLDER, EMPLOYER), "aud": EMPLOYER, "rid": "r-1", "notice": VALID_NOTICE,
            "lang": "fa-AF", "nonce": "n", "iat": NOW}

    def offer(**change: object) -> str:
        header = {"typ": pseudonym.OFFER_TYP, "jwk": {**key.public_key().to_jwk(), "kid": "Ahmad Ali"}}
        return _jose.sign_compact(header, {**good, **change}, key)

    sub, rid, notice, lang, jwk = pseudonym.check_disclosure_offer(offer(), frozenset({EMPLOYER}), "n")
    assert (sub, rid, notice, lang) == (good["sub"], "r-1", VALID_NOTICE, "fa-AF") and "kid" not in jwk
    for change in ({"sub": "ahmad.ali@example.org"}, {"notice": "Ahmad Ali"}, {"lang": "Ahmad Ali, case 123"},
                   {"rid": ""}, {"nonce": "other"}):
        with pytest.raises(pseudonym.HolderProofInvalid):
            pseudonym.check_disclosure_offer(offer(**change), frozenset({EMPLOYER}), "n")


@pytest.mark.parametrize("lang", i18n.supported())
def test_an_offer_in_every_language_the_node_speaks_is_taken(lang: str) -> None:
    """A Dari holder's offer (fa_AF) was refused for its underscore, and recorded under a random
    pseudonym they could never reach: every catalogue code is taken, and its BCP 47 form."""
    for tag in (lang, lang.replace("_", "-")):
        offer = pseudonym.disclosure_offer(HOLDER, EMPLOYER, "r-1", VALID_NOTICE, tag, "n", NOW)
        assert pseudonym.check_disclosure_offer(offer, frozenset({EMPLOYER}), "n")[3] == tag


def test_special_category_data_needs_an_art9_condition() -> None:
    asked = {HEALTH: ("blood_type",)}
    with pytest.raises(records.Article9ConditionMissing):
        records.build(disclosure(claims=asked), TL, SPECIAL, NOW)
    with pytest.raises(records.RecordRefused):
        records.build(disclosure(claims=asked, art9_condition=GDPR + "A9-2-z"), TL, SPECIAL, NOW)
    record = records.build(disclosure(claims=asked, art9_condition=GDPR + "A9-2-a"), TL, SPECIAL, NOW)
    assert record.special_categories == ("https://w3id.org/dpv/pd#Health",)
    assert iso27560.to_27560(record, [])["purposes"][0]["art9_condition"] == GDPR + "A9-2-a"


def test_a_type_nobody_classified_is_refused_and_todays_types_hold_no_special_category() -> None:
    with pytest.raises(records.RecordRefused):
        records.build(disclosure(claims={"urn:example:Unknown:1": ("x",)}), TL, SPECIAL, NOW)
    record = records.build(disclosure(claims={STATUS: ("right_to_work",), IDENTITY: ("nationalities",)}), TL,
                           SPECIAL, NOW)
    assert record.special_categories == () and record.art9_condition is None


def test_a_legal_obligation_is_recorded_and_cannot_be_withdrawn() -> None:
    record = records.build(disclosure(verifier=AUTHORITY, purpose="LegalCompliance"), TL, SPECIAL, NOW)
    assert record.article6 == "GDPR Art. 6(1)(c)" and not record.consent_based
    given = records.new_event(record.record_id, "given", NOW, "controller")
    with pytest.raises(records.NotWithdrawable):
        records.next_event(record, [given], "withdrawn", NOW + 1, "holder")


def test_an_events_commitment_is_32_bytes_salted_and_binds_the_record() -> None:
    record = records.build(disclosure(), TL, SPECIAL, NOW)
    one, two = (records.new_event(record.record_id, "given", NOW, "controller") for _ in range(2))
    assert len(one.commitment(record)) == 32
    assert one.commitment(record) != two.commitment(record)  # the same event, two salts: unlinkable leaves
    other = dataclasses.replace(record, data_categories=("valid_until",))
    assert one.commitment(other) != one.commitment(record)
    assert one.commitment(record) == hashlib.sha256(one.salt + one.canonical(record)).digest()


def test_the_27560_export_and_the_kantara_receipt_carry_names_not_values() -> None:
    record = records.build(disclosure(), TL, SPECIAL, NOW)
    events = [records.new_event(record.record_id, "given", NOW, "controller")]
    exported = iso27560.to_27560(record, events)
    assert exported["pii_categories"] == ["right_to_work"] and exported["events"][0]["status"] == DPV + "ConsentGiven"
    assert exported["notice"] == {"hash_algorithm": "sha-256", "hash": record.notice.sha256, "language": "ar"}
    kantara = receipts.to_kantara(record, events)
    assert kantara["version"] == "KI-CR-v1.1.0" and kantara["consentReceiptID"] == record.record_id
    assert kantara["services"][0]["purposes"][0]["piiCategory"] == ["right_to_work"]
    assert kantara["services"][0]["purposes"][0]["consentType"] == "EXPLICIT" and not kantara["sensitive"]


# --- the ledger over SQLite ------------------------------------------------------------


def _ledger(tmp_path: Path) -> tuple[Ledger, FakeLog]:
    engine = db.make_engine(f"sqlite+aiosqlite:///{tmp_path / 'consent.db'}")
    asyncio.run(db.upgrade(engine))
    log = FakeLog()
    return Ledger(db.sessions(engine), log, SPECIAL), log


def test_a_receipt_verifies_whole_and_fails_on_any_change(tmp_path: Path) -> None:
    ledger, log = _ledger(tmp_path)

    async def run() -> dict[str, object]:
        logged = await ledger.record(disclosure(), TL, NOW)
        for n in range(5):  # others' disclosures after it: the proof is not trivial
            await ledger.record(disclosure(ledger_key=bytes([n]) * 32), TL, NOW)
        jws = receipts.sign(logged, [logged.event], EMPLOYER_KEY, EMPLOYER, NOW)
        counter = receipts.countersign(jws, pseudonym.pairwise_key(HOLDER, EMPLOYER), NOW)
        return receipts.with_proof(jws, counter, await ledger.prove(logged, NOW))

    receipt = asyncio.run(run())
    checked = receipts.verify(receipt, [EMPLOYER_KEY.public_key()], log.verify_inclusion)
    assert checked.event.kind == "given" and checked.record.controller.name == "Good Employer"
    with pytest.raises(receipts.ReceiptInvalid):  # another verifier's key
        receipts.verify(receipt, [AUTHORITY_KEY.public_key()], log.verify_inclusion)
    with pytest.raises(receipts.ReceiptInvalid):  # counter-signed by someone else
        other = receipts.countersign(str(receipt["receipt"]), pseudonym.pairwise_key(bytes(32), EMPLOYER), NOW)
        receipts.verify({**receipt, "holder_signature": other}, [EMPLOYER_KEY.public_key()], log.verify_inclusion)
    proof = dict(receipt["proof"])  # type: ignore[call-overload]
    first = bytearray(b64url_decode(proof["inclusion"][0]))
    first[0] ^= 1  # one bit of the audit path
    flipped = dict(proof, inclusion=[b64url_encode(bytes(first)), *proof["inclusion"][1:]])
    with pytest.raises((receipts.ReceiptInvalid, InclusionFailed)):
        receipts.verify({**receipt, "proof": flipped}, [EMPLOYER_KEY.public_key()], log.verify_inclusion)


def test_erasure_shreds_one_holder_and_every_other_proof_still_verifies(tmp_path: Path) -> None:
    ledger, log = _ledger(tmp_path)
    gone, kept = bytes([1]) * 32, bytes([2]) * 32

    async def run() -> None:
        mine = await ledger.record(disclosure(ledger_key=gone), TL, NOW)
        theirs = await ledger.record(disclosure(ledger_key=kept), TL, NOW)
        await ledger.event(mine.record.record_id, "withdrawn", "holder", NOW + 1)
        gone_key = pseudonym.pairwise_key(gone, EMPLOYER).public_key()
        assert await ledger.erase(pseudonym.subject_id(gone, EMPLOYER), gone_key, NOW + 2) == 1
        assert await ledger.of_holder(pseudonym.subject_id(gone, EMPLOYER), gone_key) == []
        with pytest.raises(records.RecordNotFound):
            await ledger.history(mine.record.record_id)
        proven = await ledger.prove(theirs, NOW + 3)
        log.verify_inclusion(theirs.leaf, theirs.index, proven.checkpoint.size, proven.proof, proven.checkpoint.root)
        assert len(log.leaves) == 3  # the erased holder's leaves stay in the log
        assert await ledger.export(pseudonym.subject_id(kept, EMPLOYER),
                                   pseudonym.pairwise_key(kept, EMPLOYER).public_key()) != []
        await ledger.sessions.kw["bind"].dispose()  # the last connection closed: SQLite folds its WAL in

    asyncio.run(run())
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("consent.db*"))
    assert pseudonym.subject_id(gone, EMPLOYER).encode() not in raw
    assert pseudonym.subject_id(kept, EMPLOYER).encode() in raw


def test_a_pseudonym_read_off_a_proof_reaches_only_the_records_its_own_key_filed(tmp_path: Path) -> None:
    """The pseudonym travels in every holder proof. Someone who read it, and filed a record of their
    own under it with their key (helper-60), exports and erases that record alone."""
    ledger, _ = _ledger(tmp_path)
    victim, reader = bytes([1]) * 32, bytes([9]) * 32
    sub = pseudonym.subject_id(victim, EMPLOYER)
    victim_key, reader_key = (pseudonym.pairwise_key(k, EMPLOYER).public_key() for k in (victim, reader))

    async def run() -> None:
        theirs = await ledger.record(disclosure(ledger_key=victim), TL, NOW)
        filed = await ledger.record(dataclasses.replace(disclosure(ledger_key=reader), subject_id=sub), TL, NOW)
        assert [r.record_id for r in await ledger.of_holder(sub, reader_key)] == [filed.record.record_id]
        assert [r["record_id"] for r in await ledger.export(sub, reader_key)] == [filed.record.record_id]
        assert await ledger.erase(sub, reader_key, NOW + 1) == 1
        assert [r.record_id for r in await ledger.of_holder(sub, victim_key)] == [theirs.record.record_id]
        assert await ledger.erase(sub, reader_key, NOW + 2) == 0
        await ledger.sessions.kw["bind"].dispose()

    asyncio.run(run())


def test_a_deletion_confirmed_before_the_withdrawal_confirms_nothing(tmp_path: Path) -> None:
    """The verifier's "deleted" must be signed after the holder withdrew (and not from the future)."""
    ledger, _ = _ledger(tmp_path)

    async def run() -> None:
        record_id = (await ledger.record(disclosure(), TL, NOW)).record.record_id
        early = notify.confirmation(EMPLOYER_KEY, EMPLOYER, record_id, NOW + 5)
        with pytest.raises(notify.ConfirmationInvalid):  # nothing withdrawn yet
            await notify.confirm(ledger, TL, record_id, early, NOW + 6)
        await notify.withdraw(ledger, record_id, NOW + 100)
        for stale in (early, notify.confirmation(EMPLOYER_KEY, EMPLOYER, record_id, NOW + 500)):
            with pytest.raises(notify.ConfirmationInvalid):  # signed before the withdrawal; from the future
                await notify.confirm(ledger, TL, record_id, stale, NOW + 101)
        answer = notify.confirmation(EMPLOYER_KEY, EMPLOYER, record_id, NOW + 101)
        assert (await notify.confirm(ledger, TL, record_id, answer, NOW + 102)).event.kind == "deletion_confirmed"
        await ledger.sessions.kw["bind"].dispose()

    asyncio.run(run())


def test_retention_purge_erases_what_is_past_its_time(tmp_path: Path) -> None:
    ledger, _ = _ledger(tmp_path)

    async def run() -> None:
        short = await ledger.record(disclosure(ledger_key=bytes([3]) * 32), TL, NOW)
        assert await ledger.purge(NOW + 3599) == 0
        assert await ledger.purge(NOW + 3600) == 1
        with pytest.raises(records.RecordNotFound):
            await ledger.history(short.record.record_id)

    asyncio.run(run())


# --- a disclosure's record is one unit of work (issue 15: Core statements, core.db.unit) ----------


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_record_whose_receipt_fails_leaves_no_row_and_no_leaf(backend: str, tmp_path: Path) -> None:
    """The record, its leaf and its event go in together or not at all, on either store, on the
    first sighting of each statement and on the later ones (compiled once, run by the driver)."""

    class SigningFailed(Exception):
        pass

    def fails(_logged: Logged, _events: object) -> str:
        raise SigningFailed()

    async def counts(engine: AsyncEngine) -> list[int]:
        async with engine.connect() as c:
            return [int((await c.exec_driver_sql(f"SELECT count(*) FROM {t}")).scalar_one())  # noqa: S608
                    for t in ("consent_records", "consent_events", "consent_log_leaves")]

    url = store_url(backend, tmp_path)

    async def run() -> None:
        engine = await migrated(url)
        try:
            ledger = Ledger(db.sessions(engine), ConsentLog(NodeKey(bytes(32)), "test.example/consent"), SPECIAL)
            kept = [await ledger.record(disclosure(ledger_key=bytes([n]) * 32), TL, NOW) for n in range(3)]
            assert [k.index for k in kept] == [0, 1, 2] and await counts(engine) == [3, 3, 3]
            for n in range(3):  # the statements are known by now: the prepared path, and the first too
                with pytest.raises(SigningFailed):
                    await ledger.record(disclosure(ledger_key=bytes([10 + n]) * 32), TL, NOW, fails)
                assert await counts(engine) == [3, 3, 3]
            after = await ledger.record(disclosure(ledger_key=bytes([20]) * 32), TL, NOW)
            assert after.index == 3 and await counts(engine) == [4, 4, 4]  # no index skipped or taken twice
            record, history = await ledger.history(after.record.record_id)
            assert record == after.record and [h.index for h in history] == [3]
        finally:
            await engine.dispose()

    asyncio.run(run())


def signs(logged: Logged, _events: object) -> str:
    """The employer's receipt for the "given" event (what the verifier signs)."""
    return receipts.sign(logged, [logged.event], EMPLOYER_KEY, EMPLOYER, NOW)


@pytest.mark.parametrize("backend", BACKENDS)
def test_records_that_arrive_together_share_a_transaction_and_a_bad_one_fails_alone(backend: str,
                                                                                   tmp_path: Path) -> None:
    """Disclosures recorded at once go in fewer transactions than records (core.group_commit), each
    with its own leaf, index and receipt that proves it in the log; one whose receipt cannot be
    signed fails alone and leaves nothing, and the others of its batch are all stored."""

    class SigningFailed(Exception):
        pass

    def fails(_logged: Logged, _events: object) -> str:
        raise SigningFailed()

    url = store_url(backend, tmp_path)

    async def run() -> None:
        engine = await migrated(url)
        try:
            log = ConsentLog(NodeKey(bytes(32)), "test.example/consent")
            ledger = Ledger(db.sessions(engine), log, SPECIAL)
            await ledger.record(disclosure(ledger_key=bytes([99]) * 32), TL, NOW, signs)  # keys and statements made
            writes, written = ledger._recorder.writes, ledger._recorder.written
            together = await asyncio.gather(*(ledger.record(disclosure(ledger_key=bytes([n]) * 32), TL, NOW, signs)
                                              for n in range(8)))
            assert ledger._recorder.written - written == 8
            assert ledger._recorder.writes - writes < 8  # in fewer transactions than records
            outcomes = await asyncio.gather(
                *(ledger.record(disclosure(ledger_key=bytes([n]) * 32), TL, NOW, fails if n == 12 else signs)
                  for n in range(10, 14)), return_exceptions=True)
            assert isinstance(outcomes[2], SigningFailed)
            kept = [*together, *(o for o in outcomes if isinstance(o, Logged))]
            assert len(kept) == 11
            assert sorted(k.index for k in kept) == list(range(1, 12))  # no index skipped or given twice
            for logged in (kept[0], kept[7], kept[-1]):
                proven = await ledger.prove(logged, NOW)
                checked = receipts.verify(receipts.with_proof(logged.receipt, None, proven),
                                          [EMPLOYER_KEY.public_key()], log.verify_inclusion)
                assert checked.record == logged.record and checked.event == logged.event
            async with engine.connect() as c:
                counts = [int((await c.exec_driver_sql(f"SELECT count(*) FROM {t}")).scalar_one())  # noqa: S608
                          for t in ("consent_records", "consent_events", "consent_log_leaves")]
            assert counts == [12, 12, 12]  # the one that failed left nothing
        finally:
            await engine.dispose()

    asyncio.run(run())


@pytest.mark.parametrize("backend", BACKENDS)
def test_receipts_name_the_log_key_that_signs_its_checkpoints_even_after_a_first_batch_failed(
        backend: str, tmp_path: Path) -> None:
    """The log's key is made by the first record; if that transaction rolls back, the key goes with
    it, and no receipt may name it afterwards (the process kept it once, and every later receipt
    then failed against the log's checkpoints)."""

    def fails(_logged: Logged, _events: object) -> str:
        raise RuntimeError("signing failed")

    url = store_url(backend, tmp_path)

    async def run() -> None:
        engine = await migrated(url)
        try:
            log = ConsentLog(NodeKey(bytes(32)), f"fresh-{backend}-{tmp_path.name}.example/consent")
            ledger = Ledger(db.sessions(engine), log, SPECIAL)
            out = await asyncio.gather(*(ledger.record(disclosure(ledger_key=bytes([n]) * 32), TL, NOW,
                                                       fails if n == 3 else signs) for n in range(4)),
                                       return_exceptions=True)
            assert isinstance(out[3], RuntimeError)
            for logged in out[:3]:
                assert isinstance(logged, Logged)
                proven = await ledger.prove(logged, NOW)
                receipts.verify(receipts.with_proof(logged.receipt, None, proven), [EMPLOYER_KEY.public_key()],
                                log.verify_inclusion, log_origin=log.name)
        finally:
            await engine.dispose()

    asyncio.run(run())


def test_records_that_arrive_together_go_in_with_their_events_as_one_statement(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """PostgreSQL: a batch of records and their events is one statement at the commit, not one per
    record and one per event while the log's lock is held (each a round trip). Counted at asyncpg.
    And no unit makes SQLAlchemy's ``Connection``: the log's append too runs on asyncpg alone."""
    from core import prepared
    from tests.asyncpg_sent import record_sent

    url = store_url("postgresql", tmp_path)  # skips without PostgreSQL
    sent = record_sent(monkeypatch)
    made: list[object] = []
    real = prepared.Connection

    def connection(*args: Any) -> Any:
        made.append(args)
        return real(*args)

    async def run() -> int:
        engine = await migrated(url)
        try:
            ledger = Ledger(db.sessions(engine), ConsentLog(NodeKey(bytes(32)), "test.example/consent"), SPECIAL)
            for n in range(3):  # keys made, statements seen (core.prepared takes a statement's second sight)
                await ledger.record(disclosure(ledger_key=bytes([90 + n]) * 32), TL, NOW, signs)
            sent.clear()
            monkeypatch.setattr(prepared, "Connection", connection)
            writes = ledger._recorder.writes
            await asyncio.gather(*(ledger.record(disclosure(ledger_key=bytes([n]) * 32), TL, NOW, signs)
                                   for n in range(8)))
            return ledger._recorder.writes - writes
        finally:
            await engine.dispose()

    transactions = asyncio.run(run())
    rows = [q for q in sent if "consent_records" in q or "consent_events" in q]
    assert transactions < 8 and len(rows) == transactions, rows
    assert all(q.startswith("WITH") and "consent_records" in q and "consent_events" in q for q in rows), rows
    assert made == []


def test_a_batch_that_found_no_pooled_connection_fails_once_not_item_by_item() -> None:
    """A PostgreSQL pool opens nothing past its size (core.db.make_engine), so a batch may wait
    30 s for a connection and fail. No record caused that: tried alone one by one, a batch of 64
    would wait 64 times more while later checks queue behind it. A refused row may be one record's."""
    from sqlalchemy import exc

    from consent.ledger import _an_item_may_cause

    assert not _an_item_may_cause(exc.TimeoutError("QueuePool limit of size 16 overflow 0 reached"))
    assert not _an_item_may_cause(exc.OperationalError("SELECT 1", {}, Exception("gone")))
    assert _an_item_may_cause(exc.IntegrityError("INSERT", {}, Exception("duplicate key")))
    # In an SQLite file's unit sqlite3 runs the statements (core.sqlite_held): its own errors, as
    # SQLAlchemy would have classed them (a disk gone, the file locked past waiting; a refused row)
    import sqlite3

    assert not _an_item_may_cause(sqlite3.OperationalError("disk I/O error"))
    assert not _an_item_may_cause(sqlite3.InterfaceError("bad parameter or other API misuse"))
    assert _an_item_may_cause(sqlite3.IntegrityError("UNIQUE constraint failed: consent_records.record_id"))
    # On PostgreSQL asyncpg runs the statements and ends the unit (core.prepared): its own errors
    import asyncpg

    assert not _an_item_may_cause(asyncpg.ConnectionDoesNotExistError("connection was closed in the middle"))
    assert not _an_item_may_cause(asyncpg.InterfaceError("connection is closed"))
    assert not _an_item_may_cause(asyncpg.exceptions.AdminShutdownError("terminating connection"))
    assert _an_item_may_cause(asyncpg.UniqueViolationError("duplicate key value"))
    # asyncpg's client-side DataError: one row held a value it cannot send (not the database failing)
    assert _an_item_may_cause(asyncpg.exceptions._base.DataError("invalid input for query argument $1"))
    # SQLAlchemy's asyncpg adapter raises its own generic error from asyncpg's, read by its cause
    from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_dbapi

    try:
        try:
            raise asyncpg.exceptions.AdminShutdownError("terminating connection")
        except asyncpg.PostgresError as error:
            raise AsyncAdapt_asyncpg_dbapi.Error("terminating connection") from error
    except AsyncAdapt_asyncpg_dbapi.Error as wrapped:
        assert not _an_item_may_cause(wrapped)
