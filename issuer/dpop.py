"""DPoP (RFC 9449) at the issuer: checking a proof, and the server nonce. Pure: ``now`` and the node's
keyed digest are arguments; the one stateful rule (each ``jti`` used once) is the store's
(``store.spend_dpop_jti``), called in the request's transaction.

Why: a bearer access token copied from a log, a proxy or a crash report redeems the holder's
credentials; a DPoP-bound one is useless without the private key the wallet made for this one
issuance. HAIP requires DPoP, and wallets on that profile send ``Authorization: DPoP`` (issue 18).
A client that presents a proof at the token endpoint gets a token bound to its key's RFC 7638
thumbprint (``token_type`` DPoP, section 5); a client that does not still gets a Bearer token.

``check`` applies section 4.3 in its order: one well-formed JWT; ``typ`` dpop+jwt; an asymmetric
``alg`` we allow (never ``none`` or a MAC); the key by value in ``jwk``, public members only;
the signature; ``htm``; ``htu`` compared without query and fragment after syntax- and
scheme-based normalisation (RFC 3986 sections 6.2.2-6.2.3); the server nonce; ``iat`` in the
window; and, beside an access token, ``ath``. Binding to the token's key is the caller's check.

The server nonce (sections 8 and 9) is required on every proof: a proof cannot be made ahead of
time and replayed later, even with a fresh ``jti``. Like ``c_nonce`` (issuer.nonces) it is
``<expiry>.<random>.<tag>``, minted without a database row and bound to the issuer it came from;
its single use is not needed (the ``jti`` is), so it may be reused until it expires, which saves
a client a round trip per request (every answer carries the next one in ``DPoP-Nonce``).

Errors are the RFC's: at the token endpoint 400 ``invalid_dpop_proof`` / ``use_dpop_nonce``
(sections 5 and 8); at the credential endpoint 401 with ``WWW-Authenticate: DPoP error=…``
(sections 7.1 and 9). Messages name the rule broken, never the proof, token, nonce or ``jti``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from core import _jose
from core.encoding import b64url_encode, same_text
from core.errors import AmanaError, OAuthError
from core.keys import PublicKey

TYP = "dpop+jwt"
ALGS = frozenset({"ES256"})  # what the wallets on the HAIP profile sign with, and our own wallet's default
PROOF_MAX_AGE_S = 300
NONCE_TTL_S = 300
MAX_PROOF_CHARS = 4096  # a P-256 proof is ~600 characters; anything far larger is not one
MAX_JTI_CHARS = 256
_TAG_CHARS = 32

Digest = Callable[[str, str], str]


@dataclass(frozen=True, slots=True)
class Proof:
    """A checked proof: the key's thumbprint the token is (to be) bound to, and the ``jti`` to spend."""

    jkt: str
    jti: str
    remember_until: int  # past this, the window refuses the proof anyway: the jti may be forgotten


def refusal(error: str, detail: str, *, at_resource: bool, nonce: str | None = None) -> OAuthError:
    """The RFC's error for ``error`` at the token endpoint (400) or the credential endpoint (401)."""
    headers = {} if nonce is None else {"DPoP-Nonce": nonce}
    if at_resource:
        headers["WWW-Authenticate"] = f'DPoP error="{error}", algs="{" ".join(sorted(ALGS))}"'
        return OAuthError(error, detail, status=401, scheme="DPoP", headers=headers)
    return OAuthError(error, detail, headers=headers)


def authorization(header: str | None) -> tuple[str, str]:
    """``(scheme, access token)`` of an ``Authorization: Bearer|DPoP <token>`` header (scheme lower
    case, RFC 9110 section 11.1: case-insensitive), or 401 ``invalid_token``."""
    scheme, _, value = (header or "").partition(" ")
    if scheme.lower() not in ("bearer", "dpop") or not value.strip():
        raise OAuthError("invalid_token", "an access token is required (Authorization: DPoP or Bearer)", status=401)
    return scheme.lower(), value.strip()


def ath(access_token: str) -> str:
    return b64url_encode(hashlib.sha256(access_token.encode("ascii", "replace")).digest())


def normalised_uri(uri: str) -> str | None:
    """``uri`` without query and fragment, scheme and host in lower case, default port and empty path
    normalised (RFC 3986 sections 6.2.2-6.2.3); None for anything that is not an absolute http(s) URI."""
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "")
    if scheme not in ("http", "https") or not host or parts.username is not None or parts.password is not None:
        return None
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != {"http": 80, "https": 443}[scheme]:
        netloc += f":{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", "", ""))


