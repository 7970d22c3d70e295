"""Every SQL statement of the consent records (the log's own tables are consent/store/log.py).

What is kept, and why nothing in it is personal data in clear:

- ``consent_records``: the record id, the holder's *pairwise pseudonym* (an HMAC under a key
  only the holder's wallet has: consent/pseudonym.py), the controller's id, times, and the
  record's content as JSON (claim *names*, DPV terms, the notice's hash — never a value).
  Erasure deletes the row (``erased_at`` is for a future soft state; unused today).
- ``consent_events``: each event with its 32-byte salt and the index of its leaf in the log.
  Erasure deletes these rows: without the salt and the record, a leaf is 32 random-looking
  bytes that link to nobody (crypto-shredding), and every proof over it still verifies.
- ``consent_notices``: the withdrawal notifications owed to verifiers (webhook outbox), read
  from the database by the sender so a restart loses none (at-least-once).
- ``consent_proofs_spent``: a truncated SHA-256 of each holder proof already used, kept until the
  proof would have expired anyway, so a proof seen on the wire cannot be replayed. A digest of
  a random-nonce JWS says nothing about its holder.

Functions take an ``AsyncSession`` (the inserts any ``core.db.Db``: a disclosure is recorded in a
``core.db.unit``, issue 15) and never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Integer, LargeBinary, String, Text, delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from consent.records import Event, Record
from core.db import Base, Db, later, table_of
from core.encoding import json_dumps_compact, json_loads_strict


class ConsentRecordRow(Base):
    __tablename__ = "consent_records"

    record_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    subject_id: Mapped[str | None] = mapped_column(String(64), index=True)
    controller_id: Mapped[str] = mapped_column(String(300), index=True)
    content: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[int] = mapped_column(BigInteger)
    retain_until: Mapped[int] = mapped_column(BigInteger, index=True)
    erased_at: Mapped[int | None] = mapped_column(BigInteger, default=None)


class ConsentEventRow(Base):
    __tablename__ = "consent_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    record_id: Mapped[str] = mapped_column(ForeignKey("consent_records.record_id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    at: Mapped[int] = mapped_column(BigInteger)
    actor: Mapped[str] = mapped_column(String(16))
    salt: Mapped[bytes] = mapped_column(LargeBinary)
    leaf_index: Mapped[int] = mapped_column(BigInteger)
    receipt: Mapped[str | None] = mapped_column(Text, default=None)  # the controller's signed receipt


class ConsentNoticeRow(Base):
    """A withdrawal the verifier must hear of: sent with retries and backoff until it answers
    2xx, then waited on until it confirms deletion or its deadline passes (silence)."""

    __tablename__ = "consent_notices"

    record_id: Mapped[str] = mapped_column(ForeignKey("consent_records.record_id", ondelete="CASCADE"),
                                           primary_key=True)
    url: Mapped[str] = mapped_column(String(500))
    state: Mapped[str] = mapped_column(String(16))  # pending | delivered | confirmed | silent
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_at: Mapped[int] = mapped_column(BigInteger, index=True)
    deadline: Mapped[int] = mapped_column(BigInteger, index=True)


class ConsentProofSpentRow(Base):
    __tablename__ = "consent_proofs_spent"

    digest: Mapped[bytes] = mapped_column(LargeBinary, primary_key=True)
    expires_at: Mapped[int] = mapped_column(BigInteger, index=True)


async def spend_proof(session: AsyncSession, digest: bytes, expires_at: int, now: int) -> bool:
    """Mark a proof used; False when it was already (one statement: two racing uses, one wins)."""
    await session.execute(delete(ConsentProofSpentRow).where(ConsentProofSpentRow.expires_at < now)
                          .execution_options(synchronize_session=False))
    insert_ = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    result = await session.execute(insert_(ConsentProofSpentRow).values(digest=digest, expires_at=expires_at)
                                   .on_conflict_do_nothing(index_elements=["digest"]))
    return int(result.rowcount) == 1  # type: ignore[attr-defined]


# Built once: a statement object seen again is compiled once and run by the driver (core.prepared).
_INSERT_RECORD = insert(table_of(ConsentRecordRow))
# ``inline``: the server numbers the row and nobody reads the number back, so no implicit
# ``RETURNING``, and the insert can wait for the unit's end (``core.db.later``).
_INSERT_EVENT = insert(table_of(ConsentEventRow)).inline()


# Rows a statement takes at most: 7 parameters a row, two tables in one statement (core.db.later),
# well under the 32767 parameters asyncpg sends in one statement (a batch is at most 64 records
# today, core.group_commit; this keeps a larger one correct).
_ROWS_A_STATEMENT = 1000


async def insert_records(db: Db, records: Sequence[Record]) -> None:
    """New records, by ``later``: with their events, a recorded batch's rows go in as one
    statement on PostgreSQL (``consent.ledger``; one round trip per record before, issue 15)."""
    rows = [{"record_id": r.record_id, "subject_id": r.subject_id, "controller_id": r.controller.id,
             "content": json_dumps_compact(r.content()), "created_at": r.created_at,
             "retain_until": r.created_at + r.retention_s, "erased_at": None} for r in records]
    for start in range(0, len(rows), _ROWS_A_STATEMENT):
        await later(db, _INSERT_RECORD, rows[start:start + _ROWS_A_STATEMENT])


async def insert_events(db: Db, events: Sequence[tuple[Event, int, str | None]]) -> None:
    """Events, each with its leaf index and signed receipt (``later``, as ``insert_records``)."""
    rows = [{"record_id": e.record_id, "kind": e.kind, "at": e.at, "actor": e.actor, "salt": e.salt,
             "leaf_index": index, "receipt": receipt} for e, index, receipt in events]
    for start in range(0, len(rows), _ROWS_A_STATEMENT):
        await later(db, _INSERT_EVENT, rows[start:start + _ROWS_A_STATEMENT])


def _record(row: ConsentRecordRow) -> Record | None:
    return None if row.content is None else Record.from_content(json_loads_strict(row.content, "consent record"))


async def exists(session: AsyncSession, record_id: str) -> bool:
    """Whether a record of this id is stored. A record erased at the holder's request is deleted with
    its events (``erase``, no tombstone), so its id is free again; reaching it would take the holder's
    pairwise key and a fresh request's nonce (consent.pseudonym)."""
    found = await session.execute(select(ConsentRecordRow.record_id).where(ConsentRecordRow.record_id == record_id))
    return found.first() is not None


