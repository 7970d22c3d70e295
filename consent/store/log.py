"""Every SQL statement of the consent log (the Merkle tree of salted commitments).

- ``consent_log_state``: one row, made by the migration: the tree size and its frontier (the
  roots of its perfect subtrees, largest first, concatenated). Every append locks it first
  (``FOR UPDATE`` on PostgreSQL; SQLite's transactions begin IMMEDIATE, so they hold the write
  lock already), which serialises appends, and rewrites it in the leaves' transaction.
- ``consent_log_leaves``: the leaf inputs (32-byte commitments) by index. Never updated.
- ``consent_log_nodes``: the hashes of the perfect subtrees at levels 8, 16, 24, ... (one row
  per 256 leaves, so appends stay near a bare insert). Any other subtree is folded from at most
  256 stored hashes of the level below: a proof reads O(log n) small ranges.
- ``consent_log_checkpoints``: every signed checkpoint by size (the primary key: never two at
  one size), with its root and its note.
- ``consent_log_keys``: the log's Ed25519 signing key by key name (the origin), sealed under
  the node key like the issuer's and the verifier's keys; its public half in clear.

Functions take an ``AsyncSession`` and never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from sqlalchemy import BigInteger, Integer, LargeBinary, String, Table, Text, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base

TILE = 8  # node levels kept: multiples of 8
HASH = 32


class LogState(Base):
    __tablename__ = "consent_log_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    size: Mapped[int] = mapped_column(BigInteger)
    frontier: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[int] = mapped_column(BigInteger)


class LogLeaf(Base):
    __tablename__ = "consent_log_leaves"

    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    commitment: Mapped[bytes] = mapped_column(LargeBinary)
    appended_at: Mapped[int] = mapped_column(BigInteger)


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
_STATE, _LEAVES, _NODES = (cast(Table, t.__table__) for t in (LogState, LogLeaf, LogNode))


def _split(frontier: bytes) -> list[bytes]:
    return [frontier[i:i + HASH] for i in range(0, len(frontier), HASH)]


async def lock_state(session: AsyncSession) -> tuple[int, list[bytes]]:
    """The tree's size and frontier, locked until the transaction ends."""
    row = (await session.execute(
        select(_STATE.c.size, _STATE.c.frontier).where(_STATE.c.id == 1).with_for_update())).one()
    return row.size, _split(bytes(row.frontier))


async def state(session: AsyncSession) -> tuple[int, list[bytes]]:
    """The committed tree state, unlocked (readers: proofs, the audit)."""
    row = (await session.execute(select(_STATE.c.size, _STATE.c.frontier).where(_STATE.c.id == 1))).one()
    return row.size, _split(bytes(row.frontier))


async def advance(session: AsyncSession, old: tuple[int, Sequence[bytes]], new: tuple[int, Sequence[bytes]],
                  now: int) -> bool:
    """Move the state from ``old`` to ``new`` if it still is ``old``; whether it was. The
    ``UPDATE`` takes the row's lock first (PostgreSQL re-reads the row once a concurrent writer
    commits, so a stale ``old`` matches nothing), so one statement both checks and writes."""
    result = await session.execute(
        update(_STATE).where(_STATE.c.id == 1, _STATE.c.size == old[0], _STATE.c.frontier == b"".join(old[1]))
        .values(size=new[0], frontier=b"".join(new[1]), updated_at=now))
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


async def insert_leaves(session: AsyncSession, first: int, commitments: Sequence[bytes],
                        nodes: Sequence[tuple[int, int, bytes]], now: int) -> None:
    """The leaves from index ``first`` and the completed subtree hashes kept."""
    if len(commitments) == 1:
        await session.execute(insert(_LEAVES).values(idx=first, commitment=commitments[0], appended_at=now))
    else:
        await session.execute(insert(_LEAVES), [{"idx": first + i, "commitment": c, "appended_at": now}
                                                for i, c in enumerate(commitments)])
    if nodes:
        await session.execute(insert(_NODES), [{"level": level, "idx": idx, "hash": h} for level, idx, h in nodes])


async def commitments(session: AsyncSession, start: int, end: int) -> list[bytes]:
    rows = await session.execute(select(LogLeaf.commitment).where(LogLeaf.idx >= start, LogLeaf.idx < end)
                                 .order_by(LogLeaf.idx))
    return [bytes(c) for c in rows.scalars()]


async def leaves_outside(session: AsyncSession, size: int) -> int:
    """How many leaf rows lie outside 0..size-1 (the audit: none may)."""
    return (await session.execute(select(func.count()).select_from(LogLeaf)
                                  .where(or_(LogLeaf.idx < 0, LogLeaf.idx >= size)))).scalar_one()


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


async def key(session: AsyncSession, name: str) -> LogKey | None:
    return await session.get(LogKey, name)


async def keys(session: AsyncSession) -> list[LogKey]:
    return list((await session.execute(select(LogKey))).scalars())


async def add_key(session: AsyncSession, name: str, public_key: bytes, sealed_key: bytes, now: int) -> None:
    await session.execute(insert(LogKey).values(name=name, public_key=public_key, sealed_key=sealed_key,
                                                created_at=now))
