"""The offline QR's statements (verifier.offline): the nonces a desk showed, each spent once, and
the key bindings already seen, so that one showing of a holder's QR is not taken twice."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import dialect_insert
from core.sealing import NodeKey
from verifier.tables import OfflineNonce, OfflineSeen


async def add_offline_nonce(session: AsyncSession, node: NodeKey, nonce: bytes, expires_at: int, now: int) -> None:
    await session.execute(delete(OfflineNonce).where(OfflineNonce.expires_at <= now))
    session.add(OfflineNonce(digest=node.digest("offline-nonce", nonce.hex()), expires_at=expires_at))


async def offline_nonce_live(session: AsyncSession, node: NodeKey, nonce: bytes, now: int) -> bool:
    row = await session.get(OfflineNonce, node.digest("offline-nonce", nonce.hex()))
    return row is not None and row.expires_at > now


async def spend_offline_nonce(session: AsyncSession, node: NodeKey, nonce: bytes, now: int) -> bool:
    """True once for a nonce this desk showed and that has not expired; it is gone after."""
    result = await session.execute(
        delete(OfflineNonce).where(OfflineNonce.digest == node.digest("offline-nonce", nonce.hex()),
                                   OfflineNonce.expires_at > now).returning(OfflineNonce.digest))
    return result.scalar_one_or_none() is not None


async def first_showing(session: AsyncSession, node: NodeKey, binding: bytes, until: int, now: int) -> bool:
    """Record a key binding's signature as seen until ``until``: True the first time, False for a
    second showing inside that time (one insert-or-ignore, so two desks racing cannot both pass)."""
    await session.execute(delete(OfflineSeen).where(OfflineSeen.expires_at <= now))
    result = await session.execute(
        dialect_insert(session, OfflineSeen).values(digest=node.digest("offline-binding", binding.hex()),
                                                    expires_at=until)
        .on_conflict_do_nothing().returning(OfflineSeen.digest))
    return result.scalar_one_or_none() is not None
