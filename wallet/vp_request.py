"""Checking a verifier's OpenID4VP 1.0 request before the holder sees anything. Pure: ``now`` in.

Section numbers are OpenID4VP 1.0 (final); the reference copy is
/work/shared/reference/openid4vp-1_0.md. ``parse_link`` reads an ``openid4vp://`` link;
``check_request`` judges the Request Object fetched from its ``request_uri`` (or sent by
value) and returns a ``VerifiedRequest``, or raises one of ``wallet.request_errors``,
never anything else, whatever the bytes (tests/test_wallet_request_properties.py).

Rules, each with its refusal:

- ``typ`` must be ``oauth-authz-req+jwt`` (§5, "Wallets MUST NOT process" others).
- Client Identifier Prefixes (§5.9.3):
  ``x509_hash`` — the ``x5c`` leaf's SHA-256 is the identifier, its key signs;
  ``x509_san_dns`` — a ``dNSName`` SAN of the leaf equals the identifier and its key signs.
  The spec also asks the wallet to validate the certificate's trust chain; a wallet offline
  has no trust anchors, so we accept ``x509_san_dns`` only if the trust list registers a
  verifier whose id's host is that DNS name with the leaf's key among its keys (otherwise
  ``client_not_trusted``). ``x509_hash`` and ``did:jwk`` requests are accepted on their
  signature alone: *who* they are comes from the trust list on the consent screen, which
  says "unknown verifier" when no registered key matches.
  ``decentralized_identifier`` — only ``did:jwk`` (resolution is local), ``kid`` names it.
  ``redirect_uri`` — cannot be signed (§5.9.3), so it is refused unless the caller
  explicitly allows unsigned requests; then the ``response_uri`` must be the identifier.
  Every other prefix (``origin`` MUST be refused; federation, attestation) is refused.
- The link's ``client_id`` and the Request Object's are identical (§5.10.1).
- ``response_mode`` is ``direct_post`` or ``direct_post.jwt`` (§8.2, §8.3.1; for the latter
  ``client_metadata`` must offer a key and ``enc`` we can encrypt to: wallet/encrypted_response.py); with them a
  ``redirect_uri`` parameter is an error (§8.2); ``response_uri`` must be one the client
  id allows as a redirect URI (§8.2 → §5.9.3): equal to it for ``redirect_uri``, on the
  identifier's host for ``x509_san_dns`` (stricter than §5.9.3, which lets a trusted client
  choose freely: we would rather not send data to a host the trust list does not name).
  It is https, or http on loopback only (a developer's node in local mode).
- ``exp`` passed, or ``nbf`` / ``iat`` beyond ``now`` plus a minute of clock skew: refused.
- ``nonce`` (required, URL-safe characters, §5.2) already in ``seen_nonces``: a replay
  (§14.1); the caller keeps that set (in the vault) and adds the nonce when it answers.
- ``transaction_data`` is refused, as §5.1 requires of wallets that do not support it.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from core import _jose, dcql, keys
from core.encoding import json_loads_strict, numeric_date
from core.errors import AmanaError, InvalidSignature, MalformedToken, UnsupportedAlgorithm
from core.oid4vc import PRESENTATION_SCHEME, REQUEST_TYP
from core.trust.model import TrustList
from wallet import encrypted_response
from wallet.client_ids import LEEWAY_S, request_key
from wallet.request_errors import (
    ClientIdMismatch,
    ClientIdUnsupported,
    RequestExpired,
    RequestLinkMalformed,
    RequestMalformed,
    RequestNotYetValid,
    RequestQueryInvalid,
    RequestRefused,
    RequestReplayed,
    RequestSignatureInvalid,
    RequestUnavailable,
    RequestUnsigned,
    ResponseModeUnsupported,
    ResponseUriNotAllowed,
    TransactionDataUnsupported,
)

MAX_LINK = 8 * 1024
MAX_REQUEST = 64 * 1024
RESPONSE_MODES = frozenset({"direct_post", "direct_post.jwt"})
# A request object's algorithms: RFC 9864's fully-specified "Ed25519" beside the polymorphic "EdDSA",
# as the verifier announces for presentations (verifier/requests.py); the key decides which fits.
_REQUEST_ALGS = frozenset({"ES256", "EdDSA", "Ed25519"})
SIGNED_PREFIXES = frozenset({"x509_hash", "x509_san_dns", "decentralized_identifier"})
# §5.2 nonce and state: URL-safe characters. No length is set there; 4 KiB bounds what is kept
# of a nonce (wallet.content's seen_nonces) while a JWT used as state still fits (helper-66: 512 did not).
_URL_SAFE = re.compile(r"[A-Za-z0-9._~-]{1,4096}")
# RFC 7515 section 4.1.9: a typ without "/" means "application/" before it, so both name one type
# (compared without regard to case, as media types are).
_REQUEST_TYPS = frozenset({REQUEST_TYP, f"application/{REQUEST_TYP}"})
_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})


@dataclass(frozen=True, slots=True)
class RequestLink:
    """What an ``openid4vp://`` link carries: the client id and where the request is."""

    client_id: str
    request_uri: str | None
    request: str | None
    params: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class VerifiedRequest:
    """A request that passed every rule above: what the consent screen and the answer use."""

    client_id: str
    response_uri: str
    nonce: str
    state: str
    query: dcql.DcqlQuery
    payload: Mapping[str, Any]
    prefix: str = ""
    response_mode: str = "direct_post"
    signer: keys.PublicKey | None = None  # None only for an allowed unsigned redirect_uri request
    checked_at: int = 0

    @property
    def identifier(self) -> str:
        """The Client Identifier without its prefix (a hash, DNS name, DID or URL)."""
        return self.client_id.partition(":")[2]


