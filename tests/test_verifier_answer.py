"""A check answered once, with its audit lines (verifier.store.answer): on PostgreSQL one statement,
a unit of its own (``core.db.single``); on both stores a second answer finds nothing pending and
writes no audit line. Counted at asyncpg, where the hot requests' statements go (core.prepared)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy import select

from core import db
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
    sent: list[str] = []
    for name in ("execute", "fetch", "executemany"):
        real = getattr(asyncpg.Connection, name)

        async def one(self: asyncpg.Connection, query: str, *args: object, _real: Any = real, **kwargs: object) -> Any:
            sent.append(query)
            return await _real(self, query, *args, **kwargs)

        monkeypatch.setattr(asyncpg.Connection, name, one)

    async def story() -> tuple[list[bool], list[Any], list[str]]:
        engine = await migrated(url)
        try:
            async with db.unit(engine) as unit:
                for check_id in ("c1", "c2", "c3"):
                    await store.add_check(unit, _check(check_id), 1, forget=False)
            answers = []
            for check_id in ("c1", "c2"):  # the statement's first sight is SQLAlchemy's, the second the driver's
                sent.clear()
                async with db.single(engine) as one:
                    answers.append(await store.answer(one, check_id, b"sealed", _lines(check_id)))
            counted = list(sent)
            async with db.single(engine) as one:  # answered already: nothing pending, no audit line
                answers.append(await store.answer(one, "c2", b"again", _lines("c2")))
            async with db.unit(engine) as unit:
                rows = (await unit.execute(select(AuditEntry.check_name, AuditEntry.disclosed_names)
                                           .order_by(AuditEntry.id))).all()
                checks = store.CHECKS.c
                phases = (await unit.execute(select(checks.id, checks.phase, checks.sealed_result)
                                             .order_by(checks.id))).all()
            return answers, [tuple(r) for r in rows] + [tuple(p) for p in phases], counted
        finally:
            await engine.dispose()

    answers, stored, counted = asyncio.run(story())
    assert answers == [True, True, False]
    assert stored == [("c1", ["given_name", "claim_0"]), ("c1", ["given_name", "claim_1"]),
                      ("c2", ["given_name", "claim_0"]), ("c2", ["given_name", "claim_1"]),
                      ("c1", "answered", b"sealed"), ("c2", "answered", b"sealed"), ("c3", "pending", None)]
    if backend == "postgresql":
        assert len(counted) == 1 and counted[0].startswith("WITH answered AS"), counted
