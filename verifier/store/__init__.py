"""Every SQL statement of the verifier (the desk keys' in ``desks``, the offline QR's in ``offline``,
re-exported here). Functions take an ``AsyncSession`` and never commit.

Those of a check's requests (create, request object, response, result) are SQLAlchemy Core
statements built once and take ``core.db.Db``: the bare connection of ``VerifierContext.unit()``
there (issue 15: the ORM's session and unit of work cost more than the SQL), a session elsewhere.
A check comes back as a read-only ``Row``; every change is an explicit statement.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Row, bindparam, case, delete, exists, false, insert, literal, select, union_all, update
from sqlalchemy.ext.asyncio import AsyncSession

from core import keys
from core.db import Db, dialect_insert, dialect_name, later, table_of
from core.sealing import NodeKey
from verifier.requests import Identity as SigningIdentity
from verifier.requests import self_signed_certificate
from verifier.store.desks import (
    DESK_ID_CHARS,
    SERVICE,
    add_desk_key,
    desk_active,
    desk_digest,
    desk_id,
    desk_key_known,
    desk_keys,
    revoke_desk_key,
)
from verifier.store.offline import add_offline_nonce, first_showing, offline_nonce_live, spend_offline_nonce
from verifier.tables import AuditEntry, Check, DeskKey, Identity, StatusListCopy

CheckRow = Row[Any]  # a verifier_checks row: attributes by column name
CHECKS = table_of(Check)
AUDIT, COPIES = table_of(AuditEntry), table_of(StatusListCopy)

_CHECK = select(CHECKS).where(CHECKS.c.id == bindparam("check_id"))
_ANSWER = (update(CHECKS).where(CHECKS.c.id == bindparam("check_id"), CHECKS.c.phase == "pending")
           .values(phase="answered", sealed_result=bindparam("sealed_result"), response_key=None)
           .returning(CHECKS.c.id))
_DECLINE = (update(CHECKS).where(CHECKS.c.id == bindparam("check_id"), CHECKS.c.phase == "pending",
                                 CHECKS.c.sealed_result.is_(None)).values(sealed_result=bindparam("sealed_result")))
_TAKE = (update(CHECKS).where(CHECKS.c.id == bindparam("check_id"), CHECKS.c.phase == bindparam("was"),
                              CHECKS.c.sealed_result.is_not(None))
         .values(phase="done", sealed_result=None).returning(CHECKS.c.id))
_NEW_AUDIT = insert(AUDIT)
# PostgreSQL: the check as it was, its answer taken in the same statement (``check_taking_answer``)
_TAKEN = (update(CHECKS).where(CHECKS.c.id == bindparam("check_id"), CHECKS.c.phase == "answered",
                               CHECKS.c.sealed_result.is_not(None),
                               CHECKS.c.result_public_key == bindparam("requester_key"))
          .values(phase="done", sealed_result=None).returning(CHECKS.c.id).cte("taken"))
_CHECK_TAKING_ANSWER = (select(CHECKS, exists(select(_TAKEN.c.id)).label("taken"))
                        .where(CHECKS.c.id == bindparam("check_id")).add_cte(_TAKEN))


async def identity(session: AsyncSession, node: NodeKey, name: str, now: int) -> SigningIdentity:
    """The verifier's request-signing key and certificate, made at first use; the certificate made
    anew for the same key when it nears its end (``requests.RENEW_BEFORE_S``)."""
    row = await session.get(Identity, "default", with_for_update=True)
    if row is None:
        key, did_key = keys.generate("ES256"), keys.generate("EdDSA")
        sealed = node.seal(json.dumps({"es256": key.to_jwk(), "eddsa": did_key.to_jwk()}).encode(), "verifier-key")
        row = Identity(id="default", sealed_key=sealed, certificate=self_signed_certificate(key, name, now),
                       created_at=now)
        session.add(row)
        await session.flush()
    opened = json.loads(node.open(row.sealed_key, "verifier-key"))
    made = SigningIdentity(keys.PrivateKey.from_jwk(opened["es256"]), row.certificate,
                           keys.PrivateKey.from_jwk(opened["eddsa"]))
    if now < made.renew_at:
        return made
    row.certificate = self_signed_certificate(made.key, name, now)
    await session.flush()
    return SigningIdentity(made.key, row.certificate, made.did_key)


_EXPIRED = CHECKS.c.expires_at <= bindparam("now")
_FORGET_CHECKS = delete(CHECKS).where(_EXPIRED)
_NEW_CHECK = insert(CHECKS)
# A check that ends pending leaves an audit line too: "unanswered" (nothing came), or "hint_only" (only
# a decline, or an answer bound to nothing, came: a hint anyone who saw the QR could send, checks.respond).
UNANSWERED, HINT_ONLY = "unanswered", "hint_only"
_ENDED_PENDING = ("at", "check_name", "accepted", "reason", "disclosed_names", "desk")


def _ended_pending(rows: Any, *where: Any) -> Any:
    """The audit lines of ``rows`` (checks, or the checks a ``DELETE … RETURNING`` took) still pending."""
    return (insert(AUDIT).from_select(_ENDED_PENDING, select(
        rows.c.expires_at, rows.c.name, false(),
        case((rows.c.sealed_result.is_(None), literal(UNANSWERED)), else_=literal(HINT_ONLY)),
        literal([], AUDIT.c.disclosed_names.type), rows.c.desk).where(rows.c.phase == "pending", *where)))


_AUDIT_ENDED = _ended_pending(CHECKS, _EXPIRED)  # SQLite: then _FORGET_CHECKS, its one writer in turn
# PostgreSQL: one statement, so that a desk taking a decline as its result at that moment (results.take_result)
# is either seen done here or finds the check gone: never audited twice.
_FORGOTTEN = _FORGET_CHECKS.returning(CHECKS.c.expires_at, CHECKS.c.name, CHECKS.c.sealed_result, CHECKS.c.desk,
                                      CHECKS.c.phase).cte("forgotten")
_FORGET_AUDITING = _ended_pending(_FORGOTTEN).add_cte(_FORGOTTEN)


async def add_check(db: Db, check: dict[str, Any], now: int, *, forget: bool = True) -> None:
    """A new check (its columns by name); ``forget``: first the expired ones, results included,
    those that ended pending audited as such. Without them, on PostgreSQL the insert is the unit's
    one statement: one round trip (``core.db.later``)."""
    if forget and dialect_name(db) == "sqlite":
        await db.execute(_AUDIT_ENDED, {"now": now})
        await db.execute(_FORGET_CHECKS, {"now": now})
    elif forget:
        await db.execute(_FORGET_AUDITING, {"now": now})
    await later(db, _NEW_CHECK, {"sealed_result": None, **check})


async def check(db: Db, check_id: str) -> CheckRow | None:
    """A check, read-only."""
    return (await db.execute(_CHECK, {"check_id": check_id})).one_or_none()


async def check_taking_answer(db: Db, check_id: str, result_public_key: bytes) -> tuple[CheckRow | None, bool]:
    """PostgreSQL: the check as it was, and whether its answer was taken (to ``done``) by the same
    statement, which takes it only for the requester's key: a desk's poll of an answered check is
    one round trip, not a read and then a take (issue 15). A data-modifying ``WITH`` and the query
    around it run on one snapshot, so the row read is the row before the take (PostgreSQL's manual,
    "Data-Modifying Statements in WITH"); of two takers at once the second's ``UPDATE`` waits for
    the first's and then finds the check ``done``: only one gets the answer."""
    row = (await db.execute(_CHECK_TAKING_ANSWER, {"check_id": check_id,
                                                   "requester_key": result_public_key})).one_or_none()
    return (None, False) if row is None else (row, bool(row.taken))