def web_url(value: object, *, fragment: bool = False) -> str | None:
    """``value`` if it is an https URL (http only on loopback) without user info, and without a
    fragment unless ``fragment`` (a ``redirect_uri`` may carry its ``response_code`` there, §13.3)."""
    if not isinstance(value, str) or len(value) > 2048:
        return None
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:
        return None
    if (not host or (parts.fragment and not fragment) or parts.username is not None or not value.isascii()
            or any(c <= " " or c == "\x7f" for c in value)):  # no space or control character (a terminal's escapes)
        return None
    if parts.scheme == "https" or (parts.scheme == "http" and host in _LOOPBACK):
        return value
    return None


def parse_link(link: object) -> RequestLink:
    """An ``openid4vp://`` link (§13.1.2), or an https one with the same query ("Wallet Invocation"):
    ``client_id`` with ``request_uri`` or ``request``,
    or (for an unsigned request) the parameters themselves. Repeated parameters are refused."""
    if not isinstance(link, str) or len(link) > MAX_LINK:
        raise RequestLinkMalformed("not an openid4vp:// link")
    # Or the verifier's https page with the same parameters ("Wallet Invocation": a wallet may be invoked by a
    # URL, and a QR may carry it for "a Wallet or an arbitrary camera application").
    by_url = not link.startswith(PRESENTATION_SCHEME)
    if by_url and web_url(link.partition("?")[0]) is None:
        raise RequestLinkMalformed("not an openid4vp:// link, nor an https link carrying its parameters")
    try:
        query = urlsplit(link).query
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query), errors="strict")
    except (ValueError, UnicodeError):
        raise RequestLinkMalformed("the link's parameters cannot be read") from None
    params = dict(pairs)
    if len(params) != len(pairs):
        raise RequestLinkMalformed("a parameter appears twice in the link")
    client_id, request_uri, request = params.get("client_id"), params.get("request_uri"), params.get("request")
    if not client_id:
        raise RequestLinkMalformed("the link names no client_id")
    if request_uri is not None and request is not None:
        raise RequestLinkMalformed("the link carries both request and request_uri")
    if by_url and request_uri is None:  # a page's address names its request by reference, signed
        raise RequestLinkMalformed("an https link must name its request_uri")
    if request_uri is not None and web_url(request_uri) is None:
        raise RequestLinkMalformed("request_uri must be an https URL")
    method = params.get("request_uri_method")  # §5.1: get or post; this wallet GETs either way (§5.10)
    if method is not None and (request_uri is None or method not in ("get", "post")):
        raise RequestLinkMalformed("request_uri_method must be get or post, and only beside a request_uri "
                                   "(§5.1; the verifier's error would be invalid_request_uri_method)")
    return RequestLink(client_id, request_uri, request, params)


def check_request(link: RequestLink, request_object: str | None, *, now: int, trust_list: TrustList | None = None,
                  allow_unsigned: bool = False, seen_nonces: Collection[str] = ()) -> VerifiedRequest:
    """Judge a request: ``request_object`` is what ``request_uri`` returned, else ``link.request``."""
    prefix = link.client_id.partition(":")[0] if ":" in link.client_id else ""
    if prefix == "redirect_uri":
        if not allow_unsigned:
            raise RequestUnsigned("redirect_uri requests cannot be signed (§5.9.3); refused unless allowed")
    elif prefix not in SIGNED_PREFIXES:
        raise ClientIdUnsupported("supported prefixes: x509_hash, x509_san_dns, decentralized_identifier (did:jwk)")
    text = request_object if request_object is not None else link.request
    if text is None and link.request_uri is not None:
        raise RequestUnavailable("the request object was not fetched")
    signer: keys.PublicKey | None = None
    if text is None:
        payload = _by_value(link.params)
    else:
        payload, signer = _verify_object(text, link.client_id, prefix, now, trust_list)
    if signer is None and prefix != "redirect_uri":
        raise RequestUnsigned("this client identifier requires a signed request")
    return _check_payload(link.client_id, prefix, payload, signer, now, seen_nonces)