async def get(session: AsyncSession, record_id: str, *, lock: bool = False) -> Record | None:
    """A live record (None when missing or erased); ``lock``: hold its row until commit."""
    query = select(ConsentRecordRow).where(ConsentRecordRow.record_id == record_id)
    if lock and session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    row = (await session.execute(query.execution_options(populate_existing=True))).scalar_one_or_none()
    return None if row is None else _record(row)


async def events(session: AsyncSession, record_id: str) -> list[tuple[Event, int, str | None]]:
    """A record's events in order, each with its leaf index and signed receipt."""
    rows = (await session.execute(select(ConsentEventRow).where(ConsentEventRow.record_id == record_id)
                                  .order_by(ConsentEventRow.id))).scalars()
    return [(Event(r.record_id, r.kind, r.at, r.actor, r.salt), r.leaf_index, r.receipt)  # type: ignore[arg-type]
            for r in rows]


async def of_subject(session: AsyncSession, subject_id: str) -> list[Record]:
    rows = (await session.execute(select(ConsentRecordRow).where(ConsentRecordRow.subject_id == subject_id)
                                  .order_by(ConsentRecordRow.created_at, ConsentRecordRow.record_id))).scalars()
    return [r for r in map(_record, rows) if r is not None]


async def erase(session: AsyncSession, record_ids: Sequence[str], now: int) -> int:
    """Crypto-shred: delete the records with their events (salts, leaf indices) and notices.
    No tombstone: its times would line up with the leaves' append times and link them again."""
    if not record_ids:
        return 0
    await session.execute(delete(ConsentEventRow).where(ConsentEventRow.record_id.in_(record_ids))
                          .execution_options(synchronize_session=False))
    await session.execute(delete(ConsentNoticeRow).where(ConsentNoticeRow.record_id.in_(record_ids))
                          .execution_options(synchronize_session=False))
    result = await session.execute(delete(ConsentRecordRow).where(ConsentRecordRow.record_id.in_(record_ids))
                                   .execution_options(synchronize_session=False))
    return int(result.rowcount)  # type: ignore[attr-defined]


async def past_retention(session: AsyncSession, now: int, limit: int = 500) -> list[str]:
    rows = await session.execute(select(ConsentRecordRow.record_id).where(ConsentRecordRow.retain_until <= now,
                                                                         ConsentRecordRow.erased_at.is_(None))
                                 .order_by(ConsentRecordRow.retain_until).limit(limit))
    return list(rows.scalars())


async def add_notice(session: AsyncSession, record_id: str, url: str, now: int, deadline: int) -> None:
    session.add(ConsentNoticeRow(record_id=record_id, url=url, state="pending", attempts=0, next_at=now,
                                 deadline=deadline))
    await session.flush()


async def notice(session: AsyncSession, record_id: str) -> ConsentNoticeRow | None:
    return await session.get(ConsentNoticeRow, record_id, populate_existing=True)


async def notices_due(session: AsyncSession, now: int, limit: int = 50) -> list[ConsentNoticeRow]:
    rows = await session.execute(select(ConsentNoticeRow).where(ConsentNoticeRow.state == "pending",
                                                                ConsentNoticeRow.next_at <= now)
                                 .order_by(ConsentNoticeRow.next_at).limit(limit))
    return list(rows.scalars())


async def notices_overdue(session: AsyncSession, now: int, limit: int = 50) -> list[str]:
    rows = await session.execute(select(ConsentNoticeRow.record_id)
                                 .where(ConsentNoticeRow.state.in_(("pending", "delivered")),
                                        ConsentNoticeRow.deadline <= now).limit(limit))
    return list(rows.scalars())


async def set_notice(session: AsyncSession, record_id: str, *, from_states: Sequence[str], **values: Any) -> bool:
    """Move a notice on, only from one of ``from_states`` (one statement: no read-then-write race)."""
    result = await session.execute(update(ConsentNoticeRow).where(ConsentNoticeRow.record_id == record_id,
                                                                  ConsentNoticeRow.state.in_(from_states))
                                   .values(**values).execution_options(synchronize_session=False))
    return int(result.rowcount) == 1  # type: ignore[attr-defined]


async def controllers(session: AsyncSession) -> list[tuple[str, int]]:
    """Per controller, how many live records: for the Art. 30 report (no subject in it)."""
    from sqlalchemy import func

    rows = await session.execute(select(ConsentRecordRow.controller_id, func.count())
                                 .where(ConsentRecordRow.erased_at.is_(None))
                                 .group_by(ConsentRecordRow.controller_id))
    return [(c, int(n)) for c, n in rows.all()]
