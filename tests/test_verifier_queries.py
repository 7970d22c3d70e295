"""verifier.queries.availability: a desk offers only what its trust-list registration allows
(issue 10, item 13), and says why not for the rest."""

from __future__ import annotations

from core import keys
from core.errors import RequestExceedsRegistration, TrustListUnavailable
from core.settings import get_settings
from core.trust.model import TrustList, parse
from verifier.queries import Unavailable, availability, load, why_refused

NOW = 1_800_000_000
WORK = {"purpose": "https://w3id.org/dpv#HumanResourceManagement", "legal_basis": "https://w3id.org/dpv#LegalObligation",
        "credentials": [{"vct": "urn:amana:credential:RegistrationStatus:1",
                         "claims": [["right_to_work"], ["valid_until"]]}]}
QUERIES = load(get_settings().specs_dir)


def _trust_list(registrations: list[dict[str, object]], suspended_from: int | None = None) -> TrustList:
    verifier: dict[str, object] = {"id": "https://desk.example", "names": {"en": "Desk"},
                                   "jwks": keys.jwks([keys.generate().public_key()]), "registrations": registrations}
    if suspended_from is not None:
        verifier["suspended_from"] = suspended_from
    return parse(TrustList, {"iss": "https://gov.example", "seq": 1, "iat": NOW - 10, "next_update": NOW + 3600,
                             "verifiers": [verifier]})


def _offered(trust_list: TrustList | None, verifier_id: str = "https://desk.example") -> dict[str, Unavailable | None]:
    return {q.name: why for q, why in availability(QUERIES, trust_list, verifier_id, NOW)}


def test_only_the_registered_question_is_offered_and_the_others_say_why() -> None:
    assert _offered(_trust_list([WORK])) == {
        "right-to-work": None,
        "skill-check": Unavailable.CLAIMS,  # same purpose, other claims
        "age-over-18": Unavailable.PURPOSE,
        "registered-resident": Unavailable.PURPOSE,
    }
    narrower = {**WORK, "credentials": [{"vct": "urn:amana:credential:RegistrationStatus:1",
                                         "claims": [["right_to_work"]]}]}
    assert _offered(_trust_list([narrower]))["right-to-work"] is Unavailable.CLAIMS


def test_no_trust_list_an_unlisted_or_suspended_desk_offers_nothing() -> None:
    assert set(_offered(None).values()) == {Unavailable.TRUST_LIST}
    assert set(_offered(_trust_list([WORK]), "https://other.example").values()) == {Unavailable.VERIFIER}
    assert set(_offered(_trust_list([WORK], suspended_from=NOW - 1)).values()) == {Unavailable.VERIFIER}


def test_a_refused_check_maps_to_the_same_reasons() -> None:
    assert why_refused(RequestExceedsRegistration("x")) is Unavailable.CLAIMS
    assert why_refused(TrustListUnavailable("x")) is Unavailable.TRUST_LIST
