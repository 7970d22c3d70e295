"""Property tests: whatever an openid4vp:// link or a Request Object holds, the wallet's checks
answer with a RequestRefused (a typed error with a stable code), never another exception."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from hypothesis import given, settings
from hypothesis import strategies as st

from core.encoding import b64url_json
from tests.vp_world import NOW, identity, node_request, payload, sign
from verifier.requests import Prefix
from wallet.request_errors import RequestRefused
from wallet.vp_request import check_request, parse_link

IDENT = identity()
LINKS = {p: node_request(IDENT, p) for p in Prefix}
SCALAR = st.none() | st.booleans() | st.integers() | st.text(max_size=20) | st.floats(allow_nan=False,
                                                                                 allow_infinity=False)
JSON = st.recursive(SCALAR, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                                         max_size=4), max_leaves=12)
PARAM = st.sampled_from(["client_id", "request_uri", "request", "response_type", "response_mode", "nonce",
                         "dcql_query", "client_metadata", "response_uri", "state", "x"])


def _judge(link: object, text: str | None) -> None:
    try:
        check_request(parse_link(link), text, now=NOW, allow_unsigned=True)
    except RequestRefused as exc:
        assert exc.code and exc.title
        return


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300) | st.binary(max_size=100).map(lambda b: b.decode("latin-1")))
def test_any_text_as_a_link(text: str) -> None:
    for candidate in (text, "openid4vp://?" + text, "openid4vp://" + text):
        _judge(candidate, None)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(PARAM, st.text(max_size=40), max_size=8))
def test_any_parameters_in_a_link(params: dict[str, str]) -> None:
    _judge("openid4vp://?" + urlencode(params), None)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(list(Prefix)), st.integers(min_value=0, max_value=10_000),
       st.sampled_from(["flip", "cut", "dup"]), st.characters(codec="ascii"))
def test_a_mangled_request_object(prefix: Prefix, where: int, how: str, char: str) -> None:
    link, text = LINKS[prefix]
    i = where % len(text)
    mangled = {"flip": text[:i] + char + text[i + 1:], "cut": text[:i], "dup": text + text[i:]}[how]
    _judge(link, mangled)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(list(Prefix)), st.dictionaries(st.sampled_from(
    ["client_id", "response_type", "response_mode", "nonce", "state", "dcql_query", "client_metadata", "response_uri",
     "redirect_uri", "exp", "nbf", "iat", "transaction_data", "scope"]), JSON, max_size=5))
def test_any_payload_properly_signed(prefix: Prefix, changes: dict[str, Any]) -> None:
    body = {**payload(IDENT, prefix), **changes}
    _judge(LINKS[prefix][0], sign(IDENT, prefix, body))


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(list(Prefix)), st.dictionaries(st.sampled_from(["alg", "typ", "kid", "x5c", "crit", "jwk"]),
                                                       JSON, max_size=4))
def test_any_header(prefix: Prefix, header: dict[str, Any]) -> None:
    link, text = LINKS[prefix]
    _, body, signature = text.split(".")
    _judge(link, f"{b64url_json({**IDENT.header(prefix), 'alg': 'ES256', **header})}.{body}.{signature}")
