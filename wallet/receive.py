"""Receiving credentials: the wallet side of OpenID4VCI 1.0, pre-authorized code flow.

From an offer link (``openid-credential-offer://``, or the https link an offer QR carries)
and the PIN the holder was told: fetch the offer (by reference, section 4.1.3), the
issuer's metadata (section 12.2, identifier compared exactly), the token (section 6), a
``c_nonce`` (section 7), then the credentials (section 8) with one fresh key per
credential, so the copies of a batch cannot be linked.
Each credential is verified on receipt (RFC 9901 section 7.2) against the keys at
``/.well-known/jwt-vc-issuer`` before the wallet keeps it. A ``refresh_token`` in the token
response is handed back for fresh copies later (wallet.refresh, which reuses ``fetch_batch``).

The HTTP client is passed in (``httpx.AsyncClient``): tests hand an in-process transport,
the wallet service its hardened client.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from core import _jose, digits, keys
from core.credtypes import TypeRegistry
from core.errors import AmanaError, InvalidInput
from core.oid4vc import OFFER_SCHEME, PRE_AUTHORIZED_GRANT, PROOF_TYP, well_known
from core.sdjwt.vc import VerifiedCredential, verify_vc_issued

# httpx logs every request URL at INFO; ours carry offer ids, request ids and codes.
logging.getLogger("httpx").setLevel(logging.WARNING)


class IssuanceFailed(AmanaError):
    code = "issuance_failed"
    title = "The issuer did not hand over the credential"


@dataclass(frozen=True, slots=True)
class Received:
    credential: str
    holder_key: keys.PrivateKey
    verified: VerifiedCredential


def offer_uri(link: str) -> str:
    """The ``credential_offer_uri`` of an offer link (section 4.1): the custom scheme, or an
    issuer's https link to its offer page, which carries the offer in the same single
    parameter and is what a QR holds so that a camera app can open it too. Plain http is
    let through here (a node on loopback announces http links): whether the offer may be
    fetched over it is the HTTP client's decision, as for every other URL."""
    scheme = urlsplit(link).scheme.lower()
    if not link.startswith(OFFER_SCHEME) and scheme not in {"https", "http"}:
        raise InvalidInput("not an openid-credential-offer:// or https offer link")
    values = parse_qs(urlsplit(link).query).get("credential_offer_uri", [])
    if len(values) != 1:
        raise InvalidInput("the offer link must carry one credential_offer_uri")
    return values[0]


def _typed(pin: str, tx_code: Any) -> str:
    """A numeric PIN (the default ``input_mode``, section 4.1.1) goes out as ASCII digits,
    whatever script the holder typed it in; a text one exactly as typed."""
    mode = tx_code.get("input_mode", "numeric") if isinstance(tx_code, dict) else "numeric"
    return digits.ascii_digits(pin) if mode == "numeric" else pin


async def json_body(response: httpx.Response, step: str) -> dict[str, Any]:
    if response.status_code != 200:
        try:
            error = response.json().get("error", response.status_code)
        except ValueError:
            error = response.status_code
        raise IssuanceFailed(f"{step}: {error}")
    body = response.json()
    if not isinstance(body, dict):
        raise IssuanceFailed(f"{step}: not a JSON object")
    return body


@dataclass(frozen=True, slots=True)
class Offer:
    """A Credential Offer read and its issuer's metadata fetched, nothing redeemed yet: what the
    wallet shows (and checks against the trust list) before the holder types the PIN."""

    issuer: str
    configuration_ids: tuple[str, ...]
    grant: dict[str, Any]
    metadata: dict[str, Any]
    token_endpoint: str

    @property
    def tx_code(self) -> dict[str, Any] | None:
        """The PIN's description (section 4.1.1), or None when the offer needs no PIN."""
        code = self.grant.get("tx_code")
        return code if isinstance(code, dict) else ({} if "tx_code" in self.grant else None)

    def vct(self, configuration_id: str | None = None) -> str | None:
        """The SD-JWT VC type the offer's (first) configuration issues, from the metadata."""
        supported = self.metadata.get("credential_configurations_supported") or {}
        config = supported.get(configuration_id or self.configuration_ids[0]) if isinstance(supported, dict) else None
        vct = config.get("vct") if isinstance(config, dict) else None
        return vct if isinstance(vct, str) else None


async def issuer_metadata(http: httpx.AsyncClient, issuer: str) -> tuple[dict[str, Any], str]:
    """The issuer's metadata (section 12.2, identifier compared exactly) and its token endpoint."""
    meta = await json_body(await http.get(well_known(issuer, "openid-credential-issuer")), "issuer metadata")
    if meta.get("credential_issuer") != issuer:  # exact string comparison, section 12.2.2
        raise IssuanceFailed("issuer metadata names another issuer")
    auth = await json_body(await http.get(well_known(issuer, "oauth-authorization-server")), "authorization metadata")
    if not isinstance(auth.get("token_endpoint"), str):
        raise IssuanceFailed("the authorization server names no token endpoint")
    return meta, auth["token_endpoint"]