@dataclass(frozen=True, slots=True)
class AuditLine:
    """An audit line to write: ``AuditEntry``'s columns, without the ORM. Lines are only ever
    inserted by Core statements (``_audit_row``), and making the mapped object, with its instance
    state, cost about 0.1 million instructions a line, 0.4 % of a whole check (issue 15)."""

    at: int
    check_name: str
    vct: str | None
    issuer: str | None
    accepted: bool
    reason: str | None
    disclosed_names: list[str]
    desk: str | None  # the digest of the desk key that asked; None: the shell


async def answer(db: Db, check_id: str, sealed_result: bytes, entries: Sequence[AuditLine]) -> bool:
    """Pending → answered, once, with its audit lines: a replayed response finds nothing pending
    and writes none. The response key goes with the answer: nothing encrypted to it is read again.

    On PostgreSQL one statement (``_answered_and_audited``), a unit of its own (``core.db.single``:
    one round trip where a transaction of the two took four); elsewhere the two in turn."""
    parameters = {"check_id": check_id, "sealed_result": sealed_result}
    if dialect_name(db) == "sqlite" or not entries:
        if (await db.execute(_ANSWER, parameters)).scalar_one_or_none() is None:
            return False
        await audit(db, entries)
        return True
    for i, entry in enumerate(entries):
        parameters.update({f"{name}_{i}": value for name, value in _audit_row(entry).items()})
    return bool((await db.execute(_answered_and_audited(len(entries)), parameters)).all())


