"""Secrets at rest: the node key, sealing (AES-256-GCM) and keyed digests (HMAC-SHA-256).

What a stolen database file must not give away: issuer signing keys, claims of offers not
yet redeemed, PINs, codes and tokens. Keys and pending claims are *sealed* under the node
key; PINs, codes, tokens and API keys are stored only as keyed digests, so a 6-digit PIN
cannot be brute-forced offline without the node key either.

The node key comes from ``AMANA_SECRET_KEY`` (base64url, 32 bytes: what several instances
behind a load balancer share) or else from ``$AMANA_DATA_DIR/secret.key``, created at first
use with mode 0600 and never committed. Purposes are separated by HKDF labels, and every
sealed value is bound to its purpose and record id as associated data, so a sealed key
copied into another row does not open.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from functools import lru_cache
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from core.encoding import b64url_decode, b64url_encode
from core.errors import AmanaError
from core.settings import Settings

NONCE_BYTES = 12


class SealBroken(AmanaError):
    code = "seal_broken"
    title = "A sealed value could not be opened"
    status = 500


class NodeKey:
    """The node's 32-byte root secret and what is derived from it."""

    __slots__ = ("_digest_key", "_seal_key")

    def __init__(self, root: bytes) -> None:
        if len(root) != 32:
            raise ValueError("the node key is 32 bytes")
        self._seal_key = AESGCM(_derive(root, b"amana seal v1"))
        self._digest_key = _derive(root, b"amana digest v1")

    def __repr__(self) -> str:
        return "NodeKey(…)"

    def seal(self, plaintext: bytes, context: str) -> bytes:
        nonce = secrets.token_bytes(NONCE_BYTES)
        return nonce + self._seal_key.encrypt(nonce, plaintext, context.encode())

    def open(self, sealed: bytes, context: str) -> bytes:
        try:
            return self._seal_key.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], context.encode())
        except (InvalidTag, ValueError) as exc:
            raise SealBroken() from exc

    def seal_for(self, secret: str, plaintext: bytes, context: str) -> bytes:
        """Seal under a key derived from the node key *and* a bearer secret the node keeps only
        as a digest (a refresh or access token): the database and the node key together still
        do not open it; only the holder of the secret can have it opened again."""
        nonce = secrets.token_bytes(NONCE_BYTES)
        return nonce + self._secret_key(secret).encrypt(nonce, plaintext, context.encode())

    def open_for(self, secret: str, sealed: bytes, context: str) -> bytes:
        try:
            return self._secret_key(secret).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], context.encode())
        except (InvalidTag, ValueError) as exc:
            raise SealBroken() from exc

    def _secret_key(self, secret: str) -> AESGCM:
        return AESGCM(bytes.fromhex(self.digest("key-from-secret", secret)))

    def digest(self, purpose: str, value: str) -> str:
        """A keyed digest for lookups and comparisons (PINs, codes, tokens, API keys)."""
        return hmac.new(self._digest_key, f"{purpose}\x00{value}".encode(), hashlib.sha256).hexdigest()


def new_token() -> str:
    """A bearer secret: a pre-authorized code, an access token, a console session cookie.

    256 bits from ``secrets``; the node keeps only its keyed digest (``NodeKey.digest``).
    """
    return secrets.token_urlsafe(32)


def new_public_id() -> str:
    """An opaque public id (an offer, a check): 128 bits, base64url, and never starting with
    ``-``, which a command line would read as an option (``amana verifier result -2P3…`` failed
    one run in 64). Redrawing keeps every other value equally likely."""
    while (candidate := secrets.token_urlsafe(16)).startswith("-"):
        pass
    return candidate


def _derive(root: bytes, label: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label).derive(root)


def node_key(settings: Settings) -> NodeKey:
    if settings.secret_key:
        return NodeKey(b64url_decode(settings.secret_key, "AMANA_SECRET_KEY"))
    return _node_key_from_file(settings.data_dir / "secret.key")


@lru_cache(maxsize=4)
def _node_key_from_file(path: Path) -> NodeKey:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written whole under a private name, then linked into place: workers starting together
        # (``amana serve --workers N``) either make the key or read one that is complete, never
        # an empty file another worker has created but not yet written.
        draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(b64url_encode(secrets.token_bytes(32)) + "\n")
        try:
            os.link(draft, path)
        except FileExistsError:  # another process made it first: use theirs
            pass
        finally:
            os.unlink(draft)
    return NodeKey(b64url_decode(path.read_text().strip(), path.name))
