"""Receiving credentials: the wallet side of OpenID4VCI 1.0, pre-authorized code flow.

From an offer link (``openid-credential-offer://``, or the https link an offer QR carries)
and the PIN the holder was told: fetch the offer (by reference, section 4.1.3), the
issuer's metadata (section 12.2, identifier compared exactly), the token (section 6), a
``c_nonce`` (section 7), then the credentials (section 8) with one fresh key per
credential, so the copies of a batch cannot be linked. The token is DPoP-bound when the
authorization server announces DPoP (wallet/dpop.py).
Each credential is verified on receipt (RFC 9901 section 7.2) against the keys at
``/.well-known/jwt-vc-issuer`` before the wallet keeps it. Those keys are read before the
one-time code is spent: an issuer whose keys the wallet cannot read is refused while the
holder's code still works elsewhere (read again once if a credential names a newer key). A
``refresh_token`` in the token response is handed back for fresh copies later (wallet.refresh,
which reuses ``fetch_batch``).

The HTTP client is passed in (``httpx.AsyncClient``): tests hand an in-process transport,
the wallet service its hardened client.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple
from urllib.parse import parse_qs, urlsplit

import httpx

from core import _jose, digits, keys
from core.credtypes import TypeRegistry
from core.encoding import json_loads_strict, json_object_or_none
from core.errors import AmanaError, InvalidInput, InvalidSignature, UnknownIssuerKey
from core.oid4vc import OFFER_SCHEME, PRE_AUTHORIZED_GRANT, PROOF_TYP, well_known
from core.sdjwt.vc import VerifiedCredential, verify_vc_issued
from wallet import credential_request, dpop, issuer_keys, wrong_pin
from wallet.credential_request import (
    IssuanceFailed as IssuanceFailed,  # re-exported: callers catch receive.IssuanceFailed
)

# httpx logs every request URL at INFO; ours carry offer ids, request ids and codes.
logging.getLogger("httpx").setLevel(logging.WARNING)




@dataclass(frozen=True, slots=True)
class Received:
    credential: str
    holder_key: keys.PrivateKey
    verified: VerifiedCredential


def _offer_params(link: str) -> tuple[str | None, str | None]:
    """The link's ``credential_offer_uri`` or ``credential_offer`` (section 4.1): exactly one of them."""
    scheme = urlsplit(link).scheme.lower()
    if not link.startswith(OFFER_SCHEME) and scheme not in {"https", "http"}:
        raise InvalidInput("not an openid-credential-offer:// or https offer link")
    query = parse_qs(urlsplit(link).query)
    by_reference, by_value = query.get("credential_offer_uri", []), query.get("credential_offer", [])
    if len(by_reference) + len(by_value) != 1:
        raise InvalidInput("the offer link must carry one credential_offer_uri or one credential_offer")
    if by_reference and urlsplit(by_reference[0]).scheme.lower() not in {"https", "http"}:
        raise InvalidInput("the credential_offer_uri must be an https URL")  # section 4.1.3 (http: loopback nodes)
    return (by_reference[0], None) if by_reference else (None, by_value[0])


def offer_uri(link: str) -> str:
    """The ``credential_offer_uri`` of an offer link (section 4.1): the custom scheme, or an
    issuer's https link to its offer page, which carries the offer in the same single
    parameter and is what a QR holds so that a camera app can open it too. Plain http is
    let through here (a node on loopback announces http links): whether the offer may be
    fetched over it is the HTTP client's decision, as for every other URL."""
    uri, _ = _offer_params(link)
    if uri is None:
        raise InvalidInput("the offer link must carry one credential_offer_uri")
    return uri


def _typed(pin: str, tx_code: Any) -> str:
    """A numeric PIN (the default ``input_mode``, section 4.1.1) goes out as ASCII digits,
    whatever script the holder typed it in, and only with the offer's ``length``; a text one
    exactly as typed."""
    mode = tx_code.get("input_mode", "numeric") if isinstance(tx_code, dict) else "numeric"
    return wrong_pin.check_length(digits.ascii_digits(pin), tx_code) if mode == "numeric" else pin


