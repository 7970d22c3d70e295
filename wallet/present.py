"""Answering a verifier: the wallet side of OpenID4VP 1.0 (request by reference, direct_post[.jwt]).

From an ``openid4vp://`` link: fetch the Request Object at ``request_uri`` and judge it with
``wallet.vp_request.check_request`` (signature and Client Identifier Prefix, ``client_id``
equal to the link's, response mode and URI, times, replayed nonce: its docstring lists the
rules and the OpenID4VP sections), then disclose for each DCQL Credential Query the claims
chosen (by default all it names; the consent screen's ``DisclosurePlan`` narrows that), plus
the parents SD-JWT needs, with a Key Binding JWT whose ``aud`` is the full Client Identifier
and whose ``nonce`` is the request's, and post the ``vp_token`` with ``state`` to
``response_uri`` — as a JWE to the verifier's key when it asks for ``direct_post.jwt``
(wallet/encrypted_response.py). Declining posts ``access_denied`` (§8.5).

Which credential answers which query, and whether the holder agrees, is the caller's
(the consent screen's, ``wallet.consent``) decision: ``vp_token`` takes that choice.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import httpx

from core import keys
from core.encoding import json_object_or_none
from core.errors import AmanaError, InvalidInput
from core.sdjwt import present
from core.sdjwt.paths import ClaimPath
from core.trust.model import TrustList
from wallet import encrypted_response
from wallet.request_errors import RequestMalformed, RequestRefused, RequestUnavailable, ResponseModeUnsupported
from wallet.vp_request import MAX_REQUEST, VerifiedRequest, check_request, parse_link, web_url

# The name callers have used since issue 5; the same class.
VerifierRequest = VerifiedRequest

__all__ = ["RequestRefused", "VerifiedRequest", "VerifierRequest", "answer", "decline", "fetch_request",
           "response_body", "vp_token"]


async def fetch_request(http: httpx.AsyncClient, link: str, *, now: int | None = None,
                        trust_list: TrustList | None = None, allow_unsigned: bool = False,
                        seen_nonces: Collection[str] = ()) -> VerifiedRequest:
    """Read the link, fetch its Request Object (GET, §5.10: no redirects followed) and check it.

    Raises only ``RequestRefused`` subtypes."""
    parsed = parse_link(link)
    text = parsed.request
    if parsed.request_uri is not None:
        try:
            response = await http.get(parsed.request_uri, follow_redirects=False)
        except httpx.HTTPError:
            raise RequestUnavailable("the verifier could not be reached") from None
        if response.status_code != 200:
            raise RequestUnavailable(f"the request object could not be fetched ({response.status_code})")
        if len(response.content) > MAX_REQUEST:
            raise RequestMalformed("the request object is too large")
        try:
            text = response.content.decode("ascii")
        except UnicodeDecodeError:
            raise RequestMalformed("the request object is not a compact JWS") from None
    try:
        return check_request(parsed, text, now=int(time.time()) if now is None else now, trust_list=trust_list,
                             allow_unsigned=allow_unsigned, seen_nonces=seen_nonces)
    except RequestRefused as refusal:
        if refusal.tell is not None:
            request, error = refusal.tell
            with contextlib.suppress(httpx.HTTPError, AmanaError):  # the refusal stands either way
                await post_error(http, request, error, _TOLD[error])
        raise


# The error_description each error the wallet posts on its own initiative carries (RFC 6749 section
# 4.1.2.1: ASCII, no quote or backslash); never a detail of the holder's.
_TOLD = {"invalid_request": "redirect_uri is not allowed with response_mode direct_post",
         "invalid_transaction_data": "this wallet does not support transaction_data"}


def vp_token(request: VerifiedRequest, chosen: Mapping[str, tuple[str, keys.PrivateKey]], now: int, *,
             paths: Mapping[str, Sequence[ClaimPath]] | None = None) -> str:
    """``chosen`` maps each Credential Query id to (credential, its holder key); ``paths``
    (a ``DisclosurePlan.paths()``) says which claims to disclose for each, else all it names."""
    token: dict[str, list[str]] = {}
    for query_id, (credential, holder_key) in chosen.items():
        credential_query = request.query.by_id(query_id)
        if credential_query is None:
            raise InvalidInput(f"the request has no query {query_id!r}")
        disclosed = list(paths[query_id]) if paths is not None and query_id in paths else \
            [c.path for c in credential_query.claims or ()]
        token[query_id] = [present(credential, disclosed, holder_key=holder_key, audience=request.client_id,
                                   nonce=request.nonce, now=now)]
    return json.dumps(token)


def _form(request: VerifiedRequest, data: dict[str, Any]) -> dict[str, str]:
    """The POST body: the parameters as they are (``direct_post``, §8.2), or all of them, ``state``
    included, inside one JWE in ``response`` (``direct_post.jwt``, §8.3.1)."""
    with_state = {**data, "state": request.state} if request.state else data
    if request.response_mode == "direct_post":
        return {k: v if isinstance(v, str) else json.dumps(v) for k, v in with_state.items()}
    if request.response_mode != "direct_post.jwt":
        raise ResponseModeUnsupported("only direct_post and direct_post.jwt are supported")
    encryption = encrypted_response.choose(request.payload.get("client_metadata"))
    return {"response": encrypted_response.encrypt(encryption, with_state)}


async def answer(http: httpx.AsyncClient, request: VerifiedRequest, vp: str,
                 extra: dict[str, str] | None = None) -> httpx.Response:
    """Post ``vp`` (``vp_token``'s JSON text); encrypted when the request asks for ``direct_post.jwt``,
    where the ``vp_token`` goes in as the JSON object it is (§8.3: "top-level JSON members").
    ``extra``: parameters beside it (the consent ledger's offer, wallet/ledger.py), which a
    verifier that does not know them ignores (§8.2: unknown parameters are ignored)."""
    return await http.post(request.response_uri, data=response_body(request, vp, extra), follow_redirects=False)


def response_body(request: VerifiedRequest, vp: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """What ``answer`` posts (the JWE made here, for ``direct_post.jwt``): the wallet's own work,
    which bench.verifier does before it starts the clock on the verifier's endpoint."""
    data: dict[str, Any] = {"vp_token": json.loads(vp) if request.response_mode == "direct_post.jwt" else vp,
                            **(extra or {})}
    return _form(request, data)


def redirect_uri(response: httpx.Response) -> str | None:
    """Where the verifier asks the holder's browser to go once it has the answer (§8.2: "When this
    parameter is present the Wallet MUST redirect the user agent to this URI", for an answer or an
    error alike; with a ``response_code`` it guards the verifier's session, §13.3). Only from a 200
    answer, and only a ``redirect_target``; anything else in the answer is ignored."""
    if response.status_code != 200:
        return None
    body = json_object_or_none(response.content)  # anything at all, nested past recursion included
    return redirect_target(body.get("redirect_uri")) if body is not None else None


# RFC 8252 section 7.1: an app's private-use URI scheme names a domain it controls, in reverse order.
_PRIVATE_USE_SCHEME = re.compile(r"[a-z][a-z0-9+-]*(?:\.[a-z0-9+-]+)+")


def redirect_target(value: object) -> str | None:
    """``value`` if the holder's browser may be sent there: an https URL (http on loopback), as
    ``web_url`` allows, or a verifier app's private-use URI (``com.example.verifier:/done#...``),
    whose scheme has a period by RFC 8252 section 7.1. §8.2 allows any absolute URI, and app-based
    verifiers answer with their own scheme: the wallet ignored those, and the holder's flow stalled
    there (helper-66). A scheme without a period is refused: ``javascript:``, ``data:``, ``file:``
    and the like would run or open something in the wallet's own page."""
    web = web_url(value, fragment=True)
    if web is not None or not isinstance(value, str) or len(value) > 2048 or not value.isascii():
        return web
    scheme, colon, rest = value.partition(":")
    if not colon or not rest or any(c <= " " or c == "\x7f" for c in value):
        return None
    return value if _PRIVATE_USE_SCHEME.fullmatch(scheme.lower()) else None


async def decline(http: httpx.AsyncClient, request: VerifiedRequest) -> httpx.Response:
    """The holder said no: the protocol's ``access_denied`` (§8.5), nothing else; encrypted like an
    answer when the request asks for ``direct_post.jwt`` (the verifier reads both the same way)."""
    return await post_error(http, request, "access_denied", "the holder declined")


async def post_error(http: httpx.AsyncClient, request: VerifiedRequest, error: str,
                     description: str) -> httpx.Response:
    """An Authorization Error Response (§8.5) to the Response URI: ``error``, its description and the
    request's ``state``, nothing else; encrypted as the request asks (``_form``)."""
    data: dict[str, Any] = {"error": error, "error_description": description}
    return await http.post(request.response_uri, data=_form(request, data), follow_redirects=False)
