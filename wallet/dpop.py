"""DPoP (RFC 9449) for receiving: the access token bound to a key the wallet holds.

Why: an issuer on the HAIP profile (OpenID4VC High Assurance Interoperability Profile) requires
it, and a bearer token copied from a log or a proxy would otherwise redeem the holder's
credentials. The wallet uses DPoP whenever the authorization server announces it
(``dpop_signing_alg_values_supported`` with an algorithm we sign with, RFC 9449 §5.1), with a key
made for this one issuance (so two issuances cannot be linked by it; the vault keeps it with that
issuance's refresh grant, which the issuer binds to it, §5: wallet.refresh), and sends the token as
``DPoP`` (with a proof) only if the server bound it (``token_type`` DPoP, §5); otherwise as
``Bearer``, with no proof.

A server that wants a nonce answers ``use_dpop_nonce`` with a ``DPoP-Nonce`` header (§8, §9):
the request is sent once more with it, never more. The newest nonce a server gave (on any
answer, §8.2) is kept per origin for the issuance (``Nonces``), so the credential request after
the token request carries it at once instead of being refused first: one round trip less.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from core import _jose, keys
from core.encoding import b64url_encode, json_object_or_none

TYP = "dpop+jwt"
ALGS: tuple[keys.Alg, ...] = ("ES256", "EdDSA")


def algorithm(authorization_server: dict[str, Any]) -> keys.Alg | None:
    """The algorithm to prove possession with, or None when the server announces no DPoP we can do."""
    offered = authorization_server.get("dpop_signing_alg_values_supported")
    if not isinstance(offered, list):
        return None
    return next((alg for alg in ALGS if alg in offered), None)


def proof(key: keys.PrivateKey, method: str, url: str, *, access_token: str | None = None,
          nonce: str | None = None, now: int | None = None) -> str:
    """A DPoP proof JWT (§4.2): ``htu`` without query and fragment, ``ath`` when a token goes with it."""
    parts = urlsplit(url)
    claims: dict[str, Any] = {"jti": secrets.token_urlsafe(16), "htm": method,
                              "htu": urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")),
                              "iat": int(time.time()) if now is None else now}
    if access_token is not None:
        claims["ath"] = b64url_encode(hashlib.sha256(access_token.encode("ascii")).digest())
    if nonce is not None:
        claims["nonce"] = nonce
    return _jose.sign_compact({"typ": TYP, "jwk": key.public_key().to_jwk()}, claims, key)


def _asks_for_nonce(response: httpx.Response) -> bool:
    if response.status_code == 401:
        return "use_dpop_nonce" in response.headers.get("WWW-Authenticate", "")
    if response.status_code != 400:
        return False
    body = json_object_or_none(response.content)  # anything at all, nested past recursion included
    return body is not None and body.get("error") == "use_dpop_nonce"


Nonces = dict[str, str]  # origin -> the newest DPoP-Nonce it gave


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def keep_nonce(response: httpx.Response, url: str, nonces: Nonces | None) -> None:
    """A ``DPoP-Nonce`` another answer of the server gave (OpenID4VCI 1.0 section 7.2: the nonce
    endpoint's; "the Wallet uses the new nonce value"), kept for the next proof to its origin, so
    the credential request is not refused once for a stale one first."""
    nonce = response.headers.get("DPoP-Nonce")
    if nonce and nonces is not None:
        nonces[_origin(url)] = nonce


async def post(http: httpx.AsyncClient, url: str, key: keys.PrivateKey | None, *, access_token: str | None = None,
               nonces: Nonces | None = None, **kwargs: Any) -> httpx.Response:
    """POST with a DPoP proof when ``key`` is given, the token then sent as ``DPoP``, else as ``Bearer``.
    ``nonces``: the issuance's memory of server nonces, read for the first proof and updated."""
    headers: dict[str, str] = {}
    if access_token is not None:
        headers["Authorization"] = f"{'Bearer' if key is None else 'DPoP'} {access_token}"
    if key is None:
        return await http.post(url, headers=headers, **kwargs)
    known = {} if nonces is None else nonces
    origin = _origin(url)
    headers["DPoP"] = proof(key, "POST", url, access_token=access_token, nonce=known.get(origin))
    response = await http.post(url, headers=headers, **kwargs)
    nonce = response.headers.get("DPoP-Nonce")
    if nonce and _asks_for_nonce(response):
        headers["DPoP"] = proof(key, "POST", url, access_token=access_token, nonce=nonce)
        response = await http.post(url, headers=headers, **kwargs)
        nonce = response.headers.get("DPoP-Nonce") or nonce
    if nonce:
        known[origin] = nonce
    return response
