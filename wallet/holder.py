"""The wallet's use cases over the store: create, unlock (rate-limited), change, move, destroy.

Shared by ``amana wallet`` and, later, the wallet's pages. Each step is its own short
transaction; the Argon2id run happens *between* transactions, never holding a lock: an unlock
attempt is counted and committed first (so a wrong passphrase stays counted whatever happens
next), then the key is derived, then a right answer clears the count.

Changes go through :func:`update`: the change is applied to the freshly read content and
written only if nobody wrote since (``store.save``); on a conflict it is applied again to
the newer content, so two writers — two presentations at once — never lose each other's
change, and a copy chosen for one verifier is never chosen for another.
"""

from __future__ import annotations

import functools
import os
import re
import secrets
import time
import unicodedata
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import anyio
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core import db, digits
from core.credtypes import TypeRegistry, load_registry
from core.errors import InvalidInput, NotFound, VaultBusy, VaultConflict, VaultTampered, WalletAlreadyHere, WhichWallet
from core.fetch import Fetcher
from core.sealing import NodeKey, node_key
from core.settings import Settings
from core.trust.local import HeldTrustList
from wallet import export, store, vault
from wallet.content import Contents

T = TypeVar("T")


@dataclass
class WalletContext:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    node: NodeKey
    types: TypeRegistry
    kdf: vault.KdfParams = vault.DEFAULT_KDF
    clock: Callable[[], int] = field(default=lambda: int(time.time()))  # tests set it instead of sleeping
    _kdf_slots: anyio.CapacityLimiter | None = None
    # One writer per wallet at a time in this process (``update``): thirty offers redeemed at once
    # lost two cards when five optimistic retries each met another write. Dropped when unused.
    _writers: weakref.WeakValueDictionary[str, anyio.Lock] = field(default_factory=weakref.WeakValueDictionary)
    trust_held: HeldTrustList | None = None  # wallet.flows.trust_list's verified list, kept while its files stay
    status_lists: Fetcher | None = None  # the card list's statuses (wallet.status.of_cards), each list for its lifetime

    async def off_loop(self, work: Callable[..., T], *args: Any) -> T:
        """Argon2id work (64 MiB, ~0.1 s) on a worker thread, at most one per core at a time:
        the event loop — the issuer and verifier in the same process — never waits for it, and
        a burst of unlocks cannot take more memory than the cores can use."""
        if self._kdf_slots is None:
            self._kdf_slots = anyio.CapacityLimiter(os.cpu_count() or 2)
        return await anyio.to_thread.run_sync(lambda: work(*args), limiter=self._kdf_slots)

    @classmethod
    async def open(cls, settings: Settings, *, kdf: vault.KdfParams = vault.DEFAULT_KDF) -> WalletContext:
        engine = db.make_engine(db.database_url(settings), settings.database_pool)
        try:
            await db.upgrade(engine)
        except BaseException:  # no pool left open behind a failed start
            await engine.dispose()
            raise
        return cls(settings, engine, db.sessions(engine), node_key(settings), load_registry(settings.specs_dir), kdf)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions.begin() as session:
            yield session

    def now(self) -> int:
        return self.clock()


@dataclass
class Opened:
    """An unlocked wallet: its key stays in this object (in memory), never in the store."""

    wallet_id: str
    key: bytes
    sealed: vault.Sealed
    version: int
    contents: Contents


_LEGACY_ID = re.compile(r"w-[0-9a-f]{32}")
_LOOKALIKES = str.maketrans({"0": "O", "1": "I", "8": "B"})  # not in the alphabet: what was meant


def new_wallet_id() -> str:
    """``W-XXXX-XXXX-XXXX`` (60 random bits, base32 letters and digits 2-7): short enough to read
    off the recovery sheet and type at a shared computer. It is a name, not a secret: the
    passphrase (rate-limited per wallet) is what opens it."""
    chars = "".join(secrets.choice(vault.ALPHABET) for _ in range(12))
    return "W-" + "-".join(chars[i:i + 4] for i in range(0, 12, 4))


def wallet_code(text: str) -> str:
    """A typed wallet code as the id it names: case, spaces, dashes, look-alike digits and other
    scripts' digits forgiven; anything else refused before any lookup."""
    raw = "".join(str(unicodedata.decimal(c)) if unicodedata.decimal(c, None) is not None else c
                  for c in text.strip() if c not in digits.INVISIBLE)
    if _LEGACY_ID.fullmatch(raw):  # wallets made before wallet codes
        return raw
    chars = re.sub(r"[\s\-]", "", raw.upper()).translate(_LOOKALIKES)
    if chars.startswith("W"):
        chars = chars[1:]
    if len(chars) != 12 or any(c not in vault.ALPHABET for c in chars):
        raise InvalidInput("a wallet code looks like W-ABCD-EFGH-JK23")
    return "W-" + "-".join(chars[i:i + 4] for i in range(0, 12, 4))


