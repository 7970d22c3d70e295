"""Every SQL statement of the wallet. Functions take an ``AsyncSession`` and never commit.

The vault row is written with optimistic concurrency: ``UPDATE … WHERE id = :id AND version
= :v`` and the counter raised, so of two writers that read the same version one wins and the
other gets :class:`VaultConflict` (and retries from a fresh read) — neither loses the other's
change. Unlock attempts reuse the sign-in rate limit of ``core.sessions`` (counted before the
check, backoff after ``MAX_FAILURES``) under a bucket per wallet.
"""

from __future__ import annotations

from typing import Literal, cast

from sqlalchemy import Table, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core import sessions
from core.errors import VaultConflict
from core.sealing import NodeKey
from wallet.tables import WalletSession, WalletVault
from wallet.vault import KdfParams, Sealed, Wrap

VAULTS = cast(Table, WalletVault.__table__)


def _columns(sealed: Sealed) -> dict[str, object]:
    return {"format": sealed.format, "content": sealed.content,
            "passphrase_opslimit": sealed.passphrase.kdf.opslimit,
            "passphrase_memlimit": sealed.passphrase.kdf.memlimit,
            "passphrase_salt": sealed.passphrase.salt, "passphrase_wrap": sealed.passphrase.sealed_key,
            "recovery_opslimit": sealed.recovery.kdf.opslimit, "recovery_memlimit": sealed.recovery.kdf.memlimit,
            "recovery_salt": sealed.recovery.salt, "recovery_wrap": sealed.recovery.sealed_key}


def _sealed(row: WalletVault) -> Sealed:
    return Sealed(row.id, row.format,
                  Wrap(KdfParams(row.passphrase_opslimit, row.passphrase_memlimit), row.passphrase_salt,
                       row.passphrase_wrap),
                  Wrap(KdfParams(row.recovery_opslimit, row.recovery_memlimit), row.recovery_salt, row.recovery_wrap),
                  row.content)


async def insert(session: AsyncSession, sealed: Sealed, now: int) -> int:
    """A new wallet at version 1; an id already here is refused by the primary key."""
    session.add(WalletVault(id=sealed.wallet_id, version=1, created_at=now, **_columns(sealed)))
    await session.flush()
    return 1


async def get(session: AsyncSession, wallet_id: str, *, for_update: bool = False) -> tuple[Sealed, int] | None:
    """The sealed vault and the version it was read at; ``for_update``: locked until the
    transaction ends (PostgreSQL ``FOR UPDATE``; SQLite's transactions take its write lock anyway)."""
    row = await session.get(WalletVault, wallet_id, populate_existing=True, with_for_update=for_update)
    return None if row is None else (_sealed(row), row.version)


async def ids(session: AsyncSession) -> list[str]:
    return list((await session.execute(select(WalletVault.id).order_by(WalletVault.created_at,
                                                                       WalletVault.id))).scalars())


async def save(session: AsyncSession, sealed: Sealed, version: int) -> int:
    """Write ``sealed`` if the row is still at ``version``; the new version, or :class:`VaultConflict`."""
    # On the table, not the mapped class: a plain UPDATE, without the ORM's bulk-update bookkeeping
    # (every receive and presentation writes the vault once; bench.wallet times it).
    result = await session.execute(update(VAULTS).where(VAULTS.c.id == sealed.wallet_id, VAULTS.c.version == version)
                                   .values(version=version + 1, **_columns(sealed)))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise VaultConflict()
    return version + 1


async def remove(session: AsyncSession, wallet_id: str, version: int) -> None:
    """Delete the row (SQLite's secure_delete zeroes its pages) if nobody wrote it since ``version``."""
    result = await session.execute(delete(WalletVault).where(WalletVault.id == wallet_id,
                                                             WalletVault.version == version)
                                   .execution_options(synchronize_session=False))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise VaultConflict()


# A wallet's wrong tries count for a day, not the sign-in's 15 minutes: five free tries, then
# 1 s, 2 s, 4 s … up to an hour between tries (core.sessions.MAX_WAIT_S): 39 guesses in a day's
# count, 53 at most in 24 hours that straddle two counts (helper-65's search); 21 when the wait
# could grow to a day, which let anyone who knows the wallet code keep its holder out all day.
# Passphrases and recovery codes count apart: wrong passphrases never hold back the recovery
# sheet (130 random bits, no count needed).
UNLOCK_WINDOW_S = 86400
Door = Literal["passphrase", "recovery"]
_BUCKET_LABELS: dict[Door, str] = {"passphrase": "wallet-unlock", "recovery": "wallet-recover"}


def _bucket(node: NodeKey, wallet_id: str, door: Door) -> str:
    return sessions.bucket(node, _BUCKET_LABELS[door], wallet_id)


async def unlock_attempt(session: AsyncSession, node: NodeKey, wallet_id: str, now: int,
                         door: Door = "passphrase") -> int:
    """Count an unlock attempt of this wallet through ``door`` *before* it is checked: 0 when it
    may go ahead, else the seconds to wait. Commit before running the KDF, so a failed try stays counted."""
    return await sessions.attempt(session, _bucket(node, wallet_id, door), now, UNLOCK_WINDOW_S)


async def unlocked(session: AsyncSession, node: NodeKey, wallet_id: str) -> None:
    """A right passphrase or code: this wallet's counts start afresh, both doors'."""
    for door in _BUCKET_LABELS:
        await sessions.succeeded(session, _bucket(node, wallet_id, door))


# --- unlocked sessions (wallet/unlocked.py) ----------------------------------------------

async def session_start(session: AsyncSession, digest: str, sealed: bytes, now: int) -> None:
    session.add(WalletSession(digest=digest, sealed=sealed, started_at=now, last_seen=now))
    await session.flush()


async def session_get(session: AsyncSession, digest: str) -> WalletSession | None:
    return await session.get(WalletSession, digest, populate_existing=True)


async def session_touch(session: AsyncSession, digest: str, now: int, sealed: bytes | None = None) -> None:
    values: dict[str, object] = {"last_seen": now} if sealed is None else {"last_seen": now, "sealed": sealed}
    await session.execute(update(WalletSession).where(WalletSession.digest == digest).values(**values)
                          .execution_options(synchronize_session=False))


async def session_end(session: AsyncSession, digest: str) -> None:
    await session.execute(delete(WalletSession).where(WalletSession.digest == digest)
                          .execution_options(synchronize_session=False))


async def sessions_idle(session: AsyncSession, idle_before: int, started_before: int) -> None:
    """Forget every session idle since ``idle_before`` or older than ``started_before``: locked."""
    await session.execute(delete(WalletSession).where((WalletSession.last_seen < idle_before)
                                                      | (WalletSession.started_at < started_before))
                          .execution_options(synchronize_session=False))
