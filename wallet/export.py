"""The export file (GDPR Art. 20, moving a wallet): a wallet's content encrypted under an export
passphrase, readable by ``amana wallet import`` on any node. Pure: bytes in, bytes out.

Format ``amana-wallet-export/1``, one JSON object::

    {"format": "amana-wallet-export/1", "wallet_id": …, "exported_at": <unix time>,
     "kdf": {"opslimit": …, "memlimit": …}, "salt": b64url(16), "check": b64url(32),
     "ciphertext": b64url(nonce(24) ‖ XChaCha20-Poly1305(key, content, AD = the header))}

Argon2id(export passphrase, salt) gives 64 bytes: the first 32 are the AEAD key, BLAKE2b of the
last 32 is ``check``. So a wrong passphrase is told apart from a changed file *before*
decryption (``WrongPassphrase``), and the AEAD's associated data is the canonical JSON of every
other member: a changed byte anywhere — header, salt or ciphertext — is ``VaultTampered``, never
other content. The vault key is not exported: the importing node makes a new one (and a new
recovery code), so an old recovery sheet does not open the moved wallet.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Any

import nacl.exceptions
import nacl.pwhash.argon2id as argon2id

from core.encoding import b64url_decode, b64url_encode, same_text
from core.errors import AmanaError, VaultTampered, WrongPassphrase
from wallet.vault import DEFAULT_KDF, SALT_BYTES, KdfParams, seal, unseal

FORMAT = "amana-wallet-export/1"
MAX_BYTES = 32 * 1024 * 1024
_MEMBERS = {"format", "wallet_id", "exported_at", "kdf", "salt", "check", "ciphertext"}


@dataclass(frozen=True, slots=True)
class Exported:
    wallet_id: str
    exported_at: int
    content: bytes


def _keys(passphrase: str, salt: bytes, kdf: KdfParams) -> tuple[bytes, str]:
    if not passphrase:
        raise WrongPassphrase("an export needs a passphrase")
    kdf.check()
    derived = bytes(argon2id.kdf(64, passphrase.encode(), salt, opslimit=kdf.opslimit, memlimit=kdf.memlimit))
    return derived[:32], b64url_encode(hashlib.blake2b(derived[32:], digest_size=32,
                                                       person=b"amana-export").digest())


def _ad(header: dict[str, Any]) -> bytes:
    return json.dumps(header, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def dump(wallet_id: str, content: bytes, passphrase: str, now: int, *, kdf: KdfParams = DEFAULT_KDF) -> bytes:
    salt = secrets.token_bytes(SALT_BYTES)
    key, check = _keys(passphrase, salt, kdf)
    header = {"format": FORMAT, "wallet_id": wallet_id, "exported_at": now,
              "kdf": {"opslimit": kdf.opslimit, "memlimit": kdf.memlimit}, "salt": b64url_encode(salt), "check": check}
    document = header | {"ciphertext": b64url_encode(seal(key, content, _ad(header)))}
    return (json.dumps(document, indent=1) + "\n").encode()


def header(data: bytes) -> dict[str, Any]:
    """The unencrypted header (who, when), checked for shape only: nothing here is authenticated yet."""
    if len(data) > MAX_BYTES:
        raise VaultTampered("the export file is too large to be one")
    try:
        document = json.loads(data)
        if not isinstance(document, dict) or set(document) != _MEMBERS or document["format"] != FORMAT:
            raise ValueError("shape")
        if not (isinstance(document["wallet_id"], str) and isinstance(document["exported_at"], int)
                and isinstance(document["kdf"], dict) and set(document["kdf"]) == {"opslimit", "memlimit"}
                and all(isinstance(v, int) for v in document["kdf"].values())):
            raise ValueError("types")
    except (ValueError, KeyError, TypeError):
        raise VaultTampered("this is not an Amana wallet export file, or it was changed") from None
    return document


def load(data: bytes, passphrase: str) -> Exported:
    document = header(data)
    head = {k: v for k, v in document.items() if k != "ciphertext"}
    kdf = KdfParams(document["kdf"]["opslimit"], document["kdf"]["memlimit"])
    try:
        salt = b64url_decode(str(document["salt"]), "salt")
        sealed = b64url_decode(str(document["ciphertext"]), "ciphertext")
    except AmanaError:
        raise VaultTampered("the export file was changed or damaged") from None
    if len(salt) != SALT_BYTES:
        raise VaultTampered("the export file was changed or damaged")
    key, check = _keys(passphrase, salt, kdf)
    if not same_text(check, str(document["check"])):
        raise WrongPassphrase("the export passphrase does not open this file")
    try:
        content = unseal(key, sealed, _ad(head))
    except nacl.exceptions.CryptoError:
        raise VaultTampered("the export file was changed or damaged") from None
    return Exported(document["wallet_id"], document["exported_at"], content)
