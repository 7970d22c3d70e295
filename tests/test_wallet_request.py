"""The wallet's request checks (wallet/vp_request.py, OpenID4VP 1.0): every rule, with requests the
node's own verifier code signs (tests/vp_world.py) and hand-made negative ones re-signed with real keys."""

from __future__ import annotations

import asyncio
import base64
import datetime
import hashlib
import json
from typing import Any
from urllib.parse import parse_qs, urlencode

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from core import keys
from core.encoding import b64url_encode
from core.trust.model import TrustList
from tests import craft
from tests.vp_world import (
    NOW,
    REQUEST_URI,
    RESPONSE_URI,
    VERIFIER_ID,
    identity,
    node_request,
    payload,
    query,
    registration,
    san_certificate,
    sign,
    trust_list,
)
from verifier.requests import Prefix, wallet_link
from wallet import present
from wallet import request_errors as errors
from wallet.client_ids import request_key
from wallet.vp_request import VerifiedRequest, check_request, parse_link

IDENT = identity()
ENCRYPTED_METADATA = {"jwks": {"keys": [{**keys.generate("ES256").public_key().to_jwk(), "use": "enc", "alg": "ECDH-ES",
                                         "kid": "e1"}]}}


def check(link: str, text: str | None, **kw: Any) -> VerifiedRequest:
    return check_request(parse_link(link), text, now=kw.pop("now", NOW), **kw)


@pytest.mark.parametrize("prefix", list(Prefix))
def test_the_nodes_own_requests_pass(prefix: Prefix) -> None:
    link, text = node_request(IDENT, prefix)
    request = check(link, text)
    assert request.client_id == IDENT.client_id(prefix) and request.prefix == prefix.value
    assert request.response_uri == RESPONSE_URI and request.nonce == "n-0S6_WzA2Mj" and request.state == "st-1"
    signer = IDENT.signing_key(prefix).public_key()
    assert request.signer is not None and request.signer.thumbprint() == signer.thumbprint()
    assert request.query.credentials[0].id == "skill" and request.checked_at == NOW


def _resigned(prefix: Prefix = Prefix.X509_HASH, header: dict[str, Any] | None = None,
              **changes: Any) -> tuple[str, str]:
    text = sign(IDENT, prefix, payload(IDENT, prefix, **changes), header)
    return wallet_link(IDENT.client_id(prefix), REQUEST_URI), text


@pytest.mark.parametrize(("changes", "error"), [
    ({"exp": NOW - 1}, errors.RequestExpired),
    ({"exp": NOW}, errors.RequestExpired),
    ({"nbf": NOW + 600}, errors.RequestNotYetValid),
    ({"iat": NOW + 600}, errors.RequestNotYetValid),
    ({"exp": "soon"}, errors.RequestMalformed),
    ({"exp": True}, errors.RequestMalformed),
    ({"response_mode": "fragment"}, errors.ResponseModeUnsupported),
    ({"response_mode": None}, errors.ResponseModeUnsupported),
    ({"response_type": "code"}, errors.ResponseModeUnsupported),
    ({"redirect_uri": "https://verifier.example/cb"}, errors.ResponseUriNotAllowed),
    ({"response_uri": "http://verifier.example/resp"}, errors.ResponseUriNotAllowed),
    ({"response_uri": "https://verifier.example/resp#frag"}, errors.ResponseUriNotAllowed),
    ({"response_uri": None}, errors.ResponseUriNotAllowed),
    ({"client_id": "x509_hash:someone-else"}, errors.ClientIdMismatch),
    ({"nonce": None}, errors.RequestMalformed),
    ({"nonce": "has space"}, errors.RequestMalformed),
    ({"state": "a/b"}, errors.RequestMalformed),
    ({"state": "a" * 4097}, errors.RequestMalformed),
    ({"transaction_data": ["e30"]}, errors.TransactionDataUnsupported),
    ({"dcql_query": None, "scope": "x"}, errors.RequestQueryInvalid),
    ({"dcql_query": {"credentials": []}}, errors.RequestQueryInvalid),
    ({"scope": ["openid"]}, errors.RequestMalformed),  # beside dcql_query: RFC 6749 §3.3 tokens or nothing
    ({"scope": ""}, errors.RequestMalformed),
    ({"scope": "openid  profile"}, errors.RequestMalformed),
    ({"scope": 'open"id'}, errors.RequestMalformed),
    ({"client_metadata": "x"}, errors.RequestMalformed),
])
def test_each_payload_rule_refuses(changes: dict[str, Any], error: type[errors.RequestRefused]) -> None:
    with pytest.raises(error):
        check(*_resigned(**changes))


