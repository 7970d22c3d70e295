"""The credential endpoint's decisions (OpenID4VCI 1.0 sections 8 and F.1). Pure.

- **Key proofs** (``jwt`` proof type, appendix F.1): ``typ`` exactly
  ``openid4vci-proof+jwt``; ``alg`` on our allow-list (never ``none``, never a MAC);
  the key by value in ``jwk`` (``kid`` would need DID resolution and ``x5c`` a PKI, so both
  are refused rather than half-supported); signature; ``aud`` the Credential Issuer
  Identifier; ``iat`` recent; ``nonce`` a ``c_nonce`` we issued. The caller consumes each
  nonce once, which is also what makes a replayed proof fail.
- **Batch issuance** (section 8.2, ``batch_credential_issuance``): one credential per proof,
  each bound to its own holder key, with its own salts and status index, and timestamps
  rounded down to the day so two credentials of one batch cannot be told apart by time.
  Two proofs for the same key are refused: that would hand out linkable copies.
- **A single ``proof``** (the drafts before 1.0; Sphereon's client 0.20 still sends it) is read
  as a one-element ``proofs``, with a log line: the JWT inside goes through every check above
  (same ``typ``, ``aud``, nonce, signature), so nothing is weaker than the 1.0 request it stands
  for. Both members at once, or a proof type other than ``jwt``, are refused (README, "Older
  clients").
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from core import _jose
from core.errors import AmanaError, OAuthError
from core.keys import PublicKey
from core.oid4vc import PROOF_TYP

log = logging.getLogger("amana.issuer")

PROOF_ALGS = frozenset({"ES256", "EdDSA"})
PROOF_MAX_AGE_S = 300
BATCH_SIZE = 10
DAY = 86400


@dataclass(frozen=True, slots=True)
class KeyProof:
    holder_key: PublicKey
    nonce: str


def verify_proof(token: object, *, audience: str, now: int, clock_skew_s: int = 60,
                 algs: frozenset[str] = PROOF_ALGS) -> KeyProof:
    """Check one ``jwt`` key proof, signed with one of ``algs`` (the configuration's
    ``proof_signing_alg_values_supported``); the caller still checks and consumes ``nonce``."""
    if not isinstance(token, str):
        raise OAuthError("invalid_proof", "each proof must be a compact JWT string")
    try:
        jws = _jose.parse_compact(token, "key proof")
        header = jws.unverified_header
        alg = _jose.check_header(header, algs, "key proof")
        if header.get("typ") != PROOF_TYP:
            raise OAuthError("invalid_proof", f"key proof typ must be {PROOF_TYP}")
        if "kid" in header or "x5c" in header or "jwk" not in header:
            raise OAuthError("invalid_proof", "the key proof must carry its key as jwk (kid and x5c unsupported)")
        key = PublicKey.from_jwk(header["jwk"])
        _jose.verify_with(jws, key, alg, "key proof")
        claims = jws.unverified_payload()
    except OAuthError:
        raise
    except AmanaError as exc:
        raise OAuthError("invalid_proof", exc.detail) from exc
    if claims.get("aud") != audience:
        raise OAuthError("invalid_proof", "key proof aud must be the Credential Issuer Identifier")
    iat = claims.get("iat")
    fresh = isinstance(iat, int | float) and now - PROOF_MAX_AGE_S - clock_skew_s <= iat <= now + clock_skew_s
    if isinstance(iat, bool) or not fresh:
        raise OAuthError("invalid_proof", "key proof iat is missing or outside the allowed window")
    nonce = claims.get("nonce")
    if not isinstance(nonce, str) or not nonce:
        raise OAuthError("invalid_proof", "key proof must contain the c_nonce")
    return KeyProof(key, nonce)


def proofs_of(request: dict[str, Any], batch_size: int = BATCH_SIZE) -> list[object]:
    """The ``proofs.jwt`` array of a Credential Request (section 8.2), size-checked; a pre-1.0
    single ``proof`` as a one-element array."""
    if "proof" in request:
        return [_single_proof(request)]
    proofs = request.get("proofs")
    if not isinstance(proofs, dict) or set(proofs) != {"jwt"}:
        raise OAuthError("invalid_proof", "proofs must be an object with exactly one member, jwt")
    jwts = proofs["jwt"]
    if not isinstance(jwts, list) or not jwts:
        raise OAuthError("invalid_proof", "proofs.jwt must be a non-empty array")
    if len(jwts) > batch_size:
        raise OAuthError("invalid_credential_request", f"at most {batch_size} proofs per request")
    return jwts


def _single_proof(request: dict[str, Any]) -> object:
    if "proofs" in request:
        raise OAuthError("invalid_credential_request", "send proofs or (before 1.0) proof, not both")
    proof = request["proof"]
    if not isinstance(proof, dict) or set(proof) != {"proof_type", "jwt"} or proof["proof_type"] != "jwt":
        raise OAuthError("invalid_proof", "proof must be an object with proof_type jwt and jwt")
    log.info("credential request with a single pre-1.0 'proof': read as a one-element 'proofs'")
    return proof["jwt"]


def distinct_keys(proofs: Sequence[KeyProof]) -> None:
    thumbprints = [p.holder_key.thumbprint() for p in proofs]
    if len(set(thumbprints)) != len(thumbprints):
        raise OAuthError("invalid_proof", "each proof in a batch must use its own key")


def rounded(now: int) -> int:
    """The start of the UTC day: issued-at as it appears in credentials of a batch."""
    return now - now % DAY