@lru_cache(maxsize=32)  # one per number of credentials a response held: a few
def _answered_and_audited(count: int) -> Any:
    """``WITH answered AS (UPDATE … RETURNING id) INSERT INTO verifier_audit … SELECT … WHERE
    EXISTS (SELECT … FROM answered) RETURNING id``: the audit lines go in only if the check was
    pending, and rows come back only then. A data-modifying ``WITH`` query runs once, whatever
    the outer statement reads of it (PostgreSQL's manual, "Data-Modifying Statements in WITH")."""
    answered = _ANSWER.cte("answered")
    columns = [c for c in AUDIT.columns if c.name != "id"]
    rows = [select(*(bindparam(f"{c.name}_{i}", type_=c.type).label(c.name) for c in columns))
            .where(exists(select(answered.c.id))) for i in range(count)]
    return (insert(AUDIT).from_select([c.name for c in columns], rows[0] if count == 1 else union_all(*rows))
            .add_cte(answered).returning(AUDIT.c.id))


_END_PENDING = (update(CHECKS).where(CHECKS.c.id == bindparam("check_id"), CHECKS.c.phase == "pending")
                .values(phase="done", sealed_result=None, response_key=None).returning(CHECKS.c.id))


async def end_pending(db: Db, check_id: str) -> bool:
    """A pending check ended by its requester (``results.withdraw``): done, holding nothing, answerable no more."""
    return (await db.execute(_END_PENDING, {"check_id": check_id})).scalar_one_or_none() is not None


async def note_decline(db: Db, check_id: str, sealed_result: bytes) -> None:
    """Keep the first decline of a pending check as its would-be result; it stays pending."""
    await db.execute(_DECLINE, {"check_id": check_id, "sealed_result": sealed_result})


async def take_result(db: Db, row: CheckRow, *, closed_pending: bool = False) -> bytes | None:
    """The sealed result of ``row`` (read in this transaction), gone as it is taken: one UPDATE that
    finds the check still in the phase it was read in, so of two takers only one gets it.
    ``closed_pending``: the check expired pending, and what it holds (a decline) is its result."""
    phase = "pending" if closed_pending else "answered"
    if row.phase != phase or row.sealed_result is None:
        return None
    sealed: bytes = row.sealed_result
    taken = await db.execute(_TAKE, {"check_id": row.id, "was": phase})
    return sealed if taken.scalar_one_or_none() is not None else None


