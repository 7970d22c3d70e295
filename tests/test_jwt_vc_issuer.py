"""JWT VC Issuer Metadata (SD-JWT VC section 5, core.jwt_vc_issuer): what every party here reads
from ``/.well-known/jwt-vc-issuer``, and what it refuses."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import jwt_vc_issuer, keys
from core.errors import MalformedToken

ISS = "https://issuer.example/orgs/ngo"


def _doc(**members: object) -> bytes:
    return json.dumps(members).encode()


def test_keys_by_value_for_the_very_issuer() -> None:
    key = keys.generate("ES256", kid="k1").public_key()
    [read] = jwt_vc_issuer.read(_doc(issuer=ISS, jwks={"keys": [key.to_jwk()]}), ISS)
    assert isinstance(read, keys.PublicKey) and read.kid == "k1" and read.thumbprint() == key.thumbprint()


@pytest.mark.parametrize("issuer", [ISS + "/", "https://issuer.example/orgs", ISS.upper(), None, 7])
def test_a_document_for_another_issuer_is_not_used(issuer: object) -> None:
    """Section 5.3: "If these values are not identical, the data contained in the response MUST NOT
    be used" (no normalisation: a trailing slash is another issuer)."""
    key = keys.generate("ES256").public_key()
    with pytest.raises(MalformedToken, match="another issuer"):
        jwt_vc_issuer.read(_doc(issuer=issuer, jwks={"keys": [key.to_jwk()]}), ISS)


def test_keys_by_reference_are_the_callers_to_fetch() -> None:
    key = keys.generate("EdDSA").public_key()
    uri = jwt_vc_issuer.read(_doc(issuer=ISS, jwks_uri="https://issuer.example/keys.json"), ISS)
    assert uri == "https://issuer.example/keys.json"
    [read] = jwt_vc_issuer.read_key_set(json.dumps({"keys": [key.to_jwk()]}).encode())
    assert read.thumbprint() == key.thumbprint()


@pytest.mark.parametrize("members", [{}, {"jwks": {"keys": []}, "jwks_uri": "https://issuer.example/k"},
                                     {"jwks_uri": 3}, {"jwks_uri": ""}, {"jwks": []}, {"jwks": {"keys": 3}}])
def test_both_or_neither_or_malformed_key_members_are_refused(members: dict[str, object]) -> None:
    """Section 5.2: "either ``jwks_uri`` or ``jwks`` ..., but not both"."""
    with pytest.raises(MalformedToken):
        jwt_vc_issuer.read(_doc(issuer=ISS, **members), ISS)


def test_keys_this_node_cannot_use_are_passed_over() -> None:
    """RFC 7517 section 5: JWKs of a kty not understood, or missing members, are ignored; the rest
    of the set is still used."""
    good = keys.generate("ES256").public_key().to_jwk()
    rsa = {"kty": "RSA", "n": "0vx7", "e": "AQAB"}
    wrong_alg = {**keys.generate("ES256").public_key().to_jwk(), "alg": "EdDSA"}
    got = jwt_vc_issuer.key_set({"keys": [rsa, 1, {"kty": "EC", "crv": "P-256"}, wrong_alg, good]})
    assert [k.thumbprint() for k in got] == [keys.PublicKey.from_jwk(good).thumbprint()]


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=12)


@given(st.dictionaries(st.sampled_from(["issuer", "jwks", "jwks_uri", "other"]), _JSON, max_size=4))
def test_any_document_gives_keys_an_address_or_a_clear_refusal(doc: dict[str, object]) -> None:
    try:
        found = jwt_vc_issuer.read(json.dumps(doc).encode(), ISS)
    except MalformedToken:
        return
    assert doc.get("issuer") == ISS
    assert (isinstance(found, list) and "jwks_uri" not in doc) or found == doc.get("jwks_uri")


def test_the_wallets_card_status_reads_an_issuers_keys_the_same_way() -> None:
    """wallet.status (a card's live status) takes an issuer's keys from its own metadata only, by
    value or through jwks_uri: over HTTP on loopback, from a bare server playing the issuer."""
    import asyncio
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from core.errors import AmanaError
    from core.fetch import AddressPolicy, Fetcher
    from wallet import status

    key = keys.generate("ES256", kid="k1").public_key()
    documents: dict[str, bytes] = {}

    class Issuer(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = documents.get(self.path, b"")
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Issuer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    iss = f"{base}/orgs/ngo"
    fetcher = Fetcher(AddressPolicy(allow_http=True, allow_loopback=True))
    try:
        documents["/keys.json"] = json.dumps({"keys": [key.to_jwk()]}).encode()
        documents["/.well-known/jwt-vc-issuer/orgs/ngo"] = _doc(issuer=iss, jwks_uri=f"{base}/keys.json")
        [found] = asyncio.run(status._issuer_keys(fetcher, iss, None))
        assert found.kid == "k1"
        documents["/.well-known/jwt-vc-issuer/orgs/ngo"] = _doc(issuer=base, jwks={"keys": [key.to_jwk()]})
        with pytest.raises(AmanaError):  # another issuer's document: not used (card_status: "unknown")
            asyncio.run(status._issuer_keys(fetcher, iss, None))
    finally:
        server.shutdown()
