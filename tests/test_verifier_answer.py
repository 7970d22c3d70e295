"""A check made, answered once with its audit lines (verifier.store.answer), its result taken: on
PostgreSQL each one statement, a unit of its own with no BEGIN or COMMIT (``core.db.later`` alone,
``core.db.single``); on both stores a second answer finds nothing pending and writes no audit
line. Counted at asyncpg, where the hot requests' statements go (core.prepared)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from core import db
from tests.asyncpg_sent import record_sent
from tests.consent_log_world import BACKENDS, migrated, store_url
from tests.pg_locks import rows_held
from verifier import store
from verifier.store import AuditLine
from verifier.tables import AuditEntry


def _check(check_id: str) -> dict[str, Any]:
    return {"id": check_id, "name": "right-to-work", "purpose": "LegalCompliance", "dcql": {}, "prefix": "x509_hash",
            "nonce": "n", "state": "s", "request_jwt": "jwt", "accept_unknown_status": False,
            "result_public_key": bytes(32), "phase": "pending", "created_at": 1, "expires_at": 2, "response_key": None}


def _lines(check_id: str) -> list[AuditLine]:
    return [AuditLine(at=1, check_name=check_id, vct=f"urn:vct:{n}", issuer="https://issuer.example", accepted=True,
                       reason=None, disclosed_names=["given_name", f"claim_{n}"], desk=None) for n in range(2)]


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_answer_and_its_audit_lines_go_together_once(backend: str, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    url = store_url(backend, tmp_path)  # skips without PostgreSQL
    sent = record_sent(monkeypatch)

    taken: list[bytes | None] = []

    async def story() -> tuple[list[bool], list[Any], list[str]]:
        engine = await migrated(url)
        try:
            for check_id in ("c1", "c2", "c3"):  # a unit each: a new check is its unit's one statement
                sent.clear()
                async with db.unit(engine) as unit:
                    await store.add_check(unit, _check(check_id), 1, forget=False)
            created = list(sent)
            answers = []
            for check_id in ("c1", "c2"):  # the statement's first sight is SQLAlchemy's, the second the driver's
                sent.clear()
                async with db.single(engine) as one:
                    answers.append(await store.answer(one, check_id, b"sealed", _lines(check_id)))
            counted = list(sent)
            async with db.single(engine) as one:  # answered already: nothing pending, no audit line
                answers.append(await store.answer(one, "c2", b"again", _lines("c2")))
            for check_id in ("c1", "c2"):  # the result taken: one UPDATE that finds it answered
                async with db.read(engine) as one:
                    row = await store.check(one, check_id)
                sent.clear()
                async with db.single(engine) as one:
                    taken.append(await store.take_result(one, row))
            counted += sent
            async with db.unit(engine) as unit:
                rows = (await unit.execute(select(AuditEntry.check_name, AuditEntry.disclosed_names)
                                           .order_by(AuditEntry.id))).all()
                checks = store.CHECKS.c
                phases = (await unit.execute(select(checks.id, checks.phase, checks.sealed_result)
                                             .order_by(checks.id))).all()
            return answers, [tuple(r) for r in rows] + [tuple(p) for p in phases], created + counted
        finally:
            await engine.dispose()

    answers, stored, counted = asyncio.run(story())
    assert answers == [True, True, False] and taken == [b"sealed", b"sealed"]
    assert stored == [("c1", ["given_name", "claim_0"]), ("c1", ["given_name", "claim_1"]),
                      ("c2", ["given_name", "claim_0"]), ("c2", ["given_name", "claim_1"]),
                      ("c1", "done", None), ("c2", "done", None), ("c3", "pending", None)]
    if backend == "postgresql":  # each statement's second sight or later: the third check made, the
        heads = [q.split(" ")[0] for q in counted]  # second answered, its result taken
        assert heads == ["INSERT", "WITH", "UPDATE"], counted
        assert counted[1].startswith("WITH answered AS"), counted


def test_on_postgresql_a_result_is_read_and_taken_in_one_statement_by_one_taker(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A desk's poll of an answered check (verifier.store.check_taking_answer): the check as it was
    and the answer taken, one statement; only for the requester's key; not a decline the check keeps
    while open; of two takers at once (both made to wait on the check's row first), one, and the other
    sees the check as its statement began (a race the read-then-take on SQLite wins the same way: what
    tells the one statement apart is ``one_poll``)."""
    url = store_url("postgresql", tmp_path)  # skips without PostgreSQL
    sent = record_sent(monkeypatch)
    owner, stranger = bytes(32), bytes([7]) * 32

    async def take(engine: Any, check_id: str, key: bytes) -> tuple[str | None, bool]:
        async with db.single(engine) as one:
            row, taken = await store.check_taking_answer(one, check_id, key)
        return (None if row is None else row.phase), taken

    async def story() -> tuple[list[Any], list[Any], list[str]]:
        engine = await migrated(url)
        try:
            async with db.unit(engine) as unit:
                for check_id in ("c1", "c2", "c3"):
                    await store.add_check(unit, _check(check_id), 1, forget=False)
            for check_id in ("c1", "c2"):
                async with db.single(engine) as one:
                    await store.answer(one, check_id, b"sealed", [])
            async with db.single(engine) as one:  # a decline: kept, but the check stays open (pending)
                await store.note_decline(one, "c3", b"declined")
            seen = [await take(engine, "c1", stranger),  # not the requester's key: nothing taken
                    await take(engine, "c3", owner),  # pending, a decline kept: nothing taken yet
                    await take(engine, "gone", owner)]
            sent.clear()
            seen.append(await take(engine, "c1", owner))  # the statement's second sight: the driver's
            one_poll = list(sent)
            seen += await _at_once(url, "c2", lambda: take(engine, "c2", owner))
            async with db.unit(engine) as unit:
                checks = store.CHECKS.c
                phases = (await unit.execute(select(checks.id, checks.phase, checks.sealed_result)
                                             .order_by(checks.id))).all()
            return seen, [tuple(p) for p in phases], one_poll
        finally:
            await engine.dispose()

    seen, phases, one_poll = asyncio.run(story())
    assert seen[:4] == [("answered", False), ("pending", False), (None, False), ("answered", True)]
    assert sorted(seen[4:]) == [("answered", False), ("answered", True)]  # two takers at once: one gets it
    assert phases == [("c1", "done", None), ("c2", "done", None), ("c3", "pending", b"declined")]
    assert len(one_poll) == 1 and one_poll[0].startswith("WITH taken AS"), one_poll


