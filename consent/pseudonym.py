"""The holder's pseudonyms in the consent ledger: keyed, pairwise per verifier.

The holder keeps one random 32-byte *ledger key* in their wallet's vault (never on the
ledger's side). From it, per verifier:

- ``subject_id``: ``HMAC-SHA256(ledger_key, "amana-consent-subject" 0x00 verifier_id)``,
  base64url. The ledger files the holder's records under it. Two verifiers (or the ledger
  operator comparing them) see two unrelated ids, and without the key nobody can recompute
  it from anything the holder *is* (a name, a birth date, a document number): it is not a
  hash of personal data, and it changes if the holder's key does.
- ``pairwise_key``: an Ed25519 key seeded by ``HMAC-SHA256(ledger_key, "amana-consent-sign"
  0x00 verifier_id)``. The holder counter-signs receipts with it and proves, with no
  account, that a record is theirs (``holder_proof`` / ``check_holder_proof``). Its public
  half is pairwise too, so it links nothing across verifiers either.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from consent import holder_shapes, records
from core import _jose
from core.encoding import b64url_encode
from core.errors import AmanaError, InvalidInput
from core.keys import PrivateKey, PublicKey

KEY_BYTES = 32
PROOF_TYP = "amana-consent-holder+jwt"
PROOF_MAX_AGE_S = 300
PROOF_FUTURE_S = 60  # clock skew allowed the other way


class HolderProofInvalid(AmanaError):
    code = "holder_proof_invalid"
    title = "The holder's proof does not check out"
    status = 401


def new_ledger_key() -> bytes:
    """A fresh holder ledger key, for the wallet's vault."""
    return secrets.token_bytes(KEY_BYTES)


def _derive(ledger_key: bytes, label: bytes, verifier_id: str) -> bytes:
    if len(ledger_key) != KEY_BYTES:
        raise InvalidInput("a ledger key is 32 bytes")
    return hmac.new(ledger_key, label + b"\x00" + verifier_id.encode("utf-8"), hashlib.sha256).digest()


def subject_id(ledger_key: bytes, verifier_id: str) -> str:
    """The holder's pseudonym towards ``verifier_id`` (43 base64url characters)."""
    return b64url_encode(_derive(ledger_key, b"amana-consent-subject", verifier_id))


