"""Proof of check: a signed statement the verifier can show an inspector. Pure.

It says that this verifier checked *a* presentation at a time, for a purpose, and what the
outcome was — which credential types, which issuers, which statuses — and carries the
SHA-256 of the presentation as received, so the holder (who has it) can prove which one it
was. It carries no claim value and is not stored by the verifier: it travels with the
one-time result to whoever asked (specs/formats/proof-of-check.md).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from core import _jose
from core.encoding import b64url_encode
from core.errors import InvalidTokenType
from core.keys import PrivateKey, PublicKey

TYP = "amana-proof-of-check+jwt"


def issue(key: PrivateKey, *, verifier_id: str, check_name: str, purpose: str, vp_token: str,
          outcome: Mapping[str, Any], now: int) -> str:
    payload = {
        "iss": verifier_id,
        "iat": now,
        "check": check_name,
        "purpose": purpose,
        "accepted": bool(outcome.get("accepted")),
        "reason": outcome.get("reason"),
        "credentials": [{"vct": c.get("vct"), "issuer": c.get("issuer"), "status": c.get("status")}
                        for c in outcome.get("credentials", [])],
        "presentation_sha256": b64url_encode(hashlib.sha256(vp_token.encode("utf-8")).digest()),
    }
    return _jose.sign_compact({"typ": TYP}, payload, key)


def verify(token: str, keys: Sequence[PublicKey]) -> dict[str, Any]:
    jws = _jose.parse_compact(token, "proof of check")
    alg = _jose.check_header(jws.unverified_header, frozenset({"ES256", "EdDSA"}), "proof of check")
    if jws.unverified_header.get("typ") != TYP:
        raise InvalidTokenType(f"a proof of check is typed {TYP}")
    _jose.verify_with_any(jws, keys, alg, "proof of check")
    return jws.unverified_payload()