def _audit_row(e: AuditLine) -> dict[str, Any]:
    return {"at": e.at, "check_name": e.check_name, "vct": e.vct, "issuer": e.issuer, "accepted": e.accepted,
            "reason": e.reason, "disclosed_names": e.disclosed_names, "desk": e.desk}


async def audit(db: Db, entries: Sequence[AuditLine]) -> None:
    """Audit lines: names only, never a value (issue: verifiers store no attribute values)."""
    if entries:
        await db.execute(_NEW_AUDIT, [_audit_row(e) for e in entries])


async def audit_entries(session: AsyncSession, limit: int = 200) -> list[dict[str, Any]]:
    """The newest audit lines, each with the desk that asked (its id and name, revoked or not; None
    for a check made from the shell)."""
    query = (select(AuditEntry, DeskKey.name).outerjoin(DeskKey, DeskKey.digest == AuditEntry.desk)
             .order_by(AuditEntry.id.desc()).limit(limit))
    return [{"at": r.at, "check": r.check_name, "vct": r.vct, "issuer": r.issuer, "accepted": r.accepted,
             "reason": r.reason, "disclosed_names": r.disclosed_names,
             "desk": None if r.desk is None else {"id": r.desk[:DESK_ID_CHARS], "name": name}}
            for r, name in (await session.execute(query)).all()]


async def keep_status_list(db: Db, uri: str, token: str, now: int) -> None:
    """Keep (or refresh) the signed copy of a status list: one upsert, so the first concurrent
    checks that meet a new list do not race to insert it (issue 11: 500 on the unique key)."""
    upsert = dialect_insert(db, StatusListCopy).values(uri=uri, token=token, fetched_at=now)
    await db.execute(upsert.on_conflict_do_update(index_elements=[StatusListCopy.uri],
                                                  set_={"token": token, "fetched_at": now}))


_STATUS_LIST_COPY = select(COPIES.c.token, COPIES.c.fetched_at).where(COPIES.c.uri == bindparam("uri"))


async def status_list_copy(db: Db, uri: str) -> tuple[str, int] | None:
    row = (await db.execute(_STATUS_LIST_COPY, {"uri": uri})).one_or_none()
    return None if row is None else (row.token, row.fetched_at)


async def note_status_list(session: AsyncSession, uri: str, now: int) -> None:
    """Remember a list the desk met but does not hold (an empty token, which says nothing), so the
    next ``amana verifier sync`` fetches it; a held copy is left as it is."""
    upsert = dialect_insert(session, StatusListCopy).values(uri=uri, token="", fetched_at=now)
    await session.execute(upsert.on_conflict_do_nothing(index_elements=[StatusListCopy.uri]))


async def status_list_copies_at(session: AsyncSession, uris: list[str]) -> list[tuple[str, str, int]]:
    """Held copies at exactly these URIs: (uri, token, fetched_at). The caller believes one
    only if the issuer's key signed it for that very URI."""
    if not uris:
        return []
    query = select(StatusListCopy).where(StatusListCopy.uri.in_(uris))
    return [(r.uri, r.token, r.fetched_at) for r in (await session.execute(query)).scalars()]


async def status_list_uris(session: AsyncSession) -> list[str]:
    return list((await session.execute(select(StatusListCopy.uri))).scalars())


async def phase(db: Db, check_id: str) -> tuple[str, bool] | None:
    """The check's phase, and whether a decline came while it is still open (a hint only:
    anyone who read the request could have sent it; checks.respond says why)."""
    row = await check(db, check_id)
    return None if row is None else (row.phase, row.phase == "pending" and row.sealed_result is not None)


__all__ = [  # the desk keys' and the offline QR's statements, re-exported
    "DESK_ID_CHARS", "SERVICE", "add_desk_key", "add_offline_nonce", "desk_active", "desk_digest", "desk_id",
    "desk_key_known", "desk_keys", "first_showing", "offline_nonce_live", "revoke_desk_key", "spend_offline_nonce",
]