@pytest.mark.parametrize("scope", ["openid", "openid com.example.id_presentation"])
def test_a_well_formed_scope_beside_dcql_query_is_ignored(scope: str) -> None:
    assert check(*_resigned(scope=scope)).query == check(*_resigned()).query


def test_within_the_clock_skew_and_encrypted_response_mode_pass() -> None:
    assert check(*_resigned(nbf=NOW + 30, iat=NOW + 30)).nonce
    encrypted = check(*_resigned(response_mode="direct_post.jwt", client_metadata=ENCRYPTED_METADATA))
    assert encrypted.response_mode == "direct_post.jwt"
    assert check(*_resigned(state=None)).state == ""
    assert check(*_resigned(exp=NOW + 600.5, iat=NOW - 0.25)).nonce  # NumericDates may be fractions (RFC 7519)
    assert check(*_resigned(response_uri="http://127.0.0.1:8000/resp")).response_uri.startswith("http://127.0.0.1")
    # RFC 7515 section 4.1.9: the same type with its "application/" (helper-66: refused)
    assert check(*_resigned(header={"typ": "application/oauth-authz-req+jwt"})).nonce
    assert check(*_resigned(header={"typ": "Application/OAuth-Authz-Req+JWT"})).nonce
    jwt_state = "eyJhbGciOiJFUzI1NiJ9." + "e" * 900 + ".sig"  # a JWT used as state (helper-66: over 512 refused)
    assert check(*_resigned(state=jwt_state)).state == jwt_state
    for method in ("get", "post"):  # this wallet GETs either way (§5.10)
        assert parse_link(f"openid4vp://?client_id=a&request_uri={REQUEST_URI}&request_uri_method={method}")


def test_a_replayed_nonce_is_refused_and_a_fresh_one_passes() -> None:
    link, text = node_request(IDENT, Prefix.X509_HASH)
    with pytest.raises(errors.RequestReplayed):
        check(link, text, seen_nonces={"n-0S6_WzA2Mj"})
    assert check(link, text, seen_nonces={"another"}).nonce == "n-0S6_WzA2Mj"


@pytest.mark.parametrize("prefix", list(Prefix))
def test_signature_and_key_rules(prefix: Prefix) -> None:
    link, text = node_request(IDENT, prefix)
    head, body, sig = text.split(".")
    with pytest.raises(errors.RequestSignatureInvalid):
        check(link, f"{head}.{body}.{sig[:-4]}AAAA")
    with pytest.raises(errors.RequestSignatureInvalid):  # signed by another key of the same kind
        check(link, sign(IDENT, prefix, payload(IDENT, prefix), key=keys.generate(IDENT.signing_key(prefix).alg)))
    with pytest.raises(errors.RequestMalformed):
        check(link, sign(IDENT, prefix, payload(IDENT, prefix), header={"typ": "JWT"}))
    with pytest.raises(errors.RequestUnsigned):
        check(link, craft.unsigned({"alg": "none", **IDENT.header(prefix)}, payload(IDENT, prefix)))
    with pytest.raises(errors.RequestSignatureInvalid):
        check(link, craft.unsigned({"alg": "HS256", **IDENT.header(prefix)}, payload(IDENT, prefix), b"x" * 32))
    with pytest.raises(errors.ClientIdMismatch):  # the link names another verifier than the object
        check(wallet_link(identity().client_id(prefix), REQUEST_URI), text)


