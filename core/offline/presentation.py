"""The presentation the holder shows as a QR, and the verifier's nonce QR.

    QR text      = "AO1:" || Base45( CBOR( presentation ) )
    presentation = [ cred: bstr, disclosures: [* bstr], kb: [ t: uint, w: uint, n: bstr .size 8 / null,
                                                               sig: bstr .size 64 ] ]
    sig          = ES256 (r||s) by the cnf key over CBOR [ "AO1-KB", t, w, n, cred, disclosures ]

Deliberately simple so the browser wallet builds it from opaque pieces with WebCrypto only:
the credential and the disclosures are bytes it stores and copies, and the one structure it
encodes itself (the key-binding input) is an array of a text, two integers, bytes or null,
bytes, and an array of bytes. ``decode`` checks form only; ``core.offline.verify`` decides.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from core.errors import InvalidKey, LimitExceeded, MalformedOfflineQR
from core.keys import PrivateKey
from core.offline import _cbor, base45
from core.offline.credential import MAX_DIGESTS, CompactCredential, parse_credential

PREFIX, NONCE_PREFIX, KB_CONTEXT = "AO1:", "AON1:", "AO1-KB"
NONCE_BYTES = 8
MAX_PRESENTATION_BYTES = 1200  # above QR version 25 at M in Base45: far past anything issued
MAX_TEXT = len(PREFIX) + (MAX_PRESENTATION_BYTES * 3 + 1) // 2
MAX_WINDOW_FIELD = 2**32  # t and w fit in 32 bits (t until 2106)


@dataclass(frozen=True, slots=True)
class Presentation:
    """A decoded QR: well-formed, not yet believed."""

    credential: CompactCredential
    disclosures: tuple[bytes, ...]
    t: int
    w: int
    nonce: bytes | None
    signature: bytes

    def binding_input(self) -> bytes:
        return kb_input(self.t, self.w, self.nonce, self.credential.raw, self.disclosures)


def kb_input(t: int, w: int, nonce: bytes | None, cred: bytes, disclosures: Sequence[bytes]) -> bytes:
    """What the holder signs: deterministic CBOR of ``["AO1-KB", t, w, n, cred, disclosures]``."""
    return _cbor.dumps([KB_CONTEXT, t, w, nonce, cred, list(disclosures)])


def present(cred: bytes, disclosures: Sequence[bytes], holder_private_key: PrivateKey, t: int, w: int,
            nonce: bytes | None) -> str:
    """The QR text for the chosen disclosures: the Python reference of what the browser wallet does."""
    if holder_private_key.alg != "ES256":
        raise InvalidKey("the holder key of a compact credential is P-256 (ES256)")
    if nonce is not None and len(nonce) != NONCE_BYTES:
        raise MalformedOfflineQR("a verifier nonce is 8 bytes")
    sig = holder_private_key.sign(kb_input(t, w, nonce, cred, disclosures))
    return PREFIX + base45.encode(_cbor.dumps([cred, list(disclosures), [t, w, nonce, sig]]))


def decode(qr_text: str) -> Presentation:
    """Parse strictly: one exact encoding of one exact structure, within bounds; else a typed error."""
    if len(qr_text) > MAX_TEXT:
        raise LimitExceeded("the QR text is too long for an offline presentation")
    if not qr_text.startswith(PREFIX):
        raise MalformedOfflineQR("not an offline presentation (AO1:)")
    item = _cbor.loads(base45.decode(qr_text[len(PREFIX):]), "presentation", max_bytes=MAX_PRESENTATION_BYTES)
    if type(item) is not list or len(item) != 3:
        raise MalformedOfflineQR("a presentation is [cred, disclosures, kb]")
    cred, disclosures, kb = item
    if type(cred) is not bytes or type(disclosures) is not list or type(kb) is not list or len(kb) != 4:
        raise MalformedOfflineQR("a presentation is [cred: bytes, disclosures: array, kb: [t, w, n, sig]]")
    if len(disclosures) > MAX_DIGESTS or any(type(d) is not bytes for d in disclosures):
        raise MalformedOfflineQR("disclosures must be at most 16 byte strings")
    t, w, nonce, sig = kb
    if type(t) is not int or type(w) is not int or not 0 <= t < MAX_WINDOW_FIELD or not 0 < w < MAX_WINDOW_FIELD:
        raise MalformedOfflineQR("t and w must be 32-bit unsigned integers, w above 0")
    if not (nonce is None or (type(nonce) is bytes and len(nonce) == NONCE_BYTES)):
        raise MalformedOfflineQR("n must be 8 bytes or null")
    if type(sig) is not bytes or len(sig) != 64:
        raise MalformedOfflineQR("the key-binding signature is 64 bytes (r||s)")
    return Presentation(parse_credential(cred), tuple(disclosures), t, w, nonce, sig)


def nonce_qr(nonce: bytes) -> str:
    """What the verifier's offline screen shows for the holder to scan."""
    if len(nonce) != NONCE_BYTES:
        raise MalformedOfflineQR("a verifier nonce is 8 bytes")
    return NONCE_PREFIX + base45.encode(_cbor.dumps([nonce]))


def parse_nonce_qr(text: str) -> bytes:
    if len(text) > 40 or not text.startswith(NONCE_PREFIX):
        raise MalformedOfflineQR("not a verifier nonce QR (AON1:)")
    item = _cbor.loads(base45.decode(text[len(NONCE_PREFIX):]), "nonce", max_bytes=16)
    if type(item) is not list or len(item) != 1 or type(item[0]) is not bytes or len(item[0]) != NONCE_BYTES:
        raise MalformedOfflineQR("a nonce QR holds [8-byte nonce]")
    return bytes(item[0])
