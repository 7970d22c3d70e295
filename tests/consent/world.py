"""A trust list with one consent-based and one legal-obligation verifier, for the consent tests."""

from __future__ import annotations

from core import keys
from core.trust.model import PurposeRegistration, RegisteredVerifier, TrustList, parse

NOW = 1_790_000_000
GOV = "https://gov.example"
EMPLOYER = "https://employer.example"
AUTHORITY = "https://city.example"
DPV = "https://w3id.org/dpv#"
STATUS = "urn:amana:credential:RegistrationStatus:1"
IDENTITY = "urn:amana:credential:IdentityBasic:1"
HEALTH = "urn:example:credential:HealthCard:1"


def verifier(vid: str, name: str, key: keys.PrivateKey, purpose: str, basis: str) -> RegisteredVerifier:
    registration = parse(PurposeRegistration, {
        "purpose": DPV + purpose, "legal_basis": DPV + basis,
        "credentials": [{"vct": STATUS, "claims": [["right_to_work"], ["valid_until"]]},
                        {"vct": HEALTH, "claims": [["blood_type"]]}]})
    return parse(RegisteredVerifier, {"id": vid, "names": {"en": name, "ar": name + " ع"},
                                      "jwks": keys.jwks([key.public_key()]),
                                      "registrations": [registration.model_dump(mode="json")]})


def trust_list(employer_key: keys.PrivateKey, authority_key: keys.PrivateKey) -> TrustList:
    return TrustList(iss=GOV, seq=1, iat=NOW - 10, next_update=NOW + 86400, verifiers=[
        verifier(EMPLOYER, "Good Employer", employer_key, "HumanResourceManagement", "Consent"),
        verifier(AUTHORITY, "City Hall", authority_key, "LegalCompliance", "LegalObligation")])