def _by_value(params: Mapping[str, str]) -> dict[str, Any]:
    """An unsigned request sent in the link: objects are JSON strings (§5.1)."""
    payload: dict[str, Any] = dict(params)
    for name in ("dcql_query", "client_metadata"):
        if name in payload:
            try:
                payload[name] = json_loads_strict(payload[name], name)
            except AmanaError:
                raise RequestMalformed(f"{name} is not JSON") from None
    return payload


def _verify_object(text: str, client_id: str, prefix: str, now: int,
                   trust_list: TrustList | None) -> tuple[dict[str, Any], keys.PublicKey | None]:
    if len(text) > MAX_REQUEST:
        raise RequestMalformed("the request object is too large")
    try:
        jws = _jose.parse_compact(text.strip(), "request object")
    except MalformedToken as exc:
        raise RequestMalformed(exc.detail) from None
    header = jws.unverified_header
    typ = header.get("typ")
    if not isinstance(typ, str) or typ.lower() not in _REQUEST_TYPS:
        raise RequestMalformed("request objects are typed oauth-authz-req+jwt (§5)")
    if header.get("alg") == "none" and prefix == "redirect_uri":
        return _payload(jws), None  # allowed by the caller, checked in check_request
    if prefix == "redirect_uri":
        raise RequestMalformed("redirect_uri requests cannot be signed (§5.9.3)")
    try:
        alg = _jose.check_header(header, _REQUEST_ALGS, "request object")
    except UnsupportedAlgorithm as exc:
        raise (RequestUnsigned if header.get("alg") == "none" else RequestSignatureInvalid)(exc.detail) from None
    except AmanaError as exc:
        raise RequestMalformed(exc.detail) from None
    key = request_key(header, client_id, prefix, now, trust_list)
    try:
        _jose.verify_with(jws, key, alg, "request object")
    except (InvalidSignature, UnsupportedAlgorithm) as exc:
        raise RequestSignatureInvalid(exc.detail) from None
    return _payload(jws), key


def _payload(jws: _jose.CompactJWS) -> dict[str, Any]:
    try:
        return jws.unverified_payload()
    except AmanaError as exc:
        raise RequestMalformed(exc.detail) from None


def _check_payload(client_id: str, prefix: str, payload: Mapping[str, Any], signer: keys.PublicKey | None, now: int,
                   seen_nonces: Collection[str]) -> VerifiedRequest:
    if payload.get("client_id") != client_id:
        raise ClientIdMismatch("the request object names another client_id than the link (§5.10.1)")
    if payload.get("response_type") != "vp_token":
        raise ResponseModeUnsupported("only response_type vp_token is supported")
    mode = payload.get("response_mode")
    if not isinstance(mode, str) or mode not in RESPONSE_MODES:
        raise ResponseModeUnsupported("only direct_post and direct_post.jwt are supported")
    _check_times(payload, now)
    nonce, state = payload.get("nonce"), payload.get("state", "")
    if not isinstance(nonce, str) or not _URL_SAFE.fullmatch(nonce):
        raise RequestMalformed("nonce is required, in URL-safe characters (§5.2)")
    if not isinstance(state, str) or (state and not _URL_SAFE.fullmatch(state)):
        raise RequestMalformed("state must be URL-safe characters (§5.2)")
    if nonce in seen_nonces:
        raise RequestReplayed("this wallet has already seen this request's nonce")
    # Only a request fresh, well formed and never seen is answered with an error: an old or replayed
    # one must not make the wallet post anything (anyone may sign a did:jwk or x509_hash request).
    if "transaction_data" in payload:  # §5.1: "The Wallet MUST return an error" (§8.5: invalid_transaction_data)
        raise _told(TransactionDataUnsupported("transaction_data is not supported (§5.1)"),
                    _answerable(client_id, prefix, payload, str(mode), signer, now), "invalid_transaction_data")
    if "redirect_uri" in payload:  # §8.2: "the Wallet MUST return an invalid_request Authorization Response error"
        raise _told(ResponseUriNotAllowed("redirect_uri must not be present with direct_post (§8.2)"),
                    _answerable(client_id, prefix, payload, str(mode), signer, now), "invalid_request")
    response_uri = _response_uri(client_id, prefix, payload)
    if "dcql_query" not in payload:
        raise RequestQueryInvalid("only DCQL queries (dcql_query) are supported, not scope")
    # §5.1 says one of dcql_query and scope, "but not both". No scope here names a DCQL query for
    # this wallet, so one beside dcql_query (a SIOPv2 "openid", say) is ignored when it is what
    # RFC 6749 §3.3 allows, and refused when it is not even that (reachable, not careless).
    if "scope" in payload and not _is_scope(payload["scope"]):
        raise RequestMalformed("scope must be space-separated RFC 6749 scope tokens (§3.3)")
    try:
        query = dcql.parse(payload["dcql_query"], other_formats=True)  # another format: no card answers it
    except AmanaError as exc:
        raise RequestQueryInvalid(exc.detail) from None
    if not isinstance(payload.get("client_metadata", {}), dict):
        raise RequestMalformed("client_metadata must be an object")
    if mode == "direct_post.jwt":  # refused now, not after the holder agreed, if we cannot encrypt to it
        encrypted_response.choose(payload.get("client_metadata"))
    return VerifiedRequest(client_id, response_uri, nonce, state, query, payload, prefix, str(mode), signer, now)


