"""A wallet unlocked in a browser: what the pages know between two requests, and nothing more.

The passphrase is turned into the vault key once (Argon2id, wallet.holder.unlock); the key
must then live somewhere until the wallet locks. It is kept in the ``wallet_sessions`` row,
**sealed under a key derived from the browser's cookie** (XChaCha20-Poly1305), with the wallet
id beside it. The row's name is a keyed digest of the cookie. So:

- the database alone (a backup, a thief) opens no wallet and does not say which wallet is
  open: it needs the cookie, which only the browser has (``__Host-``, HttpOnly, Secure,
  SameSite=Strict);
- the cookie alone is useless after the row is gone: locking deletes the row, and so does
  the idle timer (``Settings.wallet_idle_lock_s``, sliding) and the session's hard limit
  (``wallet_session_max_s``). A lock on one device is a lock, not a forgotten cookie;
- while a wallet is open the server holds its key in memory during each request: the
  operator of a running server can read an open wallet. The README's threat model says so.

A small piece of page state rides along sealed with the key: the export made in this session
(its digest and time), which the "destroy the old copy" step needs and nobody else does.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, replace

import anyio
from nacl.bindings import crypto_aead_xchacha20poly1305_ietf_decrypt as _open
from nacl.bindings import crypto_aead_xchacha20poly1305_ietf_encrypt as _seal
from nacl.exceptions import CryptoError
from nacl.utils import random as random_bytes

from core.encoding import b64url_decode, b64url_encode
from core.errors import AmanaError
from core.sealing import NodeKey, new_token
from wallet import holder, store

log = logging.getLogger(__name__)
COOKIE = "__Host-amana_wallet"
_AAD = b"amana wallet session v1"


@dataclass(frozen=True, slots=True)
class Unlocked:
    wallet_id: str
    key: bytes
    exported: dict[str, object] | None = None  # {"sha256", "at"} of an export made in this session
    epoch: int = 0  # the vault's epoch when this session began (holder._rewrap raises it)


def _cookie_key(token: str) -> bytes:
    return hashlib.blake2b(token.encode(), digest_size=32, person=b"amana-wsession").digest()


def _seal_state(token: str, state: Unlocked) -> bytes:
    body = json.dumps({"w": state.wallet_id, "k": b64url_encode(state.key), "e": state.exported,
                       "n": state.epoch}).encode()
    nonce = random_bytes(24)
    return nonce + _seal(body, _AAD, nonce, _cookie_key(token))


def _open_state(token: str, sealed: bytes) -> Unlocked | None:
    try:
        body = json.loads(_open(sealed[24:], _AAD, sealed[:24], _cookie_key(token)))
        return Unlocked(str(body["w"]), b64url_decode(body["k"]), body.get("e"), int(body.get("n", 0)))
    except (CryptoError, ValueError, KeyError, TypeError, AmanaError):
        return None


def _digest(node: NodeKey, token: str) -> str:
    return node.digest("wallet-session", token)


async def start(ctx: holder.WalletContext, opened: holder.Opened) -> str:
    """A new session for an unlocked wallet; the cookie's value (to set, never to log)."""
    token, now = new_token(), ctx.now()
    state = Unlocked(opened.wallet_id, opened.key, None, opened.contents.epoch)
    async with ctx.transaction() as session:
        await store.session_start(session, _digest(ctx.node, token), _seal_state(token, state), now)
    return token


async def lock_idle(ctx: holder.WalletContext) -> None:
    """Delete every session idle past the idle lock (or open past the longest session): the
    rows that hold a wallet's key, sealed under its cookie."""
    now, settings = ctx.now(), ctx.settings
    async with ctx.transaction() as session:
        await store.sessions_idle(session, now - settings.wallet_idle_lock_s, now - settings.wallet_session_max_s)


async def lock_idle_forever(ctx: holder.WalletContext) -> None:
    """``lock_idle`` every few seconds, for as long as the service runs: a wallet left open on a
    quiet node is locked on time, not at the next request (which did it alone before: helper-63
    found the key's row 45 s past a 30 s idle lock). A failed sweep is tried again at the next."""
    every = max(1, min(30, ctx.settings.wallet_idle_lock_s // 10))  # late by a tenth of the lock at most
    while True:
        await anyio.sleep(every)
        try:
            await lock_idle(ctx)
        except Exception:  # a database that is down now may be up at the next sweep
            log.warning("the idle lock's sweep failed; trying again in %d s", every)


async def current(ctx: holder.WalletContext, token: str | None) -> Unlocked | None:
    """The wallet this cookie has open, the idle timer restarted; None when locked (or never was)."""
    if not token:
        return None
    now, digest = ctx.now(), _digest(ctx.node, token)
    async with ctx.transaction() as session:
        await store.sessions_idle(session, now - ctx.settings.wallet_idle_lock_s,
                                  now - ctx.settings.wallet_session_max_s)
        row = await store.session_get(session, digest)
        state = None if row is None else _open_state(token, row.sealed)
        if state is not None:
            await store.session_touch(session, digest, now)
    return state


async def note_export(ctx: holder.WalletContext, token: str, state: Unlocked, sha256: str) -> None:
    async with ctx.transaction() as session:
        await store.session_touch(session, _digest(ctx.node, token), ctx.now(),
                                  _seal_state(token, replace(state, exported={"sha256": sha256, "at": ctx.now()})))


async def end(ctx: holder.WalletContext, token: str | None) -> None:
    """Lock: the row goes, so the cookie opens nothing any more (on any copy of it)."""
    if token:
        async with ctx.transaction() as session:
            await store.session_end(session, _digest(ctx.node, token))