async def create(ctx: WalletContext, passphrase: str, name: str | None) -> tuple[str, str]:
    """A new wallet; its id and the recovery code (to show once)."""
    opened, code = await create_open(ctx, passphrase, name)
    return opened.wallet_id, code


async def create_open(ctx: WalletContext, passphrase: str, name: str | None) -> tuple[Opened, str]:
    """A new wallet, already open (no second key derivation), and its recovery code."""
    wallet_id, contents = new_wallet_id(), Contents(name=name)
    made = await ctx.off_loop(lambda: vault.create(wallet_id, passphrase, contents.to_bytes(), kdf=ctx.kdf))
    async with ctx.transaction() as session:
        version = await store.insert(session, made.sealed, ctx.now())
    return Opened(wallet_id, made.key, made.sealed, version, contents), made.recovery_code


async def resolve(ctx: WalletContext, wallet_id: str | None) -> str:
    """The given wallet, or the only one here."""
    async with ctx.transaction() as session:
        here = await store.ids(session)
    if wallet_id is not None:
        if wallet_id not in here:
            raise NotFound("no wallet with this id here")
        return wallet_id
    if not here:
        raise InvalidInput("no wallet here yet: amana wallet create")
    if len(here) > 1:
        raise WhichWallet(f"{len(here)} wallets are kept here: add --wallet with your wallet's code, as "
                          "`amana wallet create` printed it (wallet_id) or the recovery sheet shows it")
    return here[0]


async def _read(ctx: WalletContext, wallet_id: str) -> tuple[vault.Sealed, int]:
    async with ctx.transaction() as session:
        found = await store.get(session, wallet_id)
    if found is None:
        raise NotFound("no wallet with this id here")
    return found


async def _unlock(ctx: WalletContext, wallet_id: str, door: Callable[[vault.Sealed], bytes],
                  counted_as: store.Door = "passphrase") -> Opened:
    async with ctx.transaction() as session:
        wait = await store.unlock_attempt(session, ctx.node, wallet_id, ctx.now(), counted_as)
    if wait:
        raise VaultBusy(f"too many wrong tries for this wallet: try again in {wait} s")
    async with ctx.transaction() as session:
        found = await store.get(session, wallet_id)
    if found is None:  # as slow and as wrong as a real wallet: the page does not tell which codes exist
        await ctx.off_loop(door, vault.decoy(ctx.kdf))
        raise AssertionError("a decoy vault opened")  # pragma: no cover - its wraps are random
    sealed, version = found
    key = await ctx.off_loop(door, sealed)  # raises WrongPassphrase / WrongRecoveryCode: the attempt stays counted
    async with ctx.transaction() as session:
        await store.unlocked(session, ctx.node, wallet_id)
    return Opened(wallet_id, key, sealed, version, Contents.from_bytes(vault.read(sealed, key)))


async def unlock(ctx: WalletContext, wallet_id: str, passphrase: str) -> Opened:
    return await _unlock(ctx, wallet_id, lambda sealed: vault.unlock(sealed, passphrase))


async def reopen(ctx: WalletContext, wallet_id: str, key: bytes) -> Opened:
    """A wallet unlocked earlier in this session (its key kept by wallet.unlocked), read afresh."""
    sealed, version = await _read(ctx, wallet_id)
    return Opened(wallet_id, key, sealed, version, Contents.from_bytes(vault.read(sealed, key)))


async def recover(ctx: WalletContext, wallet_id: str, code: str, new_passphrase: str) -> Opened:
    """Unlock with the recovery code and set a new passphrase (only the key is re-wrapped)."""
    vault.parse_recovery_code(code)  # a typo is refused before it costs an attempt or a KDF run
    opened = await _unlock(ctx, wallet_id, lambda sealed: vault.unlock_with_recovery(sealed, code), "recovery")
    return await _rewrap(ctx, opened, new_passphrase)


async def change_passphrase(ctx: WalletContext, opened: Opened, new_passphrase: str) -> Opened:
    return await _rewrap(ctx, opened, new_passphrase)


async def _rewrap(ctx: WalletContext, opened: Opened, new_passphrase: str) -> Opened:
    """The key under a new passphrase and the content's epoch raised, in one write (a browser
    still open with the old passphrase, someone who knew it, is locked out at its next page).
    One write through ``update``: its turn and its row-locked retry, so a change of passphrase
    racing other writes neither fails nor loses them (it was two writes, the second optimistic)."""
    wrap = await ctx.off_loop(functools.partial(vault.passphrase_wrap, opened.wallet_id, opened.key, new_passphrase,
                                                kdf=ctx.kdf))
    opened, _ = await update(ctx, opened, _next_epoch, passphrase=wrap)
    return opened