_SCOPE = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+( [\x21\x23-\x5b\x5d-\x7e]+)*")  # RFC 6749 §3.3


def _is_scope(value: object) -> bool:
    return isinstance(value, str) and len(value) <= 4096 and _SCOPE.fullmatch(value) is not None


def _told(refusal: RequestRefused, answerable: VerifiedRequest | None, error: str) -> RequestRefused:
    """``refusal``, to be posted to the verifier as ``error`` when the request says where (§8.5)."""
    if answerable is not None:
        refusal.tell = (answerable, error)
    return refusal


def _answerable(client_id: str, prefix: str, payload: Mapping[str, Any], mode: str, signer: keys.PublicKey | None,
                now: int) -> VerifiedRequest | None:
    """Where and how an error about this request may be posted: only for a signed request, to the
    ``response_uri`` the rules above allow, with a well-formed ``state``, encrypted as the request
    asks; None when any of that fails (the verifier is then not told). A signature proves no more
    than the client id's own prefix does (anyone may make a did:jwk), so the post may go to any
    public address the request names: what it carries is the error and the request's own state."""
    state = payload.get("state", "")
    if signer is None or not isinstance(state, str) or (state and not _URL_SAFE.fullmatch(state)):
        return None
    try:
        response_uri = _response_uri(client_id, prefix, {k: v for k, v in payload.items() if k != "redirect_uri"})
        if mode == "direct_post.jwt":
            encrypted_response.choose(payload.get("client_metadata"))
    except AmanaError:
        return None
    return VerifiedRequest(client_id, response_uri, "", state, dcql.DcqlQuery(()), payload, prefix, mode, signer, now)


def _check_times(payload: Mapping[str, Any], now: int) -> None:
    times = {name: payload.get(name) for name in ("exp", "nbf", "iat")}
    if any(v is not None and not numeric_date(v) for v in times.values()):  # RFC 7519: fractions too
        raise RequestMalformed("exp, nbf and iat must be NumericDates")
    exp, nbf, iat = times["exp"], times["nbf"], times["iat"]
    if exp is not None and now >= exp:
        raise RequestExpired("the request has expired")
    if (nbf is not None and nbf > now + LEEWAY_S) or (iat is not None and iat > now + LEEWAY_S):
        raise RequestNotYetValid("the request is not valid yet (nbf or iat in the future)")


def _response_uri(client_id: str, prefix: str, payload: Mapping[str, Any]) -> str:
    if "redirect_uri" in payload:
        raise ResponseUriNotAllowed("redirect_uri must not be present with direct_post (§8.2)")
    identifier = client_id.partition(":")[2]
    uri = payload.get("response_uri", identifier if prefix == "redirect_uri" else None)
    checked = web_url(uri)
    if checked is None:
        raise ResponseUriNotAllowed("response_uri must be an https URL")
    if prefix == "redirect_uri" and checked != identifier:
        raise ResponseUriNotAllowed("with redirect_uri, the response_uri is the client identifier (§5.9.3)")
    if prefix == "x509_san_dns" and (urlsplit(checked).hostname or "") != identifier.lower():
        raise ResponseUriNotAllowed("the response_uri is not on the verifier's DNS name (§5.9.3)")
    return checked
