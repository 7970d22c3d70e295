"""The requester's side of a check: its result taken once, with the key only the requester holds.

The result was sealed to ``result_key`` (verifier.checks), so what the database keeps between the
wallet's answer and the clerk's screen is ciphertext the server cannot read; taking it deletes it.
While the check is open, a hint may be on record (a decline, or an answer in which nothing was
bound to the request): the requester may take it as the result at once (``close``), or it becomes
the result when the check expires.
"""

from __future__ import annotations

import json
from typing import Any

from nacl.encoding import URLSafeBase64Encoder
from nacl.exceptions import CryptoError
from nacl.public import PrivateKey as BoxKey
from nacl.public import SealedBox

from core.db import Db
from core.errors import Forbidden, NotFound
from verifier import store
from verifier.context import VerifierContext
from verifier.store import AuditLine, CheckRow
from verifier.verification import Result


def audit_entries(name: str, result: Result, now: int, desk: str | None) -> list[AuditLine]:
    """What the audit keeps of a verdict: per credential its type, issuer and the names disclosed, never a
    value; and the desk that asked."""
    if not result.credentials:
        return [AuditLine(at=now, check_name=name, vct=None, issuer=None, accepted=result.accepted,
                          reason=result.reason, disclosed_names=[], desk=desk)]
    return [AuditLine(at=now, check_name=name, vct=c.vct, issuer=c.issuer, accepted=result.accepted,
                      reason=result.reason, disclosed_names=list(c.disclosed_names), desk=desk)
            for c in result.credentials]


async def take_result(ctx: VerifierContext, check_id: str, result_key: str, *,
                      close: bool = False) -> dict[str, Any] | None:
    """The result, once; None while the check is open. Needs the requester's key. A check that
    expired with only a hint on record (a decline, or an answer in which nothing was bound to
    the request: see ``checks.respond``) has the hint as result; ``close``: the requester takes the hint now, and the
    check ends (the holder can answer it no more)."""
    key = _result_key(result_key)
    row, sealed = await _read_taking_answer(ctx, check_id, key)
    if sealed is not None:
        return _opened(key, sealed)
    declined_and_closed = (row.phase == "pending" and (close or ctx.now() >= row.expires_at)
                           and row.sealed_result is not None)
    if row.phase == "pending" and not declined_and_closed:
        return None
    # Taking an answer is that one UPDATE (``single``: on PostgreSQL one round trip, not three);
    # a hint taken as the result is audited with it, by its reason.
    async with ctx.unit() if declined_and_closed else ctx.single() as db:
        sealed = await store.take_result(db, row, closed_pending=declined_and_closed)
        if sealed is not None and declined_and_closed:
            reason = str(_opened(key, sealed).get("reason") or "declined")
            await store.audit(db, audit_entries(row.name, Result(False, reason=reason), ctx.now(), row.desk))
    if sealed is None and declined_and_closed:
        # An answer verified after the check expired may have come in since the read above (a
        # presentation that arrived in time): not "already shown", but the next poll's result.
        return None
    if sealed is None:
        raise NotFound("the result was already shown")
    return _opened(key, sealed)


async def _read_taking_answer(ctx: VerifierContext, check_id: str, key: BoxKey) -> tuple[CheckRow, bytes | None]:
    """The requester's check, and its answer if this read took it.

    A poll of an open check writes nothing and waits for no writer. On PostgreSQL one statement
    reads the check and takes an answer made for this key (``store.check_taking_answer``); for an
    open check it is an ``UPDATE`` that finds no row to change. On SQLite a read outside any
    transaction (a transaction would take the database's write lock); ``take_result`` then takes
    the answer with an ``UPDATE`` that finds the check still in the phase read here, or nothing, so
    of two takers only one gets it."""
    if ctx.engine.dialect.name == "postgresql":
        async with ctx.single() as db:
            row, taken = await store.check_taking_answer(db, check_id, bytes(key.public_key))
    else:
        async with ctx.read() as db:
            row, taken = await store.check(db, check_id), False
    owned = _owned(row, key)
    return owned, owned.sealed_result if taken else None


def _opened(key: BoxKey, sealed: bytes) -> dict[str, Any]:
    opened: dict[str, Any] = json.loads(SealedBox(key).decrypt(sealed))
    return opened


async def declined(ctx: VerifierContext, check_id: str, result_key: str) -> bool:
    """Whether someone answered this open check with an error: a hint for the desk, not a result."""
    async with ctx.read() as db:
        row = await _own_check(db, check_id, _result_key(result_key))
    return row.phase == "pending" and row.sealed_result is not None


def _result_key(result_key: str) -> BoxKey:
    try:
        return BoxKey(result_key.encode("ascii"), encoder=URLSafeBase64Encoder)
    except (ValueError, TypeError, CryptoError) as exc:
        raise Forbidden("that result key is not valid") from exc


async def withdraw(ctx: VerifierContext, check_id: str, result_key: str) -> None:
    """The requester gives up an open check: the desk's browser started another, and the one cookie
    that held this check's key now holds the new one's, so nobody could read an answer to it. It
    ends now, audited as a check that ended pending (``store.UNANSWERED``, or ``HINT_ONLY`` with a
    decline on record): a holder who scans its QR later is told it is over, rather than disclosing
    to no one (helper-81). Not the requester's key, no such check, or one already answered
    (its audit line written, its result waiting until it expires): nothing changes."""
    try:
        key = _result_key(result_key)
    except Forbidden:
        return
    async with ctx.unit() as db:
        row = await store.check(db, check_id)
        if row is None or bytes(key.public_key) != row.result_public_key or row.phase != "pending":
            return
        if await store.end_pending(db, check_id):
            reason = store.UNANSWERED if row.sealed_result is None else store.HINT_ONLY
            await store.audit(db, audit_entries(row.name, Result(False, reason=reason), ctx.now(), row.desk))


async def _own_check(db: Db, check_id: str, key: BoxKey) -> CheckRow:
    return _owned(await store.check(db, check_id), key)


def _owned(row: CheckRow | None, key: BoxKey) -> CheckRow:
    if row is None:
        raise NotFound("no check with this id (or its result was already shown)")
    if bytes(key.public_key) != row.result_public_key:
        raise Forbidden("that result key does not belong to this check")
    return row
