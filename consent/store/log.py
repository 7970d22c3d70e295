"""Every SQL statement of the consent log (the Merkle tree of salted commitments).

- ``consent_log_leaves``: the leaf inputs (32-byte commitments) by index, never updated. The
  last leaf of every append also carries the tree's *frontier* after it (the roots of its
  perfect subtrees, largest first, concatenated): the tree state is the last row, written by
  the same statement as the leaf, so it can never disagree with the leaves, even across a crash.
  An append is one ``INSERT … SELECT … FROM (VALUES …) WHERE`` the row before holds the
  frontier the writer expects ``ON CONFLICT DO NOTHING`` (see ``_append_sql``), so it costs
  what a bare multi-row insert does. Nothing inserted
  means another writer got there first (or the writer's memory is stale): it reads the last
  committed row again and retries (on PostgreSQL the unique index makes it wait for the
  winner's commit first). So no index is taken twice, none is skipped, and every appended
  frontier extends the one before.
- ``consent_log_lock``: one row, made by the migration, locked (``FOR UPDATE``; SQLite's
  transactions begin IMMEDIATE and hold the write lock already) by whoever signs a checkpoint:
  checkpoints are signed one at a time, in size order. Appends never take it.
- ``consent_log_nodes``: the hashes of the perfect subtrees at levels 8, 16, 24, ... (one row
  per 256 leaves, so appends stay near a bare insert). Any other subtree is folded from at most
  256 stored hashes of the level below: a proof reads O(log n) small ranges.
- ``consent_log_checkpoints``: every signed checkpoint by size (the primary key: never two at
  one size), with its root and its note.
- ``consent_log_keys``: the log's Ed25519 signing key by key name (the origin), sealed under
  the node key like the issuer's and the verifier's keys; its public half in clear.

Functions take an ``AsyncSession`` and never commit; what an append and the log key's first use
run takes any ``core.db.Db`` (a disclosure is recorded in a ``core.db.unit``, issue 15).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Integer,
    LargeBinary,
    Row,
    String,
    Table,
    Text,
    and_,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, Db, changed_rows, dialect_name

TILE = 8  # node levels kept: multiples of 8
HASH = 32


class LogLock(Base):
    __tablename__ = "consent_log_lock"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)


class LogLeaf(Base):
    __tablename__ = "consent_log_leaves"

    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    commitment: Mapped[bytes] = mapped_column(LargeBinary)
    appended_at: Mapped[int] = mapped_column(BigInteger)
    frontier: Mapped[bytes | None] = mapped_column(LargeBinary)


class LogNode(Base):
    __tablename__ = "consent_log_nodes"

    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary)


class LogCheckpoint(Base):
    __tablename__ = "consent_log_checkpoints"

    size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root: Mapped[bytes] = mapped_column(LargeBinary)
    note: Mapped[str] = mapped_column(Text)
    signed_at: Mapped[int] = mapped_column(BigInteger)


class LogKey(Base):
    __tablename__ = "consent_log_keys"

    name: Mapped[str] = mapped_column(String(300), primary_key=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    sealed_key: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[int] = mapped_column(BigInteger)


# Core tables: an ORM bulk insert costs more per row than the insert itself.
_LOCK, _LEAVES, _NODES, _KEYS = (cast(Table, t.__table__) for t in (LogLock, LogLeaf, LogNode, LogKey))


def _split(frontier: bytes) -> list[bytes]:
    return [frontier[i:i + HASH] for i in range(0, len(frontier), HASH)]


_HEAD = select(_LEAVES.c.idx, _LEAVES.c.frontier).order_by(_LEAVES.c.idx.desc()).limit(1)
_KEY = select(_KEYS).where(_KEYS.c.name == bindparam("name"))


_LOCKED = select(_LOCK.c.id).where(_LOCK.c.id == 1).with_for_update()  # built once (core.prepared)


async def lock(db: Db) -> None:
    """Hold the log's lock until the transaction ends."""
    await db.execute(_LOCKED)


async def head(db: Db) -> tuple[int, list[bytes]] | None:
    """The committed tree's size and frontier (the last leaf's); None if that row has none."""
    row = (await db.execute(_HEAD)).one_or_none()
    if row is None:
        return 0, []
    if row.frontier is None:
        return None
    return row.idx + 1, _split(bytes(row.frontier))


