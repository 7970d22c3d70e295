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
from verifier import store
from verifier.tables import AuditEntry


def _check(check_id: str) -> dict[str, Any]:
    return {"id": check_id, "name": "right-to-work", "purpose": "LegalCompliance", "dcql": {}, "prefix": "x509_hash",
            "nonce": "n", "state": "s", "request_jwt": "jwt", "accept_unknown_status": False,
            "result_public_key": bytes(32), "phase": "pending", "created_at": 1, "expires_at": 2, "response_key": None}


def _lines(check_id: str) -> list[AuditEntry]:
    return [AuditEntry(at=1, check_name=check_id, vct=f"urn:vct:{n}", issuer="https://issuer.example", accepted=True,
                       reason=None, disclosed_names=["given_name", f"claim_{n}"]) for n in range(2)]


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