def _next_epoch(contents: Contents) -> None:
    contents.epoch += 1


async def _refresh(ctx: WalletContext, opened: Opened) -> Opened:
    return await reopen(ctx, opened.wallet_id, opened.key)


def _turn(ctx: WalletContext, wallet_id: str) -> anyio.Lock:
    """The lock writers of one wallet in this process take turns at (``WalletContext._writers``)."""
    writers = ctx._writers.get(wallet_id)
    if writers is None:
        writers = ctx._writers.setdefault(wallet_id, anyio.Lock())
    return writers


async def update(ctx: WalletContext, opened: Opened, change: Callable[[Contents], T], *,
                 passphrase: vault.Wrap | None = None) -> tuple[Opened, T]:
    """Apply ``change`` to the content and write it (with a new ``passphrase`` door, if given).

    First as read (one statement, written only if nobody wrote since); if somebody did (another
    worker process, or a passphrase change), the vault is read again under a row lock and
    changed and written in that same transaction, where nobody can write in between: a change
    is never lost to a conflict, and a card already taken from its issuer is never dropped.
    Writers of one wallet in this process take turns (``WalletContext._writers``), so they do
    not all meet at the lock (thirty offers at once lost two cards to five optimistic retries)."""
    async with _turn(ctx, opened.wallet_id):
        contents, result = _changed(opened, change)
        sealed = _sealed(opened.sealed, opened.key, contents, passphrase)
        try:
            async with ctx.transaction() as session:
                version = await store.save(session, sealed, opened.version)
            return Opened(opened.wallet_id, opened.key, sealed, version, contents), result
        except VaultConflict:
            pass
        async with ctx.transaction() as session:
            found = await store.get(session, opened.wallet_id, for_update=True)
            if found is None:
                raise NotFound("no wallet with this id here")
            latest, at = found
            contents, result = _changed(Opened(opened.wallet_id, opened.key, latest, at,
                                               Contents.from_bytes(vault.read(latest, opened.key))), change)
            sealed = _sealed(latest, opened.key, contents, passphrase)
            version = await store.save(session, sealed, at)
        return Opened(opened.wallet_id, opened.key, sealed, version, contents), result


def _sealed(sealed: vault.Sealed, key: bytes, contents: Contents, passphrase: vault.Wrap | None) -> vault.Sealed:
    written = vault.write(sealed, key, contents.to_bytes())
    return written if passphrase is None else replace(written, passphrase=passphrase)


def _changed(opened: Opened, change: Callable[[Contents], T]) -> tuple[Contents, T]:
    contents = Contents.from_bytes(opened.contents.to_bytes())  # a working copy: a second try starts clean
    return contents, change(contents)


async def import_wallet(ctx: WalletContext, data: bytes, export_passphrase: str,
                        passphrase: str) -> tuple[Opened, str]:
    """A wallet from an export file, under a new key, the holder's passphrase and a new recovery
    code, already open (as ``create_open``: no second key derivation, and no unlock whose wrong-try
    count someone else could have run up to keep the new recovery code from showing). A file that
    does not open, or a wallet already here, changes nothing."""
    claimed = export.header(data)["wallet_id"]
    try:  # the file names its wallet: only in a shape this node makes (no id chosen by a forger)
        shaped = wallet_code(claimed) == claimed
    except InvalidInput:
        shaped = False
    if not shaped:
        raise VaultTampered("the export file was changed or damaged")
    moved = await ctx.off_loop(export.load, data, export_passphrase)
    contents = Contents.from_bytes(moved.content)
    made = await ctx.off_loop(lambda: vault.create(moved.wallet_id, passphrase, contents.to_bytes(), kdf=ctx.kdf))
    try:
        async with ctx.transaction() as session:
            version = await store.insert(session, made.sealed, ctx.now())
    except IntegrityError:
        raise WalletAlreadyHere() from None
    return Opened(moved.wallet_id, made.key, made.sealed, version, contents), made.recovery_code


async def destroy(ctx: WalletContext, opened: Opened) -> None:
    """Delete the wallet as the holder last saw it: after this process's writers of it (their
    turn), and not if another process wrote it since (:class:`VaultConflict`: try again)."""
    async with _turn(ctx, opened.wallet_id), ctx.transaction() as session:
        await store.remove(session, opened.wallet_id, opened.version)
