"""The consent ledger as a library: what the verifier, the wallet and ``/consent`` call in process.

It joins the pure records (consent/records.py), their SQL (consent/store/records.py) and the
tamper-evident log behind its seam (consent/log.py, built apart): each event's salted
commitment is appended in the *same transaction* as the event row (and the controller's
signed receipt for it), so an event is never stored without its leaf, nor a leaf
acknowledged without its event.

The log is passed in (``LogSeam``: the functions of consent/log.py), so the records are
tested before the log exists and against a log of any make.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from consent import iso27560, records
from consent.records import (
    Actor,
    Disclosure,
    Event,
    EventKind,
    Record,
    RecordExists,
    RecordNotFound,
    RecordRefused,
    SpecialCategories,
)
from consent.store import records as store
from core import db
from core.db import Db
from core.group_commit import GroupCommit
from core.keys import PublicKey
from core.trust import TrustList


class LogSeam(Protocol):
    """consent/log.py's functions (see the design note of issue 14)."""

    async def append(self, db: Db, commitments: Sequence[bytes], now: int) -> list[int]: ...

    async def checkpoint(self, db: AsyncSession, now: int) -> Any: ...

    async def inclusion(self, db: AsyncSession, index: int, size: int) -> list[bytes]: ...

    async def consistency(self, db: AsyncSession, old: int, new: int) -> list[bytes]: ...

    def verify_inclusion(self, leaf: bytes, index: int, size: int, proof: Any, root: bytes) -> None: ...

    async def vkey(self, db: Db, now: int) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Logged:
    """One event of a record, its leaf, where the leaf sits in the log, and its signed receipt."""

    record: Record
    event: Event
    leaf: bytes
    index: int
    receipt: str | None = None
    log_key: str | None = None  # the log's C2SP vkey, which the receipt carries


@dataclass(frozen=True, slots=True)
class Proven:
    """A logged event with its inclusion proof against a checkpoint."""

    logged: Logged
    proof: list[bytes]
    checkpoint: Any  # the log's SignedCheckpoint (size, root, note text)


Signer = Callable[[Logged, Sequence[Event]], str]
Also = Callable[[AsyncSession, Logged], Awaitable[None]]
_Entry = tuple[Record, list[Event], Event, Signer | None]  # a record, its past events, the new one, its signer


@dataclass(frozen=True, slots=True)
class _New:
    """A disclosure waiting to be recorded with the others that arrive with it."""

    record: Record
    event: Event
    sign: Signer | None
    now: int


def _timeless(record: Record | None) -> dict[str, Any] | None:
    """A record's content but its time: two tries of one answer make the same record at two moments."""
    return None if record is None else {k: v for k, v in record.content().items() if k != "created_at"}


def _an_item_may_cause(exc: Exception) -> bool:
    """Whether one record of a failed batch could be the cause (a refused row, a receipt that
    could not be signed), so each is tried alone; not when the database itself failed, nor when no
    pooled connection came in time (``core.db.database_failed``, whichever layer says so): tried
    one by one, a batch of 64 would wait for the pool 64 times while later checks queue behind it."""
    return not db.database_failed(exc)