async def _at_once(url: str, check_id: str, take: Any) -> list[Any]:
    """``take`` twice, both waiting on the check's row (locked by a connection of the test's own)
    before either goes on (tests/pg_locks.py)."""
    async with rows_held(url, lambda holder: holder.execute(
            "SELECT id FROM verifier_checks WHERE id = $1 FOR UPDATE", check_id)) as (until, release):
        both = [asyncio.ensure_future(take()), asyncio.ensure_future(take())]
        await until(2)
        await release()
        return list(await asyncio.gather(*both))


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_repeated_answer_after_its_first_try_failed_is_taken(backend: str, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The disclosure is recorded in the consent ledger (its own unit, committed) before the answer's
    unit. When that unit fails (a lost connection, a pool timeout, a stop), the wallet's repeat of the
    same post names the same record (its id comes from the wallet's offer, bound to this check's
    nonce): it was a raw unique-key error and a 500 at every repeat until the check expired. Now the
    record is known for what it is (``RecordExists``) and the repeat is answered; a third post finds the
    check answered (400, as any second answer). Found by a reviewing helper, session 25."""
    import dataclasses
    import types as namespaces

    from consent.ledger import Ledger
    from consent.log import ConsentLog
    from consent.records import Notice, RecordExists, RecordRefused
    from core.errors import OAuthError
    from core.sealing import NodeKey
    from tests.consent.test_records import EMPLOYER_KEY, SPECIAL, TL, disclosure
    from tests.consent.world import EMPLOYER, NOW
    from verifier import checks, consent_records
    from verifier.verification import Result

    url = store_url(backend, tmp_path)
    shown = disclosure(record_id="from-the-wallets-offer")

    async def accepted(*_args: Any) -> tuple[Result, bool]:
        return Result(True), True  # what the presentation said is not this test's subject

    async def sealed(*_args: Any) -> bytes:
        return b"the sealed verdict"

    monkeypatch.setattr(checks, "_verify", accepted)
    monkeypatch.setattr(checks, "_seal", sealed)
    monkeypatch.setattr(consent_records, "_disclosure", lambda *_args: shown)
    real_answer, faults = store.answer, [ConnectionResetError("the connection was lost at the answer")]

    async def answer(*args: Any, **kwargs: Any) -> bool:
        if faults:
            raise faults.pop()
        return await real_answer(*args, **kwargs)

    monkeypatch.setattr(store, "answer", answer)

    async def story() -> tuple[str, int]:
        engine = await migrated(url)
        ledger = Ledger(db.sessions(engine), ConsentLog(NodeKey(bytes(32)), "verifier.test/consent"), SPECIAL)
        try:
            async def identity() -> Any:
                return namespaces.SimpleNamespace(key=EMPLOYER_KEY)

            ctx = namespaces.SimpleNamespace(identity=identity, ledger=lambda: ledger, now=lambda: NOW,
                                             settings=namespaces.SimpleNamespace(verifier_id=EMPLOYER),
                                             trust_list=lambda: TL, single=lambda: db.single(engine))
            async with db.unit(engine) as unit:
                await store.add_check(unit, {**_check("c1"), "expires_at": NOW + 600}, 1, forget=False)
            async with db.read(engine) as one:
                row = await store.check(one, "c1")
            with pytest.raises(ConnectionResetError):
                await checks._conclude(ctx, row, "vp", "offer")  # recorded, then the answer's unit fails
            with pytest.raises(RecordExists):  # the ledger says what the repeat meets, in its own words
                await ledger.record(shown, TL, NOW + 5)  # the same disclosure, a moment later
            with pytest.raises(RecordRefused) as other:  # the same id for another disclosure is no repeat
                await ledger.record(dataclasses.replace(shown, notice=Notice.of("another notice", "fr")), TL, NOW)
            assert not isinstance(other.value, RecordExists)
            await checks._conclude(ctx, row, "vp", "offer")  # the wallet's repeat: answered
            with pytest.raises(OAuthError, match="answered already"):
                await checks._conclude(ctx, row, "vp", "offer")
            async with db.read(engine) as one:
                phase = (await store.check(one, "c1")).phase
            async with engine.connect() as connection:
                lines = len((await connection.execute(select(AuditEntry.id))).all())
            return phase, lines
        finally:
            await ledger.aclose()
            await engine.dispose()

    assert asyncio.run(story()) == ("answered", 1)