def test_a_request_signed_under_rfc_9864s_name_for_ed25519_is_read() -> None:
    """A verifier may name its Ed25519 signature "Ed25519" (RFC 9864) rather than "EdDSA"; the key
    decides what fits: the same name on a P-256 key is refused."""
    assert check(*_resigned(Prefix.DID, header={"alg": "Ed25519"})).prefix == "decentralized_identifier"
    with pytest.raises(errors.RequestSignatureInvalid):
        check(*_resigned(Prefix.X509_HASH, header={"alg": "Ed25519"}))


def test_x509_hash_must_be_the_certificates_and_did_kid_must_name_the_did() -> None:
    other = identity()
    with pytest.raises(errors.ClientIdMismatch):
        check(wallet_link(IDENT.client_id(Prefix.X509_HASH), REQUEST_URI),
              sign(other, Prefix.X509_HASH, payload(IDENT, Prefix.X509_HASH)))
    with pytest.raises(errors.ClientIdMismatch):
        check(*_resigned(Prefix.DID, header={"kid": "did:jwk:other#0"}))
    with pytest.raises(errors.ClientIdMismatch):
        check(*_resigned(Prefix.X509_HASH, header={"x5c": None}))


@pytest.mark.parametrize("client_id", ["origin:https://verifier.example", "openid_federation:https://verifier.example",
                                       "verifier_attestation:verifier.example", "plain-client",
                                       "decentralized_identifier:did:web:verifier.example"])
def test_unsupported_prefixes_are_refused(client_id: str) -> None:
    body = payload(IDENT, Prefix.X509_HASH, client_id=client_id)
    with pytest.raises(errors.ClientIdUnsupported):
        check(wallet_link(client_id, REQUEST_URI), sign(IDENT, Prefix.X509_HASH, body))


def _unsigned_link(client_id: str, **params: str) -> str:
    base = {"client_id": client_id, "response_type": "vp_token", "response_mode": "direct_post",
            "nonce": "n-1", "dcql_query": '{"credentials":[{"id":"s","format":"dc+sd-jwt",'
                                          '"meta":{"vct_values":["urn:amana:credential:SkillCertificate:1"]}}]}'}
    return "openid4vp://?" + urlencode({**base, **params})


def test_unsigned_redirect_uri_requests_only_when_the_caller_allows() -> None:
    client_id = "redirect_uri:https://verifier.example/cb"
    link = _unsigned_link(client_id)
    with pytest.raises(errors.RequestUnsigned):
        check(link, None)
    allowed = check(link, None, allow_unsigned=True)
    assert allowed.signer is None and allowed.response_uri == "https://verifier.example/cb"
    with pytest.raises(errors.ResponseUriNotAllowed):  # §5.9.3: the response URI is the client id
        check(_unsigned_link(client_id, response_uri="https://elsewhere.example/cb"), None, allow_unsigned=True)
    with pytest.raises(errors.RequestUnsigned):  # a signed prefix sent by value is unsigned
        check(_unsigned_link(IDENT.client_id(Prefix.X509_HASH)), None, allow_unsigned=True)
    with pytest.raises(errors.RequestMalformed):  # redirect_uri requests cannot be signed
        check(wallet_link(client_id, REQUEST_URI), sign(IDENT, Prefix.X509_HASH, payload(IDENT, Prefix.X509_HASH,
                                                                                          client_id=client_id)),
              allow_unsigned=True)