async def try_append(db: Db, old: tuple[int, Sequence[bytes]], new_frontier: Sequence[bytes],
                     commitments: Sequence[bytes], nodes: Sequence[tuple[int, int, bytes]], now: int) -> bool:
    """Insert the leaves after the tree ``old`` if it still ends there (all or none), in one
    statement as a bare multi-row insert is (``_append_sql``)."""
    first, count = old[0], len(commitments)
    dialect = dialect_name(db)
    params: tuple[int | bytes, ...]
    if count == 1:
        sql, params = _one_leaf_sql(dialect), (first, commitments[0], now, b"".join(new_frontier), first - 1,
                                               first - 1, b"".join(old[1]))
    else:
        sql, params = _append_sql(dialect, count), (
            now, first + count - 1, b"".join(new_frontier),
            *(x for j, c in enumerate(commitments) for x in (first + j, c)),
            first - 1, first - 1, b"".join(old[1]), first)
    inserted = await changed_rows(db, sql, params)
    if inserted != count:
        if inserted:
            # PostgreSQL only (SQLite's write lock rules it out): a rival that saw the same
            # committed head inserted after it first, and ON CONFLICT skipped only the indices
            # both took. Take back what went in here (our commitments, unique by their salts)
            # and let the caller read the head again.
            await db.execute(delete(_LEAVES).where(_LEAVES.c.idx >= first, _LEAVES.c.idx < first + count,
                                                        _LEAVES.c.commitment.in_(commitments)))
        return False
    if nodes:
        await db.execute(insert(_NODES), [{"level": level, "idx": idx, "hash": h} for level, idx, h in nodes])
    return True


@lru_cache(maxsize=4)
def _one_leaf_sql(dialect: str) -> str:
    """The one-leaf append: a single row needs no VALUES list, and ON CONFLICT alone makes it
    all or nothing (the planner's cost of the general form showed on PostgreSQL's one-leaf
    transactions)."""
    numbers = iter(range(1, 8))

    def p(cast: str) -> str:
        return f"${next(numbers)}::{cast}" if dialect == "postgresql" else "?"
    return ("INSERT INTO consent_log_leaves (idx, commitment, appended_at, frontier) "  # noqa: S608 (placeholders)
            f"SELECT {p('bigint')}, {p('bytea')}, {p('bigint')}, {p('bytea')} "
            f"WHERE ({p('bigint')} = -1 AND NOT EXISTS (SELECT 1 FROM consent_log_leaves)) "
            f"OR EXISTS (SELECT 1 FROM consent_log_leaves AS b WHERE b.idx = {p('bigint')} "
            f"AND b.frontier = {p('bytea')}) ON CONFLICT (idx) DO NOTHING")


@lru_cache(maxsize=64)
def _append_sql(dialect: str, count: int) -> str:
    """One statement appending ``count`` leaves, as a bare multi-row insert is one statement.

    The leaves go in only if the leaf before the first holds the frontier the writer extends
    (or the log is empty) and no leaf lies at or after the first index; the last carries the
    new frontier. On SQLite the transaction began IMMEDIATE (core.db) and holds the write lock,
    so that is all or nothing. On PostgreSQL two writers may both see the same committed head:
    the unique index makes the second wait for the first, ``ON CONFLICT DO NOTHING`` skips the
    indices both took, and ``try_append`` takes back a partial insert. Hand-written SQL because
    SQLAlchemy compiles a VALUES list per call, which costs more than the insert measured
    against; ``count`` <= MAX_BATCH keeps the parameters (2 per leaf) under either database's
    limit (32,766 and 32,767)."""
    numbers = iter(range(1, 2 * count + 9))
    if dialect == "postgresql":
        def p(cast: str) -> str:
            return f"${next(numbers)}::{cast}"
    else:
        def p(cast: str) -> str:
            return "?"
    head = (f"SELECT v.column1, v.column2, {p('bigint')}, CASE WHEN v.column1 = {p('bigint')} "
            f"THEN {p('bytea')} END ")
    rows = ", ".join(f"({p('bigint')}, {p('bytea')})" for _ in range(count))
    return ("INSERT INTO consent_log_leaves (idx, commitment, appended_at, frontier) "  # noqa: S608 (placeholders only)
            f"{head}FROM (VALUES {rows}) AS v "
            f"WHERE (({p('bigint')} = -1 AND NOT EXISTS (SELECT 1 FROM consent_log_leaves)) "
            f"OR EXISTS (SELECT 1 FROM consent_log_leaves AS b WHERE b.idx = {p('bigint')} "
            f"AND b.frontier = {p('bytea')})) "
            f"AND NOT EXISTS (SELECT 1 FROM consent_log_leaves AS a WHERE a.idx >= {p('bigint')}) "
            "ON CONFLICT (idx) DO NOTHING")