@dataclass
class Ledger:
    sessions: async_sessionmaker[AsyncSession]
    log: LogSeam
    special: SpecialCategories

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions.begin() as session:
            yield session

    def __post_init__(self) -> None:
        self._recorder: GroupCommit[_New, Logged] = GroupCommit(self._record_all, alone=_an_item_may_cause)

    async def aclose(self) -> None:
        """Stop recording (a service stopping): the open transaction rolls back, waiters are cancelled."""
        await self._recorder.aclose()

    async def _log(self, session: Db, entries: Sequence[_Entry], now: int, *, new: bool = False) -> list[Logged]:
        """Append the entries' leaves in one append, then store each event with its signed receipt
        (the receipt names the leaf's index, so it is signed after the append); ``new``: the
        records too, first. Both after the append, left for later (``core.db.later``): on
        PostgreSQL they go in as one statement at the commit, not one per record while the
        log's lock is held; on SQLite and in a session they run at once, as before."""
        leaves = [event.commitment(record) for record, _, event, _ in entries]
        indices = await self.log.append(session, leaves, now)
        log_key = await self.log.vkey(session, now)
        out, rows = [], []
        for (record, past, event, sign), leaf, index in zip(entries, leaves, indices, strict=True):
            logged = Logged(record, event, leaf, index, log_key=log_key)
            receipt = sign(logged, [*past, event]) if sign is not None else None
            rows.append((event, index, receipt))
            out.append(dataclasses.replace(logged, receipt=receipt))
        if new:
            await store.insert_records(session, [record for record, _, _, _ in entries])
        await store.insert_events(session, rows)
        return out

    async def record(self, disclosure: Disclosure, trust: TrustList, now: int, sign: Signer | None = None) -> Logged:
        """Record a disclosure and its "given" event (refused per consent/records.build).

        Every accepted check does this (issue 15). Records that arrive while others are being
        written go together in the next transaction (core.group_commit): one lock on the log, one
        append of all their leaves, one commit. A record that fails is retried alone, so it fails
        only its own call. The transaction is a ``core.db.unit`` of Core statements compiled once
        and run by the driver (core.prepared)."""
        record = records.build(disclosure, trust, self.special, now)
        try:
            return await self._recorder.submit(_New(record, records.new_event(record.record_id, "given", now,
                                                                             "controller"), sign, now))
        except Exception as exc:
            # Read only on this failure: every accepted check records, and a read first would cost them all.
            if db.unique_violation(exc):
                async with self.transaction() as session:
                    if await store.exists(session, record.record_id):
                        same = _timeless(await store.get(session, record.record_id)) == _timeless(record)
                        raise RecordExists() if same else RecordRefused(
                            "a record of this id exists for another disclosure") from None
            raise

    async def _record_all(self, new: Sequence[_New]) -> list[Logged]:
        async with db.unit(self.sessions.kw["bind"]) as unit:
            return await self._log(unit, [(one.record, [], one.event, one.sign) for one in new],
                                   max(one.now for one in new), new=True)

    async def event(self, record_id: str, kind: EventKind, actor: Actor, now: int, sign: Signer | None = None,
                    also: Also | None = None) -> Logged:
        """Add an event the record's history allows (one transaction, the row locked); ``also``
        runs in that transaction (a notification queued with its withdrawal, say)."""
        async with self.transaction() as session:
            record = await store.get(session, record_id, lock=True)
            if record is None:
                raise RecordNotFound()
            past = [e for e, _, _ in await store.events(session, record_id)]
            event = records.next_event(record, past, kind, now, actor)
            [logged] = await self._log(session, [(record, past, event, sign)], now)
            if also is not None:
                await also(session, logged)
            return logged

    async def spend_proof(self, digest: bytes, expires_at: int, now: int) -> bool:
        """Mark a holder proof used (its own transaction); False when it was used before."""
        async with self.transaction() as session:
            return await store.spend_proof(session, digest, expires_at, now)

    async def history(self, record_id: str) -> tuple[Record, list[Logged]]:
        async with self.transaction() as session:
            record = await store.get(session, record_id)
            if record is None:
                raise RecordNotFound()
            return record, [Logged(record, e, e.commitment(record), i, r)
                            for e, i, r in await store.events(session, record_id)]

    async def prove(self, logged: Logged, now: int) -> Proven:
        """The event's inclusion proof against the newest checkpoint."""
        async with self.transaction() as session:
            checkpoint = await self.log.checkpoint(session, now)
            proof = await self.log.inclusion(session, logged.index, checkpoint.size)
        return Proven(logged, proof, checkpoint)

    async def of_holder(self, subject_id: str, key: PublicKey) -> list[Record]:
        """The live records of this holder: their pseudonym and their key (``records.belongs_to``)."""
        async with self.transaction() as session:
            return await _of_holder(session, subject_id, key)

    async def export(self, subject_id: str, key: PublicKey) -> list[dict[str, Any]]:
        """Access and portability: every live record of this holder as ISO/IEC TS 27560 JSON."""
        out = []
        for record in await self.of_holder(subject_id, key):
            _, logged = await self.history(record.record_id)
            out.append(iso27560.to_27560(record, [entry.event for entry in logged]))
        return out

    async def erase(self, subject_id: str, key: PublicKey, now: int) -> int:
        """Crypto-shred every record of this holder: contents and salts go, leaves stay. Records
        another key filed under the same pseudonym are not theirs, and stay (``records.belongs_to``).

        No "erased" leaf is appended: its commitment would be one more leaf tied to the
        holder's moment of erasure, and nothing would be left to check it against."""
        async with self.transaction() as session:
            return await store.erase(session, [r.record_id for r in await _of_holder(session, subject_id, key)], now)

    async def purge(self, now: int) -> int:
        """Retention: erase every record past its retention period (run on a schedule)."""
        total = 0
        while True:
            async with self.transaction() as session:
                ids = await store.past_retention(session, now)
                if ids:
                    total += await store.erase(session, ids, now)
            if not ids:
                return total


async def _of_holder(session: AsyncSession, subject_id: str, key: PublicKey) -> list[Record]:
    return [r for r in await store.of_subject(session, subject_id) if records.belongs_to(r, subject_id, key)]
