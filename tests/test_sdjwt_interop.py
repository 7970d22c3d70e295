"""Interop with the SD-JWT reference implementation (sd-jwt-python), both directions."""

from __future__ import annotations

import json
from typing import Any

from jwcrypto.jwk import JWK
from sd_jwt.common import SDObj
from sd_jwt.holder import SDJWTHolder
from sd_jwt.issuer import SDJWTIssuer
from sd_jwt.verifier import SDJWTVerifier

from core import keys
from core.credtypes import TypeRegistry
from core.sdjwt import KeyBindingPolicy, issue, present, verify
from core.sdjwt.vc import issue_vc, verify_vc
from tests.conftest import NOW

AUD, NONCE = "https://verifier.test", "nonce-123"


def to_jwcrypto(key: keys.PrivateKey | keys.PublicKey) -> JWK:
    return JWK.from_json(json.dumps(key.to_jwk()))


def reference_verify(token: str, issuer: keys.PrivateKey) -> dict[str, Any]:
    verifier = SDJWTVerifier(token, lambda _iss, _header: to_jwcrypto(issuer.public_key()), AUD, NONCE)
    return dict(verifier.get_verified_payload())


def test_we_verify_reference_issued_and_presented(issuer_key: keys.PrivateKey,
                                                  holder_key: keys.PrivateKey) -> None:
    user_claims = {
        "iss": "https://issuer.test", "iat": NOW, "exp": NOW + 3600,
        SDObj("given_name"): "Layla",
        SDObj("family_name"): "Haddad",
        "address": {SDObj("locality"): "Demo City", SDObj("country"): "DE"},
        SDObj("nationalities"): [SDObj("SY"), SDObj("LB"), "TR"],
    }
    issued = SDJWTIssuer(user_claims, to_jwcrypto(issuer_key), to_jwcrypto(holder_key), add_decoy_claims=True)
    holder = SDJWTHolder(issued.sd_jwt_issuance)
    holder.create_presentation({"given_name": True, "address": {"locality": True}, "nationalities": [False, True]},
                               NONCE, AUD, to_jwcrypto(holder_key))
    result = verify(holder.sd_jwt_presentation, issuer_keys=[issuer_key.public_key()], now=NOW + 1,
                    key_binding=KeyBindingPolicy(AUD, NONCE, max_age_s=10**9))
    claims = result.claims
    assert claims["given_name"] == "Layla"
    assert claims["address"] == {"locality": "Demo City"}
    assert claims["nationalities"] == ["LB", "TR"]
    assert "family_name" not in claims


def test_reference_verifies_ours(issuer_key: keys.PrivateKey, holder_key: keys.PrivateKey) -> None:
    claims = {"iss": "https://issuer.test", "given_name": "Layla", "address": {"locality": "Demo City", "zip": "1"},
              "nationalities": ["SY", "LB"]}
    token = issue(claims, issuer_key=issuer_key, holder_key=holder_key.public_key(),
                  disclosable=[("given_name",), ("address",), ("address", "zip"), ("nationalities", None)])
    shown = present(token, [("address",), ("nationalities", 1)], holder_key=holder_key, audience=AUD,
                    nonce=NONCE, now=NOW)
    ours = verify(shown, issuer_keys=[issuer_key.public_key()], now=NOW, key_binding=KeyBindingPolicy(AUD, NONCE))
    theirs = reference_verify(shown, issuer_key)
    assert theirs == ours.claims
    assert theirs["nationalities"] == ["LB"] and theirs["address"] == {"locality": "Demo City", "zip": "1"}


def test_reference_verifies_our_sd_jwt_vc(issuer_key: keys.PrivateKey, holder_key: keys.PrivateKey,
                                          types: TypeRegistry) -> None:
    ctype = types.by_name("IdentityBasic")
    token = issue_vc(ctype, ctype.example, issuer="https://issuer.test", issuer_key=issuer_key,
                     holder_key=holder_key.public_key(), now=NOW, valid_for_s=3600)
    shown = present(token, [("age_over_18",), ("nationalities", 0)], holder_key=holder_key, audience=AUD,
                    nonce=NONCE, now=NOW)
    ours = verify_vc(shown, issuer_keys=[issuer_key.public_key()], now=NOW,
                     key_binding=KeyBindingPolicy(AUD, NONCE), types=types)
    assert reference_verify(shown, issuer_key) == ours.claims
    assert ours.disclosed_claims() == {"age_over_18": True, "nationalities": ["SY"]}


def test_eddsa_issuer_interop(holder_key: keys.PrivateKey) -> None:
    eddsa = keys.generate("EdDSA")
    token = issue({"iss": "https://issuer.test", "a": 1}, issuer_key=eddsa, disclosable=[("a",)],
                  holder_key=holder_key.public_key())
    shown = present(token, [("a",)], holder_key=holder_key, audience=AUD, nonce=NONCE, now=NOW)
    verifier = SDJWTVerifier(shown, lambda _i, _h: to_jwcrypto(eddsa.public_key()), AUD, NONCE)
    assert verifier.get_verified_payload()["a"] == 1