def _san_request(dns: str, san: list[str], *, key: keys.PrivateKey | None = None,
                 response_uri: str = "https://verifier.example/resp", **kw: Any) -> tuple[str, str, keys.PrivateKey]:
    key = key or keys.generate("ES256")
    der = san_certificate(key, san, **kw)
    client_id = f"x509_san_dns:{dns}"
    body = payload(IDENT, Prefix.X509_HASH, client_id=client_id, response_uri=response_uri)
    text = sign(IDENT, Prefix.X509_HASH, body, header={"x5c": [base64.b64encode(der).decode()]}, key=key)
    return wallet_link(client_id, REQUEST_URI), text, key


def _listing(key: keys.PrivateKey, verifier_id: str = VERIFIER_ID) -> TrustList:
    return trust_list((verifier_id, [key.public_key()], [registration()]))


def test_x509_san_dns_needs_the_san_and_a_trust_list_entry_with_that_key() -> None:
    link, text, key = _san_request("verifier.example", ["verifier.example"])
    assert check(link, text, trust_list=_listing(key)).prefix == "x509_san_dns"
    with pytest.raises(errors.ClientNotTrusted):  # no trust anchor offline: the trust list is the anchor
        check(link, text)
    with pytest.raises(errors.ClientNotTrusted):  # registered, but with another key
        check(link, text, trust_list=_listing(keys.generate("ES256")))
    with pytest.raises(errors.ClientNotTrusted):  # this key, but registered under another host
        check(link, text, trust_list=_listing(key, "https://other.example/v"))
    link, text, key = _san_request("verifier.example", ["other.example"])
    with pytest.raises(errors.ClientIdMismatch):
        check(link, text, trust_list=_listing(key))
    link, text, key = _san_request("verifier.example", ["verifier.example"], response_uri="https://evil.example/r")
    with pytest.raises(errors.ResponseUriNotAllowed):
        check(link, text, trust_list=_listing(key))
    link, text, key = _san_request("verifier.example", ["verifier.example"], now=NOW - 90 * 86400)
    with pytest.raises(errors.ClientNotTrusted):  # the certificate has expired
        check(link, text, trust_list=_listing(key))


@pytest.mark.parametrize("link", ["https://verifier.example/?client_id=x", "openid4vp://?request_uri=" + REQUEST_URI,
                                  f"http://verifier.example/verifier/ask?client_id=a&request_uri={REQUEST_URI}",
                                  f"https://verifier.example/ask?client_id=a&request={REQUEST_URI}",
                                  f"https://u@verifier.example/ask?client_id=a&request_uri={REQUEST_URI}",
                                  f"verifier.example/ask?client_id=a&request_uri={REQUEST_URI}",
                                  f"openid4vp://?client_id=a&client_id=b&request_uri={REQUEST_URI}",
                                  "openid4vp://?client_id=a&request_uri=ftp://x/y",
                                  "openid4vp://?client_id=a&request_uri=http://verifier.example/r",
                                  f"openid4vp://?client_id=a&request_uri={REQUEST_URI}&request=x.y.z",
                                  # §5.1: request_uri_method is get or post (case-sensitive), beside a request_uri
                                  f"openid4vp://?client_id=a&request_uri={REQUEST_URI}&request_uri_method=put",
                                  f"openid4vp://?client_id=a&request_uri={REQUEST_URI}&request_uri_method=POST",
                                  "openid4vp://?client_id=a&request=x.y.z&request_uri_method=get"])
def test_malformed_links_are_refused(link: str) -> None:
    with pytest.raises(errors.RequestLinkMalformed):
        parse_link(link)


def test_a_desks_https_link_reads_as_its_openid4vp_link() -> None:
    """OpenID4VP "Wallet Invocation": the desk's QR carries an https page with the same query."""
    by_scheme = parse_link(f"openid4vp://?client_id=x509_hash:abc&request_uri={REQUEST_URI}")
    by_page = parse_link(f"https://verifier.example/verifier/ask?client_id=x509_hash:abc&request_uri={REQUEST_URI}")
    assert (by_page.client_id, by_page.request_uri) == (by_scheme.client_id, by_scheme.request_uri)