async def read_offer(http: httpx.AsyncClient, link: str) -> Offer:
    """The offer (by reference, section 4.1.3) and its issuer's metadata (section 12.2)."""
    offer = await json_body(await http.get(offer_uri(link)), "offer")
    issuer = offer.get("credential_issuer")
    configs = offer.get("credential_configuration_ids")
    grant = (offer.get("grants") or {}).get(PRE_AUTHORIZED_GRANT) or {}
    if not (isinstance(issuer, str) and isinstance(configs, list) and configs
            and all(isinstance(c, str) for c in configs) and isinstance(grant, dict)
            and isinstance(grant.get("pre-authorized_code"), str)):
        raise IssuanceFailed("the offer is not a pre-authorized Credential Offer")
    meta, token_endpoint = await issuer_metadata(http, issuer)
    return Offer(issuer, tuple(configs), grant, meta, token_endpoint)


async def redeem_batch(
    http: httpx.AsyncClient, offer: Offer, pin: str, *, copies: int, types: TypeRegistry, alg: keys.Alg = "ES256",
) -> tuple[list[Received], str | None]:
    """Token (section 6), then the batch; with the refresh token the issuer gave, if any (RFC 6749
    section 5.1), for fresh copies later (wallet.refresh)."""
    form = {"grant_type": PRE_AUTHORIZED_GRANT, "pre-authorized_code": offer.grant["pre-authorized_code"]}
    if offer.tx_code is not None:
        form["tx_code"] = _typed(pin, offer.tx_code)
    token = await json_body(await http.post(offer.token_endpoint, data=form), "token")
    received = await fetch_batch(http, offer.issuer, offer.metadata, offer.configuration_ids[0],
                                 str(token.get("access_token")), copies=copies, types=types, alg=alg)
    refresh_token = token.get("refresh_token")
    return received, refresh_token if isinstance(refresh_token, str) and refresh_token else None


async def redeem(
    http: httpx.AsyncClient, offer: Offer, pin: str, *, copies: int, types: TypeRegistry, alg: keys.Alg = "ES256",
) -> list[Received]:
    """Token (section 6), ``c_nonce`` (section 7), then the batch (section 8), each copy verified."""
    return (await redeem_batch(http, offer, pin, copies=copies, types=types, alg=alg))[0]


async def fetch_batch(
    http: httpx.AsyncClient, issuer: str, meta: dict[str, Any], configuration_id: str, access_token: str, *,
    copies: int, types: TypeRegistry, alg: keys.Alg = "ES256",
) -> list[Received]:
    """With an access token: a ``c_nonce`` (section 7), then the batch (section 8) with one fresh
    key per copy, each copy verified against the issuer's keys before it is kept."""
    nonce = (await json_body(await http.post(meta["nonce_endpoint"]), "nonce"))["c_nonce"]
    holder_keys = [keys.generate(alg) for _ in range(copies)]
    now = int(time.time())
    proofs = [_jose.sign_compact({"typ": PROOF_TYP, "jwk": k.public_key().to_jwk()},
                                 {"aud": issuer, "iat": now, "nonce": nonce}, k) for k in holder_keys]
    body = {"credential_configuration_id": configuration_id, "proofs": {"jwt": proofs}}
    headers = {"Authorization": f"Bearer {access_token}"}
    issued = await json_body(await http.post(meta["credential_endpoint"], json=body, headers=headers), "credential")
    jwks = await json_body(await http.get(well_known(issuer, "jwt-vc-issuer")), "issuer keys")
    issuer_keys = [keys.PublicKey.from_jwk(k) for k in jwks.get("jwks", {}).get("keys", [])]
    by_thumbprint = {k.public_key().thumbprint(): k for k in holder_keys}
    received = []
    for entry in issued.get("credentials", []):
        credential = entry["credential"]
        verified = verify_vc_issued(credential, issuer_keys=issuer_keys, now=now, types=types)
        bound = keys.PublicKey.from_jwk(verified.verified.claims["cnf"]["jwk"]).thumbprint()
        key = by_thumbprint.pop(bound, None)  # section 8.3: each key binds at most one credential
        if verified.issuer != issuer or key is None:
            raise IssuanceFailed("a credential names another issuer or a key we did not send")
        received.append(Received(credential, key, verified))
    if not received:
        raise IssuanceFailed("credential: the issuer sent no credential")
    return received


async def receive(
    http: httpx.AsyncClient, link: str, pin: str, *, copies: int, types: TypeRegistry, alg: keys.Alg = "ES256",
) -> list[Received]:
    """The whole flow in one call (for scripts and tests)."""
    return await redeem(http, await read_offer(http, link), pin, copies=copies, types=types, alg=alg)
