"""The holder's vault: everything a wallet holds, encrypted under a key only the holder can unwrap.

Pure (no SQL, no web): ``wallet/store.py`` keeps a :class:`Sealed` in one row, the CLI and the
wallet service call these functions.

Format (version ``FORMAT`` = 1)::

    vault key      32 random bytes (256 bits), made once per wallet, never stored in the clear
    content        nonce(24) ‖ XChaCha20-Poly1305(vault key, JSON bytes, AD = "amana-vault/1|content|<wallet id>")
    passphrase     salt(16), Argon2id(passphrase, salt, opslimit, memlimit) → wrap key;
      wrap         nonce(24) ‖ XChaCha20-Poly1305(wrap key, vault key, AD = wrap_ad("passphrase", …))
    recovery       the same under the recovery code (its own salt), so either one unlocks
    kdf            (opslimit, memlimit) per wrap, stored with it and bound into its AD

Why each primitive:

- **Argon2id** (libsodium ``crypto_pwhash``, via pynacl): memory-hard, so a thief's GPUs and ASICs
  gain little over our CPU. ``DEFAULT_KDF`` is RFC 9106's second recommended setting, t = 3,
  m = 64 MiB: about 0.1-0.2 s on this machine (README, "The wallet's vault"), a fraction of a
  second on a cheap phone, and 64 MiB fits one. The parameters are stored per vault, so they
  can be raised later by re-wrapping (:func:`passphrase_wrap`), and bounded (``KDF_MAX_*``) so a forged
  row cannot make an unlock eat the machine.
- **XChaCha20-Poly1305** (libsodium's IETF AEAD): authenticated, so any changed byte is refused
  rather than decrypted into something else; a 192-bit nonce, so a fresh random nonce per
  write never collides; fast in software on phones without AES instructions.
- **A random vault key wrapped twice** instead of encrypting content under the passphrase: a
  passphrase change or a recovery re-wraps 32 bytes, the recovery code is a second door to the
  same vault, and each content write costs no KDF.
- **Associated data** binds the wallet id and the format version to every ciphertext (and the
  KDF parameters and salt to each wrap): a ciphertext moved to another wallet's row, or a
  parameter lowered in the database, does not open.

Threat model in short (the README says it plainly): someone with the database sees opaque
ids, sizes, salts, parameters, times and a write counter — no name, claim, key, verifier or
history — and must guess the passphrase at Argon2id's price per guess (or a 130-bit recovery
code). A changed byte is refused (:class:`VaultTampered` or :class:`WrongPassphrase`), never
read as other content. Not covered: a server that is running while the holder unlocks sees
the passphrase and the content in memory; a database writer can roll a vault back to an older
copy of its own (the version counter lives in the same database), or delete it.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass, replace

import nacl.bindings as sodium
import nacl.exceptions
import nacl.pwhash.argon2id as argon2id

from core.errors import InvalidRecoveryCode, VaultTampered, WrongPassphrase, WrongRecoveryCode

FORMAT = 1
KEY_BYTES = 32
NONCE_BYTES = sodium.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES  # 24
SALT_BYTES = argon2id.SALTBYTES  # 16
# The most a stored vault or an export file may ask of this node: an import is anonymous, so a
# forged file must not buy 20 passes over 1 GiB (the default is 3 over 64 MiB).
KDF_MIN_OPS, KDF_MAX_OPS = argon2id.OPSLIMIT_MIN, 8
KDF_MIN_MEM, KDF_MAX_MEM = argon2id.MEMLIMIT_MIN, 256 * 1024 * 1024

# Recovery code: 26 data characters (130 random bits) and 2 check characters (10 bits of
# BLAKE2b over the data), RFC 4648 base32, shown in 7 groups of 4. A typo is caught by the
# check (all but 1 in 1024 of them) before any KDF runs.
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
CODE_DATA_CHARS, CODE_CHECK_CHARS = 26, 2


@dataclass(frozen=True, slots=True)
class KdfParams:
    """Argon2id cost: ``opslimit`` passes over ``memlimit`` bytes."""

    opslimit: int
    memlimit: int

    def check(self) -> None:
        if not (KDF_MIN_OPS <= self.opslimit <= KDF_MAX_OPS and KDF_MIN_MEM <= self.memlimit <= KDF_MAX_MEM):
            raise VaultTampered("the vault's key-derivation parameters are out of range")


DEFAULT_KDF = KdfParams(opslimit=3, memlimit=64 * 1024 * 1024)  # RFC 9106 section 4, second option


@dataclass(frozen=True, slots=True)
class Wrap:
    """The vault key under one secret (the passphrase or the recovery code), with its own
    Argon2id parameters: a door re-made later may cost more than the other."""

    kdf: KdfParams
    salt: bytes
    sealed_key: bytes


@dataclass(frozen=True, slots=True)
class Sealed:
    """Everything stored for one wallet; nothing in it is readable without a secret."""

    wallet_id: str
    format: int
    passphrase: Wrap
    recovery: Wrap
    content: bytes


@dataclass(frozen=True, slots=True)
class Created:
    sealed: Sealed
    recovery_code: str  # shown once to the holder, never stored
    key: bytes


def _content_ad(wallet_id: str, version: int = FORMAT) -> bytes:
    return f"amana-vault/{version}|content|{wallet_id}".encode()


def wrap_ad(door: str, wallet_id: str, version: int, kdf: KdfParams, salt: bytes) -> bytes:
    """What a wrap is bound to: its door, its wallet, the format and its own KDF parameters and salt."""
    return json.dumps([f"amana-vault/{version}", door, wallet_id, kdf.opslimit, kdf.memlimit, salt.hex()]).encode()


def seal(key: bytes, plaintext: bytes, ad: bytes) -> bytes:
    nonce = secrets.token_bytes(NONCE_BYTES)
    return nonce + sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, ad, nonce, key)


def unseal(key: bytes, sealed: bytes, ad: bytes) -> bytes:
    """Raises ``nacl.exceptions.CryptoError`` for any change, a wrong key or a short input."""
    if len(sealed) < NONCE_BYTES + 16:
        raise nacl.exceptions.CryptoError("too short")
    return bytes(sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(sealed[NONCE_BYTES:], ad, sealed[:NONCE_BYTES],
                                                                    key))


def derive(secret: bytes, salt: bytes, kdf: KdfParams) -> bytes:
    kdf.check()
    if len(salt) != SALT_BYTES:
        raise VaultTampered("the vault's salt is damaged")
    return bytes(argon2id.kdf(KEY_BYTES, secret, salt, opslimit=kdf.opslimit, memlimit=kdf.memlimit))


def _wrap(door: str, wallet_id: str, kdf: KdfParams, secret: bytes, key: bytes) -> Wrap:
    kdf.check()
    salt = secrets.token_bytes(SALT_BYTES)
    return Wrap(kdf, salt, seal(derive(secret, salt, kdf), key, wrap_ad(door, wallet_id, FORMAT, kdf, salt)))


def _unwrap(door: str, sealed: Sealed, wrap: Wrap, secret: bytes) -> bytes | None:
    if sealed.format != FORMAT:
        raise VaultTampered("unknown vault format")
    wrap_key = derive(secret, wrap.salt, wrap.kdf)
    try:
        key = unseal(wrap_key, wrap.sealed_key, wrap_ad(door, sealed.wallet_id, sealed.format, wrap.kdf, wrap.salt))
    except nacl.exceptions.CryptoError:
        return None
    if len(key) != KEY_BYTES:
        raise VaultTampered("the vault key is damaged")
    return key


def _passphrase_bytes(passphrase: str) -> bytes:
    if not passphrase:
        raise WrongPassphrase("an empty passphrase opens nothing")
    return passphrase.encode("utf-8")


# --- recovery codes -------------------------------------------------------------------


def _check_chars(data: str) -> str:
    digest = int.from_bytes(hashlib.blake2b(data.encode(), digest_size=2, person=b"amana-recovery").digest(), "big")
    bits = digest >> (16 - 5 * CODE_CHECK_CHARS)
    return "".join(ALPHABET[(bits >> (5 * i)) & 31] for i in reversed(range(CODE_CHECK_CHARS)))


def new_recovery_code() -> str:
    data = "".join(secrets.choice(ALPHABET) for _ in range(CODE_DATA_CHARS))
    code = data + _check_chars(data)
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def parse_recovery_code(text: str) -> bytes:
    """The code's secret, from what the holder typed: any case, spaces or dashes, 0/1 read as O/I.
    A wrong length, a letter outside the alphabet or a failed check is refused here, before any KDF."""
    code = "".join(c for c in text.upper() if c not in " -\t\n").replace("0", "O").replace("1", "I")
    if len(code) != CODE_DATA_CHARS + CODE_CHECK_CHARS or any(c not in ALPHABET for c in code):
        raise InvalidRecoveryCode(f"a recovery code has {CODE_DATA_CHARS + CODE_CHECK_CHARS} letters and digits 2-7")
    data, check = code[:CODE_DATA_CHARS], code[CODE_DATA_CHARS:]
    if not secrets.compare_digest(_check_chars(data), check):
        raise InvalidRecoveryCode()
    return data.encode()


# --- the vault ------------------------------------------------------------------------


def create(wallet_id: str, passphrase: str, content: bytes, *, kdf: KdfParams = DEFAULT_KDF) -> Created:
    """A new vault: a fresh key, wrapped under the passphrase and a new recovery code."""
    key = secrets.token_bytes(KEY_BYTES)
    code = new_recovery_code()
    sealed = Sealed(wallet_id, FORMAT, _wrap("passphrase", wallet_id, kdf, _passphrase_bytes(passphrase), key),
                    _wrap("recovery", wallet_id, kdf, parse_recovery_code(code), key),
                    seal(key, content, _content_ad(wallet_id)))
    return Created(sealed, code, key)


def decoy(kdf: KdfParams = DEFAULT_KDF) -> Sealed:
    """A vault no secret opens, checked when a wallet code is unknown: its wraps are random
    bytes of a real wrap's length under ``kdf``, so trying it costs one key derivation and
    fails as a wrong passphrase does, and the answer's time does not tell which codes exist.
    Making it costs no derivation (a decoy made by :func:`create` cost two, on the caller's thread)."""
    def random_wrap() -> Wrap:
        return Wrap(kdf, secrets.token_bytes(SALT_BYTES), secrets.token_bytes(NONCE_BYTES + KEY_BYTES + 16))
    return Sealed("W-AAAA-AAAA-AAAA", FORMAT, random_wrap(), random_wrap(), b"")


def unlock(sealed: Sealed, passphrase: str) -> bytes:
    """The vault key, or :class:`WrongPassphrase` (a changed wrap looks the same: AEAD cannot tell)."""
    key = _unwrap("passphrase", sealed, sealed.passphrase, _passphrase_bytes(passphrase))
    if key is None:
        raise WrongPassphrase()
    return key


def unlock_with_recovery(sealed: Sealed, code: str) -> bytes:
    secret = parse_recovery_code(code)  # before any KDF
    key = _unwrap("recovery", sealed, sealed.recovery, secret)
    if key is None:
        raise WrongRecoveryCode()
    return key


def read(sealed: Sealed, key: bytes) -> bytes:
    """The content; a changed byte (or a ciphertext from another wallet) is :class:`VaultTampered`."""
    try:
        return unseal(key, sealed.content, _content_ad(sealed.wallet_id, sealed.format))
    except nacl.exceptions.CryptoError:
        raise VaultTampered() from None


def write(sealed: Sealed, key: bytes, content: bytes) -> Sealed:
    """The same vault with new content under a new nonce; the wraps are unchanged."""
    return replace(sealed, content=seal(key, content, _content_ad(sealed.wallet_id, sealed.format)))


def passphrase_wrap(wallet_id: str, key: bytes, new_passphrase: str, *, kdf: KdfParams = DEFAULT_KDF) -> Wrap:
    """The key under a new passphrase (after unlocking with the old one or the recovery code),
    under today's parameters, so raising ``DEFAULT_KDF`` reaches every vault at its next
    passphrase change. It depends on neither the content nor the recovery door: a writer may
    put it on whatever vault it finds newest."""
    return _wrap("passphrase", wallet_id, kdf, _passphrase_bytes(new_passphrase), key)