async def frontiers(session: AsyncSession, start: int, end: int) -> dict[int, bytes]:
    """The frontiers stored on leaves start..end-1 (the audit checks each)."""
    rows = await session.execute(select(_LEAVES.c.idx, _LEAVES.c.frontier).where(
        _LEAVES.c.idx >= start, _LEAVES.c.idx < end, _LEAVES.c.frontier.is_not(None)))
    return {row.idx: bytes(row.frontier) for row in rows}


async def commitments(session: AsyncSession, start: int, end: int) -> list[bytes]:
    rows = await session.execute(select(LogLeaf.commitment).where(LogLeaf.idx >= start, LogLeaf.idx < end)
                                 .order_by(LogLeaf.idx))
    return [bytes(c) for c in rows.scalars()]


async def leaves_outside(session: AsyncSession, size: int) -> int:
    """How many leaf rows lie outside 0..size-1 (the audit: none may)."""
    return (await session.execute(select(func.count()).select_from(LogLeaf)
                                  .where(or_(LogLeaf.idx < 0, LogLeaf.idx >= size)))).scalar_one()


async def hashes_in(session: AsyncSession, level: int, ranges: Sequence[tuple[int, int]]) -> dict[int, bytes]:
    """Stored hashes at ``level`` (0: the commitments) in every half-open range, by index, in one
    query: a proof needs a few small ranges per stored level, and a round trip costs more than
    the rows."""
    if level == 0:
        table, idx, value, where = _LEAVES, _LEAVES.c.idx, _LEAVES.c.commitment, []
    else:
        table, idx, value, where = _NODES, _NODES.c.idx, _NODES.c.hash, [_NODES.c.level == level]
    rows = await session.execute(select(idx, value).select_from(table).where(
        *where, or_(*(and_(idx >= lo, idx < hi) for lo, hi in ranges))))
    return {i: bytes(h) for i, h in rows}


async def node_hashes(session: AsyncSession, level: int, start: int, end: int) -> list[bytes]:
    rows = await session.execute(select(LogNode.hash).where(LogNode.level == level, LogNode.idx >= start,
                                                            LogNode.idx < end).order_by(LogNode.idx))
    return [bytes(h) for h in rows.scalars()]


async def latest_checkpoint(session: AsyncSession) -> LogCheckpoint | None:
    return (await session.execute(select(LogCheckpoint).order_by(LogCheckpoint.size.desc()).limit(1))
            ).scalar_one_or_none()


async def add_checkpoint(session: AsyncSession, size: int, root: bytes, note: str, now: int) -> None:
    await session.execute(insert(LogCheckpoint).values(size=size, root=root, note=note, signed_at=now))


async def checkpoints(session: AsyncSession, after: int = -1, limit: int = 1000) -> list[LogCheckpoint]:
    rows = await session.execute(select(LogCheckpoint).where(LogCheckpoint.size > after)
                                 .order_by(LogCheckpoint.size).limit(limit))
    return list(rows.scalars())


async def key(db: Db, name: str) -> Row[Any] | None:
    """The log key's row (``name``, ``public_key``, ``sealed_key``, ``created_at``)."""
    row: Row[Any] | None = (await db.execute(_KEY, {"name": name})).one_or_none()
    return row


async def keys(session: AsyncSession) -> list[LogKey]:
    return list((await session.execute(select(LogKey))).scalars())


async def add_key(db: Db, name: str, public_key: bytes, sealed_key: bytes, now: int) -> None:
    await db.execute(insert(_KEYS).values(name=name, public_key=public_key, sealed_key=sealed_key, created_at=now))