async def json_body(response: httpx.Response, step: str) -> dict[str, Any]:
    """An issuer's answer, a JSON object (read strictly: ``core.encoding.json_object_or_none``);
    anything else, or an error, is an IssuanceFailed naming the step."""
    body = json_object_or_none(response.content)
    if response.status_code != 200:
        raise wrong_pin.refusal(step, body, response.status_code)
    if body is None:
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
    dpop_alg: keys.Alg | None = None  # the authorization server's DPoP (RFC 9449), when it announces one
    authorization_server: str | None = None  # its identifier (section 12.2.4), where a refresh goes back to

    @property
    def tx_code(self) -> dict[str, Any] | None:
        """The PIN's description (section 4.1.1), or None when the offer needs no PIN."""
        code = self.grant.get("tx_code")
        return code if isinstance(code, dict) else ({} if "tx_code" in self.grant else None)

    @property
    def configuration_id(self) -> str:
        """The configuration this wallet takes: the first the offer lists that it can hold
        (``usable_configuration``, checked when the offer is read)."""
        chosen = usable_configuration(self.configuration_ids, self.metadata)
        assert chosen is not None  # read_offer refuses an offer without one
        return chosen

    def vct(self, configuration_id: str | None = None) -> str | None:
        """The SD-JWT VC type the configuration taken issues, from the metadata."""
        config = _configuration(self.metadata, configuration_id or self.configuration_id)
        vct = None if config is None else config.get("vct")
        return vct if isinstance(vct, str) else None


def _configuration(meta: dict[str, Any], configuration_id: str) -> dict[str, Any] | None:
    supported = meta.get("credential_configurations_supported")
    config = supported.get(configuration_id) if isinstance(supported, dict) else None
    return config if isinstance(config, dict) else None


def usable_configuration(configuration_ids: Sequence[str], meta: dict[str, Any]) -> str | None:
    """The first offered configuration this wallet can hold: an SD-JWT VC (``dc+sd-jwt``, Appendix
    A.3), bound to a JWK when it names binding methods (section 12.2.4). An offer
    may list an mdoc first; taking it spent the holder's one-time code on a credential the wallet
    then refused (section 4.1.1: the code is single use; helper-67)."""
    for configuration_id in configuration_ids:
        config = _configuration(meta, configuration_id)
        if config is None or config.get("format") != "dc+sd-jwt":
            continue
        methods = config.get("cryptographic_binding_methods_supported")
        if methods is None or (isinstance(methods, list) and "jwk" in methods):
            return configuration_id
    return None


async def issuer_metadata(http: httpx.AsyncClient, issuer: str,
                          grant: dict[str, Any] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The issuer's metadata (section 12.2, identifier compared exactly) and the metadata of the
    authorization server the grant goes to (section 12.3): what an offer and a refresh need."""
    meta = await json_body(await http.get(well_known(issuer, "openid-credential-issuer")), "issuer metadata")
    if meta.get("credential_issuer") != issuer:  # exact string comparison, section 12.2.2
        raise IssuanceFailed("issuer metadata names another issuer")
    auth = await _authorization_server(http, _authorization_server_id(issuer, meta, grant or {}))
    return meta, auth


async def read_offer(http: httpx.AsyncClient, link: str) -> Offer:
    """The offer (by value, or by reference: section 4.1.3), its issuer's metadata (section
    12.2) and the metadata of the authorization server its grant goes to (section 12.3)."""
    uri, value = _offer_params(link)
    offer = await json_body(await http.get(uri), "offer") if uri is not None else _offer_by_value(value or "")
    issuer = offer.get("credential_issuer")
    configs = offer.get("credential_configuration_ids")
    grants = offer.get("grants")
    grant = (grants.get(PRE_AUTHORIZED_GRANT) if isinstance(grants, dict) else None) or {}
    if not (isinstance(issuer, str) and isinstance(configs, list) and configs
            and all(isinstance(c, str) for c in configs) and isinstance(grant, dict)
            and isinstance(grant.get("pre-authorized_code"), str)):
        raise IssuanceFailed("the offer is not a pre-authorized Credential Offer")
    meta, auth = await issuer_metadata(http, issuer, grant)
    if usable_configuration(configs, meta) is None:  # before the code is spent
        raise IssuanceFailed("the offer has no credential this wallet can hold (an SD-JWT VC, dc+sd-jwt)")
    return Offer(issuer, tuple(configs), grant, meta, auth["token_endpoint"], dpop.algorithm(auth), auth["issuer"])


def _offer_by_value(text: str) -> dict[str, Any]:
    try:
        offer = json_loads_strict(text, "credential_offer")
    except AmanaError:
        raise InvalidInput("the credential_offer in the link is not JSON") from None
    if not isinstance(offer, dict):
        raise InvalidInput("the credential_offer in the link is not a JSON object")
    return offer


def _authorization_server_id(issuer: str, meta: dict[str, Any], grant: dict[str, Any]) -> str:
    """Section 12.2.4: without ``authorization_servers`` the issuer is its own authorization
    server; with them, the grant's ``authorization_server`` (section 4.1.1) must be one of
    them, and without it the first is used."""
    servers = meta.get("authorization_servers")
    if servers is None:
        return issuer
    if not (isinstance(servers, list) and servers and all(isinstance(s, str) for s in servers)):
        raise IssuanceFailed("issuer metadata: authorization_servers is not a list of URLs")
    named = grant.get("authorization_server")
    if named is None:
        return str(servers[0])
    if named not in servers:
        raise IssuanceFailed("the offer names an authorization server the issuer does not list")
    return str(named)


async def _authorization_server(http: httpx.AsyncClient, identifier: str) -> dict[str, Any]:
    """RFC 8414 metadata, else OpenID Connect discovery (section 12.3 allows either); its
    ``issuer`` must be the identifier it was fetched for (RFC 8414 section 3.3), so metadata
    served for one server cannot send the PIN to another's token endpoint."""
    response = await http.get(well_known(identifier, "oauth-authorization-server"))
    if response.status_code == 404:
        response = await http.get(identifier.rstrip("/") + "/.well-known/openid-configuration")
    auth = await json_body(response, "authorization metadata")
    if auth.get("issuer") != identifier:
        raise IssuanceFailed("the authorization server metadata names another issuer")
    if not isinstance(auth.get("token_endpoint"), str):
        raise IssuanceFailed("the authorization server names no token endpoint")
    return auth


