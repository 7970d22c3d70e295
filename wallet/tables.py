"""The wallet's tables: vaults and unlocked sessions. Only ``wallet/store.py`` queries them.

A row per wallet, and nothing in it says whose wallet it is or what it holds: an opaque
random id, per door (passphrase, recovery code) the Argon2id parameters, salt and wrapped
vault key, the encrypted content (``wallet/vault.py``), a version counter for optimistic
concurrency and the creation time. The wallet's name lives inside the content. Unlock
attempts are counted in ``console_login_attempts`` (core/sessions.py) under a bucket of
their own, not here.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base


class WalletVault(Base):
    __tablename__ = "wallet_vaults"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    format: Mapped[int] = mapped_column(Integer)
    passphrase_opslimit: Mapped[int] = mapped_column(Integer)
    passphrase_memlimit: Mapped[int] = mapped_column(BigInteger)
    passphrase_salt: Mapped[bytes] = mapped_column(LargeBinary)
    passphrase_wrap: Mapped[bytes] = mapped_column(LargeBinary)
    recovery_opslimit: Mapped[int] = mapped_column(Integer)
    recovery_memlimit: Mapped[int] = mapped_column(BigInteger)
    recovery_salt: Mapped[bytes] = mapped_column(LargeBinary)
    recovery_wrap: Mapped[bytes] = mapped_column(LargeBinary)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[int] = mapped_column(BigInteger)


class WalletSession(Base):
    """An unlocked wallet in a browser (wallet/unlocked.py). The row cannot open the wallet by
    itself: the vault key in ``sealed`` is encrypted under a key only the browser's cookie
    gives, and ``digest`` is a keyed digest of that cookie. Which wallet it is sits inside
    ``sealed`` too, so the table does not even say which wallets are in use."""

    __tablename__ = "wallet_sessions"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    started_at: Mapped[int] = mapped_column(BigInteger)
    last_seen: Mapped[int] = mapped_column(BigInteger, index=True)