def test_error_codes_are_distinct_and_titles_plain() -> None:
    assert len(set(errors.CODES)) == len(errors.CODES) == 18
    assert all("§" not in cls.title for cls in (errors.RequestExpired, errors.ClientNotTrusted))


def _transport(text: str, status: int = 200, posted: list[dict[str, list[str]]] | None = None) -> httpx.AsyncClient:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            assert posted is not None
            posted.append(parse_qs(request.content.decode()))
            return httpx.Response(200, json={})
        return httpx.Response(status, text=text)

    return httpx.AsyncClient(transport=httpx.MockTransport(handle))


def _fetch(link: str, client: httpx.AsyncClient, **kw: Any) -> VerifiedRequest:
    async def go() -> VerifiedRequest:
        async with client:
            return await present.fetch_request(client, link, **kw)

    return asyncio.run(go())


def test_fetch_request_applies_the_rules_and_reports_an_unreachable_request() -> None:
    link, text = node_request(IDENT, Prefix.DID)
    assert _fetch(link, _transport(text), now=NOW).client_id == IDENT.client_id(Prefix.DID)
    with pytest.raises(errors.RequestUnavailable):
        _fetch(link, _transport("gone", 404), now=NOW)

    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(errors.RequestUnavailable):
        _fetch(link, httpx.AsyncClient(transport=httpx.MockTransport(unreachable)), now=NOW)
    with pytest.raises(errors.RequestReplayed):
        _fetch(link, _transport(text), now=NOW, seen_nonces=["n-0S6_WzA2Mj"])
    nbf_link, nbf_text = _resigned(Prefix.X509_HASH, nbf=NOW + 3600)
    with pytest.raises(errors.RequestNotYetValid):
        _fetch(nbf_link, _transport(nbf_text), now=NOW)


def test_decline_posts_access_denied_with_state_and_encrypted_answers_are_encrypted() -> None:
    link, text = node_request(IDENT, Prefix.X509_HASH)
    posted: list[dict[str, list[str]]] = []

    async def go() -> None:
        async with _transport(text, posted=posted) as http:
            request = await present.fetch_request(http, link, now=NOW)
            await present.decline(http, request)
            jwt_request = check(*_resigned(response_mode="direct_post.jwt", client_metadata=ENCRYPTED_METADATA))
            await present.answer(http, jwt_request, "{}")  # tests/test_wallet_encrypted_response.py decrypts it

    asyncio.run(go())
    assert posted[0] == {"error": ["access_denied"], "error_description": ["the holder declined"], "state": ["st-1"]}
    assert list(posted[1]) == ["response"] and posted[1]["response"][0].count(".") == 4



@pytest.mark.parametrize(("changes", "refusal", "error"), [
    ({"transaction_data": ["e30"]}, errors.TransactionDataUnsupported, "invalid_transaction_data"),  # §5.1
    ({"redirect_uri": "https://verifier.example/cb"}, errors.ResponseUriNotAllowed, "invalid_request"),  # §8.2
])
def test_a_signed_request_the_wallet_must_refuse_is_answered_with_the_protocols_error(
        changes: dict[str, Any], refusal: type[errors.RequestRefused], error: str) -> None:
    """OpenID4VP 1.0: the wallet "MUST return an error" for transaction_data it does not support (5.1)
    and an invalid_request error for a direct_post request with redirect_uri (8.2): posted to the
    Response URI with the request's state (encrypted when the request asks for direct_post.jwt), and
    the holder is told as before. An unsigned request is never answered: it could send the wallet's
    post anywhere."""
    posted: list[dict[str, list[str]]] = []
    with pytest.raises(refusal):
        _fetch(*_signed_link(changes, posted), now=NOW)
    assert posted == [{"error": [error], "error_description": [present._TOLD[error]], "state": ["st-1"]}]
    encrypted: list[dict[str, list[str]]] = []
    with pytest.raises(refusal):
        _fetch(*_signed_link({**changes, "response_mode": "direct_post.jwt", "client_metadata": ENCRYPTED_METADATA},
                             encrypted), now=NOW)
    assert list(encrypted[0]) == ["response"] and encrypted[0]["response"][0].count(".") == 4
    quiet: list[dict[str, list[str]]] = []
    with pytest.raises(errors.RequestReplayed):  # a replayed or old request: the verifier is not told,
        _fetch(*_signed_link(changes, quiet), now=NOW, seen_nonces=["n-0S6_WzA2Mj"])  # (anyone may sign one)
    with pytest.raises(errors.RequestExpired):
        _fetch(*_signed_link({**changes, "exp": NOW - 1}, quiet), now=NOW)
    assert quiet == []