def _batch_size(meta: dict[str, Any]) -> int:
    """Section 8.2: no more proofs than ``batch_size``; an issuer that announces no batch
    issuance (section 12.2.4) gets one proof, and the wallet holds one copy."""
    batch = meta.get("batch_credential_issuance")
    size = batch.get("batch_size") if isinstance(batch, dict) else 1
    return size if type(size) is int and size >= 1 else 1


class Redeemed(NamedTuple):
    """A batch received, and what refreshing it later takes (wallet.refresh): the refresh token the
    issuer gave, if any (RFC 6749 section 5.1), and the DPoP key its tokens are bound to, if any
    (RFC 9449 section 5: a refresh must prove possession of it)."""

    received: list[Received]
    refresh_token: str | None
    dpop_key: keys.PrivateKey | None


async def redeem_batch(
    http: httpx.AsyncClient, offer: Offer, pin: str, *, copies: int, types: TypeRegistry, alg: keys.Alg = "ES256",
) -> Redeemed:
    """The issuer's keys, then the token (section 6, DPoP-bound when the server announces DPoP),
    then the batch. Whatever would refuse the credential is judged before the token (the keys
    among it): the code, once spent, is gone for the holder."""
    _holdable(offer, types, alg)
    published = await issuer_keys.read(http, offer.issuer)
    form = {"grant_type": PRE_AUTHORIZED_GRANT, "pre-authorized_code": offer.grant["pre-authorized_code"]}
    if offer.tx_code is not None:
        form["tx_code"] = _typed(pin, offer.tx_code)
    dpop_key = keys.generate(offer.dpop_alg) if offer.dpop_alg else None  # one per issuance: unlinkable
    nonces: dpop.Nonces = {}  # the server's DPoP nonce, carried from the token to the credential request
    token = await json_body(await dpop.post(http, offer.token_endpoint, dpop_key, data=form, nonces=nonces),
                            "token")
    dpop_bound = dpop_key is not None and str(token.get("token_type", "")).lower() == "dpop"
    access_token = token.get("access_token")
    if not isinstance(access_token, str):
        raise IssuanceFailed("the issuer gave no access token")
    configuration_id = offer.configuration_id
    received = await fetch_batch(http, offer.issuer, offer.metadata, configuration_id, access_token,
                                 copies=copies, types=types, alg=alg, dpop_key=dpop_key if dpop_bound else None,
                                 dpop_nonces=nonces, identifier=credential_request.identifier(token, configuration_id),
                                 published=published)
    refresh_token = token.get("refresh_token")
    return Redeemed(received, refresh_token if isinstance(refresh_token, str) and refresh_token else None,
                    dpop_key if dpop_bound else None)