def pairwise_key(ledger_key: bytes, verifier_id: str) -> PrivateKey:
    """The holder's Ed25519 key towards ``verifier_id``, derived, never stored."""
    raw = ed25519.Ed25519PrivateKey.from_private_bytes(_derive(ledger_key, b"amana-consent-sign", verifier_id))
    x = raw.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    d = raw.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    key = PrivateKey.from_jwk({"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(x), "d": b64url_encode(d)})
    return PrivateKey(alg=key.alg, _key=key.cryptography_key(), kid=key.public_key().thumbprint())


def holder_proof(ledger_key: bytes, verifier_id: str, action: str, now: int) -> str:
    """A short JWS saying "the holder of this subject id asks ``action`` at ``now``": what the
    ledger's holder routes take instead of an account (``Authorization: ConsentProof <jws>``)."""
    key = pairwise_key(ledger_key, verifier_id)
    payload = {"sub": subject_id(ledger_key, verifier_id), "aud": verifier_id, "act": action, "iat": now,
               "jti": secrets.token_urlsafe(12)}
    return _jose.sign_compact({"typ": PROOF_TYP, "jwk": key.public_key().to_jwk()}, payload, key)


def check_holder_proof(token: str, action: str, now: int) -> tuple[str, str, PublicKey]:
    """Check a holder proof for ``action``: (subject id, verifier id, pairwise public key).

    The caller still compares the key with the one stored on the record: the proof shows that
    whoever sent it holds *some* key; the record says which key is the holder's.
    """
    try:
        jws = _jose.parse_compact(token, "holder proof")
        header = jws.unverified_header
        if header.get("typ") != PROOF_TYP:
            raise HolderProofInvalid("not a holder proof")
        alg = _jose.check_header(header, frozenset({"EdDSA"}), "holder proof")
        key = PublicKey.from_jwk(header.get("jwk"))
        _jose.verify_with(jws, key, alg, "holder proof")
        claims = jws.unverified_payload()
    except HolderProofInvalid:
        raise
    except AmanaError:
        raise HolderProofInvalid() from None
    iat, sub, aud = claims.get("iat"), claims.get("sub"), claims.get("aud")
    if claims.get("act") != action or not isinstance(sub, str) or not isinstance(aud, str):
        raise HolderProofInvalid("the proof is for another action")
    if not isinstance(iat, int) or not now - PROOF_MAX_AGE_S <= iat <= now + PROOF_FUTURE_S:
        raise HolderProofInvalid("the proof is too old or from the future")
    return sub, aud, key


OFFER_TYP = "amana-consent-disclosure+jwt"
OFFER_FIELD = "amana_consent"  # the extra direct_post parameter that carries it (unknown to others: ignored)


def record_id(subject: str, wallet_part: str) -> str:
    """The record's id: the holder's part hashed with their pseudonym, so a wallet cannot
    choose, or take in advance, the id of another holder's record."""
    return b64url_encode(hashlib.sha256(f"{subject}|{wallet_part}".encode()).digest()[:24])


def disclosure_offer(ledger_key: bytes, verifier_id: str, record_id: str, notice_sha256: str, language: str,
                     nonce: str, now: int) -> str:
    """What the wallet sends beside its presentation so the verifier can record it for the holder:
    the pseudonym, the pairwise key (in the header), the record id the holder will ask for, and
    the notice (hash of what the consent screen showed, and its language), bound to the
    request's nonce so it cannot be replayed onto another presentation."""
    key = pairwise_key(ledger_key, verifier_id)
    payload = {"sub": subject_id(ledger_key, verifier_id), "aud": verifier_id, "rid": record_id,
               "notice": notice_sha256, "lang": language, "nonce": nonce, "iat": now}
    return _jose.sign_compact({"typ": OFFER_TYP, "jwk": key.public_key().to_jwk()}, payload, key)


def check_disclosure_offer(token: str, audiences: frozenset[str],
                           nonce: str) -> tuple[str, str, str, str, dict[str, str]]:
    """(subject id, record id, notice sha256, language, pairwise public JWK), or HolderProofInvalid.
    ``audiences``: the verifier's registered id and the client id it asked under (a wallet that
    cannot place the verifier on its trust list pairs its pseudonym with the client id)."""
    try:
        jws = _jose.parse_compact(token, "consent offer")
        if jws.unverified_header.get("typ") != OFFER_TYP:
            raise HolderProofInvalid("not a consent offer")
        alg = _jose.check_header(jws.unverified_header, frozenset({"EdDSA"}), "consent offer")
        key = PublicKey.from_jwk(jws.unverified_header.get("jwk"))
        _jose.verify_with(jws, key, alg, "consent offer")
        claims = jws.unverified_payload()
    except HolderProofInvalid:
        raise
    except AmanaError:
        raise HolderProofInvalid() from None
    sub, rid, notice, lang = (claims.get(n) for n in ("sub", "rid", "notice", "lang"))
    aud = claims.get("aud")  # a string first: an array is unhashable, a TypeError in a set's ``in``
    if not isinstance(aud, str) or aud not in audiences or claims.get("nonce") != nonce:
        raise HolderProofInvalid("the consent offer is for another request")
    # Each in the shape this module makes it: the ledger keeps sub, notice and lang, so none may
    # carry a name (the verifier then records under a random pseudonym, as with no offer at all).
    if not (holder_shapes.is_pseudonym(sub) and holder_shapes.is_notice(notice, lang) and isinstance(rid, str)
            and 0 < len(rid) <= 64):
        raise HolderProofInvalid("the consent offer's pseudonym, record or notice is malformed")
    return str(sub), str(rid), str(notice), str(lang), records.public_key_only(key.to_jwk())