def test_an_unsigned_request_the_wallet_refuses_is_never_answered() -> None:
    posted: list[dict[str, list[str]]] = []
    base = {"response_type": "vp_token", "response_mode": "direct_post", "nonce": "n-0123456789abcdef",
            "state": "st-1", "dcql_query": json.dumps(query("skill-check")["dcql_query"]),
            "transaction_data": json.dumps(["e30"])}
    link = "openid4vp://?" + urlencode({"client_id": "redirect_uri:https://verifier.example/resp", **base})
    with pytest.raises(errors.TransactionDataUnsupported):
        _fetch(link, _transport("", posted=posted), now=NOW, allow_unsigned=True)
    assert posted == []


def _signed_link(changes: dict[str, Any], posted: list[dict[str, list[str]]]) -> tuple[str, httpx.AsyncClient]:
    link, text = _resigned(**changes)
    return link, _transport(text, posted=posted)


def test_a_certificate_read_once_is_still_judged_at_every_request_time() -> None:
    """The wallet keeps a verifier's certificate as read (its key parsed once, issue 15), never as
    accepted: its validity period is judged again at each ``now``, and a refusal is not kept."""
    key = keys.generate("ES256")
    der = san_certificate(key, ["verifier.example"], days=30)
    header = {"x5c": [base64.b64encode(der).decode()]}
    client_id = "x509_hash:" + b64url_encode(hashlib.sha256(der).digest())
    for _ in range(2):
        assert request_key(header, client_id, "x509_hash", NOW, None).thumbprint() == key.public_key().thumbprint()
        with pytest.raises(errors.ClientNotTrusted):  # the same bytes, a month on: expired
            request_key(header, client_id, "x509_hash", NOW + 31 * 86400, None)
        with pytest.raises(errors.ClientNotTrusted):  # and before it began
            request_key(header, client_id, "x509_hash", NOW - 86400, None)
    damaged = {"x5c": [base64.b64encode(der[:-9]).decode()]}
    for _ in range(2):
        with pytest.raises(errors.RequestMalformed):
            request_key(damaged, client_id, "x509_hash", NOW, None)


def test_a_certificate_with_an_unknown_version_is_refused_as_malformed() -> None:
    """X.509 versions are 1-3 (INTEGER 0-2); cryptography refuses any other with ``InvalidVersion``,
    which is no ``ValueError``: it reached the wallet's caller as an untyped exception (found by
    tests/test_wallet_request_properties.py's mangled request objects on a fresh clone)."""
    der = san_certificate(keys.generate("ES256"), ["verifier.example"], days=30)
    v3 = bytes.fromhex("a003020102")  # [0] EXPLICIT Version ::= INTEGER 2 (v3)
    assert der.count(v3) == 1
    mangled = der.replace(v3, bytes.fromhex("a003020177"))  # INTEGER 119
    header = {"x5c": [base64.b64encode(mangled).decode()]}
    client_id = "x509_hash:" + b64url_encode(hashlib.sha256(mangled).digest())
    with pytest.raises(errors.RequestMalformed):
        request_key(header, client_id, "x509_hash", NOW, None)