def _holdable(offer: Offer, types: TypeRegistry | None, alg: keys.Alg) -> None:
    """What would refuse the credential once it came, refused before the code is spent: no
    credential endpoint, key proofs only in algorithms this wallet has no keys for, a type this
    wallet's registry does not know (``verify_vc_issued`` would refuse it)."""
    if not isinstance(offer.metadata.get("credential_endpoint"), str):
        raise IssuanceFailed("the issuer names no credential endpoint")
    credential_request.proof_alg(offer.metadata, offer.configuration_id, alg)
    vct = offer.vct()
    if types is not None and vct is not None:
        types.require(vct)


async def redeem(
    http: httpx.AsyncClient, offer: Offer, pin: str, *, copies: int, types: TypeRegistry, alg: keys.Alg = "ES256",
) -> list[Received]:
    """Token (section 6), ``c_nonce`` (section 7), then the batch (section 8), each copy verified."""
    return (await redeem_batch(http, offer, pin, copies=copies, types=types, alg=alg)).received


async def fetch_batch(
    http: httpx.AsyncClient, issuer: str, meta: dict[str, Any], configuration_id: str, access_token: str, *,
    copies: int, types: TypeRegistry, alg: keys.Alg = "ES256", dpop_key: keys.PrivateKey | None = None,
    dpop_nonces: dpop.Nonces | None = None, identifier: str | None = None,
    published: list[keys.PublicKey] | None = None,
) -> list[Received]:
    """With an access token: a ``c_nonce`` (section 7) when the issuer has a nonce endpoint, then
    the batch (section 8) with one fresh key per copy (no more than ``batch_size``), each copy
    verified against the issuer's keys before it is kept: ``published`` when read before the
    token, and read again once if a copy names a key they lack (a rotation in between)."""
    endpoint, nonce_endpoint = meta.get("credential_endpoint"), meta.get("nonce_endpoint")
    if not isinstance(endpoint, str):
        raise IssuanceFailed("the issuer names no credential endpoint")
    claims: dict[str, Any] = {"aud": issuer, "iat": int(time.time())}
    if nonce_endpoint is not None:  # section 7: an issuer without one does not ask for a c_nonce
        answered = await http.post(str(nonce_endpoint))
        nonce = (await json_body(answered, "nonce")).get("c_nonce")
        if not isinstance(nonce, str):
            raise IssuanceFailed("nonce: the issuer gave no c_nonce")
        claims["nonce"] = nonce
        dpop.keep_nonce(answered, str(nonce_endpoint), dpop_nonces)
    key_alg, header_alg = credential_request.proof_alg(meta, configuration_id, alg)
    holder_keys = [keys.generate(key_alg) for _ in range(min(copies, _batch_size(meta)))]
    now = claims["iat"]
    proofs = [_jose.sign_compact({"alg": header_alg, "typ": PROOF_TYP, "jwk": k.public_key().to_jwk()}, claims, k)
              for k in holder_keys]
    # Section 8.2: the Credential Dataset the token response named, else the configuration; never both.
    body: dict[str, Any] = ({"credential_identifier": identifier} if identifier is not None
                            else {"credential_configuration_id": configuration_id})
    body["proofs"] = {"jwt": proofs}
    issued = await json_body(await dpop.post(http, endpoint, dpop_key, access_token=access_token, json=body,
                                             nonces=dpop_nonces), "credential")
    read_before = published is not None
    if published is None:
        published = await issuer_keys.read(http, issuer)
    by_thumbprint = {k.public_key().thumbprint(): k for k in holder_keys}
    received = []
    entries = issued.get("credentials")
    if not isinstance(entries, list):  # a transaction_id (deferred issuance, section 9) is not supported
        raise IssuanceFailed("credential: the issuer sent no credentials (deferred issuance is not supported)")
    for entry in entries:
        credential = entry.get("credential") if isinstance(entry, dict) else None
        if not isinstance(credential, str):
            raise IssuanceFailed("credential: an entry is not an SD-JWT VC")
        try:
            verified = verify_vc_issued(credential, issuer_keys=published, now=now, types=types)
        except (UnknownIssuerKey, InvalidSignature):
            if not read_before:
                raise
            read_before, published = False, await issuer_keys.read(http, issuer)
            verified = verify_vc_issued(credential, issuer_keys=published, now=now, types=types)
        cnf = verified.verified.claims.get("cnf")
        if not (isinstance(cnf, dict) and isinstance(cnf.get("jwk"), dict)):
            raise IssuanceFailed("a credential is not bound to a holder key")
        bound = keys.PublicKey.from_jwk(cnf["jwk"]).thumbprint()
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
