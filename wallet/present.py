"""Answering a verifier: the wallet side of OpenID4VP 1.0 (request by reference, direct_post).

From an ``openid4vp://`` link: fetch the Request Object at ``request_uri``, check it is
``oauth-authz-req+jwt`` and signed as its Client Identifier Prefix says (``x509_hash``: the
``x5c`` leaf's SHA-256 must equal the identifier and its key verify the signature;
``decentralized_identifier`` with ``did:jwk``: the key is the DID itself), that its
``client_id`` equals the link's, then disclose for each DCQL Credential Query exactly
the claims it names (plus the parents SD-JWT needs), with a Key Binding JWT whose ``aud``
is the full Client Identifier and whose ``nonce`` is the request's, and post the
``vp_token`` with ``state`` to ``response_uri``.

Which credential answers which query, and whether the holder agrees, is the caller's
(the consent screen's) decision: ``answer`` takes that choice.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from core import _jose, dcql, keys
from core.encoding import b64url_decode, b64url_encode
from core.errors import AmanaError, InvalidInput, InvalidSignature, InvalidTokenType, MalformedToken
from core.oid4vc import PRESENTATION_SCHEME, REQUEST_TYP
from core.sdjwt import present


class RequestRefused(AmanaError):
    code = "request_refused"
    title = "The wallet refused the verifier's request"


@dataclass(frozen=True, slots=True)
class VerifierRequest:
    client_id: str
    response_uri: str
    nonce: str
    state: str
    query: dcql.DcqlQuery
    payload: Mapping[str, Any]


def _request_key(header: Mapping[str, Any], client_id: str) -> keys.PublicKey:
    prefix, _, value = client_id.partition(":")
    if prefix == "x509_hash":
        chain = header.get("x5c")
        if not isinstance(chain, list) or not chain or not isinstance(chain[0], str):
            raise RequestRefused("x509_hash requests carry the certificate in x5c")
        der = base64.b64decode(chain[0], validate=True)
        if b64url_encode(hashlib.sha256(der).digest()) != value:
            raise RequestRefused("the certificate does not match the x509_hash client_id")
        public = x509.load_der_x509_certificate(der).public_key()
        if not isinstance(public, ec.EllipticCurvePublicKey) or public.curve.name != "secp256r1":
            raise RequestRefused("only P-256 certificates are accepted")
        numbers = public.public_numbers()
        jwk = {"kty": "EC", "crv": "P-256", "x": b64url_encode(numbers.x.to_bytes(32, "big")),
               "y": b64url_encode(numbers.y.to_bytes(32, "big"))}
        return keys.PublicKey.from_jwk(jwk)
    if prefix == "decentralized_identifier" and value.startswith("did:jwk:"):
        if header.get("kid") != value + "#0":
            raise RequestRefused("the request's kid must name the did:jwk key")
        return keys.PublicKey.from_jwk(json.loads(b64url_decode(value.removeprefix("did:jwk:"))))
    raise RequestRefused("unsupported client identifier prefix")


async def fetch_request(http: httpx.AsyncClient, link: str, *, now: int | None = None) -> VerifierRequest:
    params = parse_qs(urlsplit(link).query)
    if not link.startswith(PRESENTATION_SCHEME) or len(params.get("request_uri", [])) != 1:
        raise InvalidInput("not an openid4vp:// link with a request_uri")
    client_id = params.get("client_id", [""])[0]
    response = await http.get(params["request_uri"][0])
    if response.status_code != 200:
        raise RequestRefused(f"the request object could not be fetched ({response.status_code})")
    try:
        jws = _jose.parse_compact(response.text.strip(), "request object")
        alg = _jose.check_header(jws.unverified_header, frozenset({"ES256", "EdDSA"}), "request object")
        if jws.unverified_header.get("typ") != REQUEST_TYP:
            raise InvalidTokenType("request objects are typed oauth-authz-req+jwt")
        _jose.verify_with(jws, _request_key(jws.unverified_header, client_id), alg, "request object")
        payload = jws.unverified_payload()
    except (InvalidSignature, MalformedToken, InvalidTokenType, ValueError) as exc:
        raise RequestRefused(f"the request object does not verify: {exc}") from exc
    if payload.get("client_id") != client_id:
        raise RequestRefused("the request object names another client_id than the link")
    if payload.get("response_mode") != "direct_post" or payload.get("response_type") != "vp_token":
        raise RequestRefused("only response_type vp_token with direct_post is supported")
    if isinstance(payload.get("exp"), int) and (now or int(time.time())) >= payload["exp"]:
        raise RequestRefused("the request has expired")
    nonce, state, uri = payload.get("nonce"), payload.get("state"), payload.get("response_uri")
    if not all(isinstance(v, str) and v for v in (nonce, state, uri)):
        raise RequestRefused("nonce, state and response_uri are required")
    return VerifierRequest(client_id, str(uri), str(nonce), str(state), dcql.parse(payload.get("dcql_query")),
                           payload)


def vp_token(request: VerifierRequest, chosen: Mapping[str, tuple[str, keys.PrivateKey]], now: int) -> str:
    """``chosen`` maps each Credential Query id to (credential, its holder key)."""
    token: dict[str, list[str]] = {}
    for query_id, (credential, holder_key) in chosen.items():
        credential_query = request.query.by_id(query_id)
        if credential_query is None:
            raise InvalidInput(f"the request has no query {query_id!r}")
        paths = [c.path for c in credential_query.claims or ()]
        token[query_id] = [present(credential, paths, holder_key=holder_key, audience=request.client_id,
                                   nonce=request.nonce, now=now)]
    return json.dumps(token)


async def answer(http: httpx.AsyncClient, request: VerifierRequest, vp: str) -> httpx.Response:
    return await http.post(request.response_uri, data={"vp_token": vp, "state": request.state})