def test_an_expired_certificate_is_refused_as_expired_before_its_key_is_judged() -> None:
    """The validity period first, then the key (a P-384 one is not accepted): the reason a desk's
    clerk reads is the certificate's age, whichever of the two readings was kept from before."""
    p384 = ec.generate_private_key(ec.SECP384R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "verifier")])
    start = datetime.datetime.fromtimestamp(NOW - 90 * 86400, tz=datetime.UTC)
    der = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(p384.public_key())
           .serial_number(x509.random_serial_number()).not_valid_before(start)
           .not_valid_after(start + datetime.timedelta(days=30))
           .sign(p384, hashes.SHA256()).public_bytes(serialization.Encoding.DER))
    header = {"x5c": [base64.b64encode(der).decode()]}
    client_id = "x509_hash:" + b64url_encode(hashlib.sha256(der).digest())
    with pytest.raises(errors.RequestSignatureInvalid):  # within its period: the key is what fails
        request_key(header, client_id, "x509_hash", NOW - 80 * 86400, None)
    with pytest.raises(errors.ClientNotTrusted):  # expired, the key already read once: still "expired"
        request_key(header, client_id, "x509_hash", NOW, None)


@pytest.mark.parametrize(("status", "body", "followed"), [
    (200, {"redirect_uri": "https://verifier.example/cb#response_code=091535f6"}, True),
    (200, {"redirect_uri": "http://127.0.0.1:8080/cb"}, True),  # loopback, as the response_uri may be
    (200, {}, False),
    (200, {"redirect_uri": "javascript:alert(1)"}, False),
    (200, {"redirect_uri": "http://verifier.example/cb"}, False),  # plain http off loopback
    (200, {"redirect_uri": "https://user@verifier.example/cb"}, False),
    (200, {"redirect_uri": ["https://verifier.example/cb"]}, False),
    (200, ["https://verifier.example/cb"], False),
    (400, {"redirect_uri": "https://verifier.example/cb"}, False),  # only a taken answer sends the holder on
    (200, {"redirect_uri": "https://verifier.example/\x1b]0;pwned\x07"}, False),  # a terminal's escape (the CLI)
    (200, {"redirect_uri": "https://verifier.example/a b"}, False),
    (200, {"redirect_uri": "https://verifier.example/\x7f"}, False),
    # An app's private-use scheme (RFC 8252 section 7.1, a domain reversed): app-based verifiers (helper-66).
    (200, {"redirect_uri": "com.example.verifier:/cb#response_code=091535f6"}, True),
    (200, {"redirect_uri": "eu.europa.ec.verifier://done?x=1"}, True),
    (200, {"redirect_uri": "data:text/html,<script>alert(1)</script>"}, False),
    (200, {"redirect_uri": "vbscript:msgbox"}, False),
    (200, {"redirect_uri": "file:///etc/passwd"}, False),
    (200, {"redirect_uri": "JavaScript:alert(1)"}, False),
    (200, {"redirect_uri": "com.example.verifier:"}, False),  # nothing after the scheme
    (200, {"redirect_uri": "com.example.verifier:/cb\x1b]0;pwned\x07"}, False),
    (200, {"redirect_uri": "com.example.verifier:/a b"}, False),
    (200, {"redirect_uri": ".example:/cb"}, False),
])
def test_which_redirects_the_wallet_follows(status: int, body: object, followed: bool) -> None:
    """OpenID4VP 1.0 section 8.2's redirect_uri, as far as the wallet follows it (the browser's side:
    tests/test_wallet_redirect.py)."""
    answer = httpx.Response(status, json=body)
    redirect = present.redirect_uri(answer)
    assert redirect == (body["redirect_uri"] if followed and isinstance(body, dict) else None)
    assert present.redirect_uri(httpx.Response(200, content=b"not json")) is None
