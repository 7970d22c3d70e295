"""Hand-built tokens for negative tests: sign exactly the payload a rule is about."""

from __future__ import annotations

from typing import Any

from core import _jose, keys
from core.encoding import b64url_encode
from core.sdjwt._disclosures import digest, encode, hasher, new_salt

SHA256 = hasher("sha-256")


def disclosure(*content: Any) -> tuple[str, str]:
    """(encoded Disclosure, its digest) for [salt, *content]."""
    encoded = encode([new_salt(), *content])
    return encoded, digest(encoded, SHA256)


def sd_jwt(payload: dict[str, Any], disclosures: list[str], key: keys.PrivateKey,
           header: dict[str, Any] | None = None) -> str:
    jwt = _jose.sign_compact({"typ": "example+sd-jwt", **(header or {})}, payload, key)
    return "".join([jwt, "~", *(d + "~" for d in disclosures)])


def kb_jwt(sd_jwt_text: str, holder: keys.PrivateKey, *, aud: Any = "https://verifier.test",
           nonce: Any = "n-1", iat: Any, sd_hash: str | None = None,
           header: dict[str, Any] | None = None, extra: dict[str, Any] | None = None) -> str:
    if sd_hash is None:
        sd_hash = b64url_encode(SHA256(sd_jwt_text.encode("ascii")).digest())
    payload = {"iat": iat, "aud": aud, "nonce": nonce, "sd_hash": sd_hash, **(extra or {})}
    return _jose.sign_compact({"typ": "kb+jwt", **(header or {})}, payload, holder)


def cnf(holder: keys.PrivateKey) -> dict[str, Any]:
    jwk = holder.public_key().to_jwk()
    return {"jwk": {k: v for k, v in jwk.items() if k not in ("kid", "alg")}}


def unsigned(header: dict[str, Any], payload: dict[str, Any], signature: bytes = b"") -> str:
    from core.encoding import b64url_json

    return f"{b64url_json(header)}.{b64url_json(payload)}.{b64url_encode(signature)}"


def spoiled(compact: str) -> str:
    """``compact`` with its fourth-last character replaced by a different one.

    Not the last: in a base64url signature that one carries padding bits a decoder may ignore, and
    a fixed replacement (``[:-3] + "AAA"``) equals the original once in 2^18 runs; this never does.
    """
    at = len(compact) - 4
    return compact[:at] + ("B" if compact[at] == "A" else "A") + compact[at + 1:]


def signed_as_escapes(header: dict[str, Any], payload: dict[str, Any], key: keys.PrivateKey) -> str:
    """A JWS whose header and payload JSON escape every non-ASCII character (``\\uXXXX``), as
    ``json.dumps`` writes by default: a lone surrogate then survives as ``\\ud800``, which a stranger
    may send and ``_jose.sign_compact`` cannot write."""
    import json

    signing_input = ".".join(b64url_encode(json.dumps(part).encode("ascii"))
                             for part in ({"alg": key.alg, **header}, payload))
    return f"{signing_input}.{b64url_encode(key.sign(signing_input.encode('ascii')))}"
