"""Verifier requests for wallet tests, built by the node's own verifier code (verifier/requests.py)
with real keys, and a trust list registering that verifier. Negative cases re-sign a changed payload."""

from __future__ import annotations

import datetime
import json
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from core import _jose, keys
from core.settings import REPO_ROOT
from core.trust.model import TrustList, parse
from verifier import requests
from verifier.requests import Identity, Prefix

NOW = 1_800_000_000
VERIFIER_ID = "https://verifier.example/verifiers/harbour"
RESPONSE_URI = "https://verifier.example/api/verifier/response/1"
REQUEST_URI = "https://verifier.example/api/verifier/request/1"
HR = "https://w3id.org/dpv#HumanResourceManagement"
OBLIGATION = "https://w3id.org/dpv#LegalObligation"
SKILL_VCT = "urn:amana:credential:SkillCertificate:1"
STATUS_VCT = "urn:amana:credential:RegistrationStatus:1"


def query(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((REPO_ROOT / "specs" / "queries" / f"{name}.json").read_text())
    return doc


def identity(name: str = "Harbour Logistics") -> Identity:
    key = keys.generate("ES256")
    return Identity(key, requests.self_signed_certificate(key, name, NOW), keys.generate("EdDSA"))


def node_request(ident: Identity, prefix: Prefix, *, dcql: dict[str, Any] | None = None, nonce: str = "n-0S6_WzA2Mj",
                 now: int = NOW) -> tuple[str, str]:
    """(link, request object) exactly as the node's verifier makes them."""
    text = requests.request_object(ident, prefix, response_uri=RESPONSE_URI, nonce=nonce, state="st-1",
                                   dcql_query=dcql or query("skill-check")["dcql_query"], now=now)
    return requests.wallet_link(ident.client_id(prefix), REQUEST_URI), text


def payload(ident: Identity, prefix: Prefix, **changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = _jose.parse_compact(node_request(ident, prefix)[1]).unverified_payload()
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def sign(ident: Identity, prefix: Prefix, body: dict[str, Any], header: dict[str, Any] | None = None,
         key: keys.PrivateKey | None = None) -> str:
    return _jose.sign_compact({**ident.header(prefix), **(header or {})}, body, key or ident.signing_key(prefix))


def registration(purpose: str = HR, claims: list[list[str]] | None = None, vct: str = SKILL_VCT) -> dict[str, Any]:
    return {"purpose": purpose, "legal_basis": OBLIGATION,
            "credentials": [{"vct": vct, "claims": claims or [["skill"], ["eqf_level"]]}]}


def trust_list(*verifiers: tuple[str, Identity | list[keys.PublicKey], list[dict[str, Any]]],
               names: dict[str, str] | None = None) -> TrustList:
    entries = []
    for verifier_id, who, registrations in verifiers:
        public = who if isinstance(who, list) else [who.key.public_key(), who.did_key.public_key()]
        entries.append({"id": verifier_id, "names": names or {"en": "Harbour Logistics", "ar": "هاربور للخدمات"},
                        "jwks": keys.jwks(public), "registrations": registrations})
    return parse(TrustList, {"iss": "https://governance.example", "seq": 1, "iat": NOW - 10,
                             "next_update": NOW + 86400, "verifiers": entries})


def san_certificate(key: keys.PrivateKey, dns: list[str], now: int = NOW, days: int = 30) -> bytes:
    """A leaf with dNSName SANs, for the x509_san_dns prefix."""
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "verifier")])
    start = datetime.datetime.fromtimestamp(now - 3600, tz=datetime.UTC)
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
               .public_key(key.cryptography_key().public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(start).not_valid_after(start + datetime.timedelta(days=days))
               .add_extension(x509.SubjectAlternativeName([x509.DNSName(d) for d in dns]), critical=False))
    return builder.sign(key.cryptography_key(), hashes.SHA256()).public_bytes(serialization.Encoding.DER)