def check(proof: str, *, method: str, uri: str, now: int, nonce_fresh: Callable[[str], bool], next_nonce: str,
          access_token: str | None = None, at_resource: bool, clock_skew_s: int = 60) -> Proof:
    """Section 4.3 (the caller compares ``jkt`` with the token's binding and spends ``jti``).
    ``nonce_fresh`` says whether a nonce is one we minted and still valid; every refusal carries
    ``next_nonce`` in ``DPoP-Nonce``, so the client's one retry can succeed."""
    def refuse(detail: str) -> OAuthError:
        return refusal("invalid_dpop_proof", detail, at_resource=at_resource, nonce=next_nonce)

    if len(proof) > MAX_PROOF_CHARS:
        raise refuse("the DPoP proof is too long")
    try:
        jws = _jose.parse_compact(proof, "DPoP proof")
        header = jws.unverified_header
        alg = _jose.check_header(header, ALGS, "DPoP proof")
        if header.get("typ") != TYP:
            raise refuse(f"DPoP proof typ must be {TYP}")
        key = PublicKey.from_jwk(header.get("jwk"))  # refuses private members (section 4.3, step 7)
        _jose.verify_with(jws, key, alg, "DPoP proof")
        claims = jws.unverified_payload()
    except OAuthError:
        raise
    except AmanaError as exc:
        raise refuse(exc.detail) from exc
    jti, iat = claims.get("jti"), claims.get("iat")
    if not isinstance(jti, str) or not 0 < len(jti) <= MAX_JTI_CHARS:
        raise refuse("DPoP proof jti is missing")
    if claims.get("htm") != method:
        raise refuse("DPoP proof htm is not this request's method")
    htu = claims.get("htu")
    if not isinstance(htu, str) or normalised_uri(htu) is None or normalised_uri(htu) != normalised_uri(uri):
        raise refuse("DPoP proof htu is not this endpoint")
    nonce = claims.get("nonce")
    if not isinstance(nonce, str) or not nonce_fresh(nonce):
        raise refusal("use_dpop_nonce", "use the DPoP-Nonce this server gives", at_resource=at_resource,
                      nonce=next_nonce)
    if isinstance(iat, bool) or not isinstance(iat, int | float) or not (
            now - PROOF_MAX_AGE_S - clock_skew_s <= iat <= now + clock_skew_s):
        raise refuse("DPoP proof iat is missing or outside the allowed window")
    if access_token is not None and not (
            isinstance(claims.get("ath"), str) and same_text(str(claims["ath"]), ath(access_token))):
        raise refuse("DPoP proof ath is not the hash of this access token")
    return Proof(key.thumbprint(), jti, int(iat) + PROOF_MAX_AGE_S + 2 * clock_skew_s)


# --- the server nonce (sections 8 and 9) ----------------------------------------------------


def _tag(digest: Digest, scope: str, expires_at: int, random_part: str) -> str:
    return digest("dpop-nonce", f"{scope}:{expires_at}:{random_part}")[:_TAG_CHARS]


def mint_nonce(digest: Digest, scope: str, now: int) -> str:
    """A nonce for the issuer at ``scope`` (its identifier), valid ``NONCE_TTL_S``."""
    expires_at, random_part = now + NONCE_TTL_S, secrets.token_urlsafe(12)
    return f"{expires_at}.{random_part}.{_tag(digest, scope, expires_at, random_part)}"


def nonce_is_fresh(digest: Digest, scope: str, nonce: str, now: int) -> bool:
    parts = nonce.split(".")
    # All ASCII, as this node mints them (a lone surrogate made the tag's encoding raise: issuer.nonces)
    if len(parts) != 3 or not nonce.isascii() or not parts[0].isdigit() or len(parts[0]) > 12:
        return False
    expires_at = int(parts[0])
    genuine = hmac.compare_digest(parts[2].encode(), _tag(digest, scope, expires_at, parts[1]).encode())
    return genuine and now < expires_at <= now + NONCE_TTL_S


def check_binding(bound_jkt: str | None, proof: Proof | None, *, next_nonce: Callable[[], str]) -> None:
    """A token is used as it was issued (section 7): a DPoP-bound one only with a proof by its key
    (never as Bearer, section 7.2), a Bearer one never as DPoP. ``next_nonce`` makes the nonce a
    refusal carries: only then (a keyed digest, every credential request's otherwise)."""
    if bound_jkt is None and proof is not None:
        raise OAuthError("invalid_token", "this access token is not DPoP-bound: send it as Bearer", status=401)
    if bound_jkt is not None and proof is None:
        raise refusal("invalid_token", "this access token is DPoP-bound: send it as DPoP with a proof",
                      at_resource=True, nonce=next_nonce())
    if proof is not None and not hmac.compare_digest(proof.jkt, bound_jkt or ""):
        raise refusal("invalid_dpop_proof", "the DPoP proof is not signed with the key the token is bound to",
                      at_resource=True, nonce=next_nonce())
