"""SD-JWT VC profile rules and credential types as data."""

from __future__ import annotations

from typing import Any

import pytest

from core import errors, keys
from core.credtypes import REQUIRED_LOCALES, TypeRegistry
from core.sdjwt import KeyBindingPolicy, issue, present
from core.sdjwt.vc import VC_TYP, issue_vc, verify_vc, verify_vc_issued
from tests.conftest import NOW

AUD, NONCE = "https://verifier.test", "n"
KB = KeyBindingPolicy(AUD, NONCE)


def vc(types: TypeRegistry, name: str, iss_key: keys.PrivateKey, holder: keys.PrivateKey,
       claims: dict[str, Any] | None = None) -> str:
    ctype = types.by_name(name)
    return issue_vc(ctype, claims or dict(ctype.example), issuer="https://issuer.test", issuer_key=iss_key,
                    holder_key=holder.public_key(), now=NOW, valid_for_s=86400)


def check(token: str, iss_key: keys.PrivateKey, types: TypeRegistry | None) -> Any:
    return verify_vc(token, issuer_keys=[iss_key.public_key()], now=NOW, key_binding=KB, types=types)


@pytest.mark.parametrize("name", ["SkillCertificate", "RegistrationStatus", "IdentityBasic"])
def test_each_type_issues_and_shows_one_claim_alone(types: TypeRegistry, issuer_key: keys.PrivateKey,
                                                    holder_key: keys.PrivateKey, name: str) -> None:
    token = vc(types, name, issuer_key, holder_key)
    held = verify_vc_issued(token, issuer_keys=[issuer_key.public_key()], now=NOW, types=types)
    assert held.disclosed_claims() == types.by_name(name).example
    for path in types.by_name(name).disclosable:
        if path[-1] is None:
            continue
        shown = present(token, [path], holder_key=holder_key, audience=AUD, nonce=NONCE, now=NOW)
        result = check(shown, issuer_key, types)
        assert list(result.disclosed_claims()) == [path[0]]


def test_typ_is_dc_sd_jwt_and_required(types: TypeRegistry, issuer_key: keys.PrivateKey,
                                       holder_key: keys.PrivateKey) -> None:
    from core._jose import parse_compact

    token = vc(types, "RegistrationStatus", issuer_key, holder_key)
    assert parse_compact(token.split("~")[0]).unverified_header["typ"] == VC_TYP
    plain = issue({"vct": "urn:amana:credential:RegistrationStatus:1", "iss": "https://issuer.test"},
                  issuer_key=issuer_key, holder_key=holder_key.public_key())
    shown = present(plain, [], holder_key=holder_key, audience=AUD, nonce=NONCE, now=NOW)
    with pytest.raises(errors.InvalidTokenType):
        check(shown, issuer_key, None)


@pytest.mark.parametrize("claim", ["iss", "nbf", "exp", "cnf", "vct", "status"])
def test_protected_claims_never_accepted_through_a_disclosure(
    issuer_key: keys.PrivateKey, holder_key: keys.PrivateKey, claim: str
) -> None:
    claims: dict[str, Any] = {"iss": "https://issuer.test", "vct": "urn:x", "exp": NOW + 60, "nbf": NOW - 60,
                              "status": {"status_list": {"idx": 1, "uri": "https://s.test/1"}}}
    token = issue(claims, issuer_key=issuer_key, holder_key=holder_key.public_key(), typ=VC_TYP,
                  disclosable=[(claim,)] if claim != "cnf" else [])
    if claim == "cnf":  # cnf is added by issue(); disclose a sub-claim of it by hand instead
        from tests import craft

        encoded, digest = craft.disclosure("cnf", craft.cnf(holder_key))
        body = {**claims, "_sd": [digest]}
        token = craft.sd_jwt(body, [encoded], issuer_key, header={"typ": VC_TYP})
    shown = present(token, [(claim,)], holder_key=holder_key, audience=AUD, nonce=NONCE, now=NOW)
    with pytest.raises(errors.ProtectedClaimDisclosed):
        check(shown, issuer_key, None)


@pytest.mark.parametrize("missing", ["vct", "iss"])
def test_vct_and_iss_required(issuer_key: keys.PrivateKey, holder_key: keys.PrivateKey, missing: str) -> None:
    claims = {"iss": "https://issuer.test", "vct": "urn:x"}
    del claims[missing]
    token = issue(claims, issuer_key=issuer_key, holder_key=holder_key.public_key(), typ=VC_TYP)
    shown = present(token, [], holder_key=holder_key, audience=AUD, nonce=NONCE, now=NOW)
    with pytest.raises(errors.MissingClaim):
        check(shown, issuer_key, None)


def test_unknown_vct_refused_when_types_given(issuer_key: keys.PrivateKey, holder_key: keys.PrivateKey,
                                              types: TypeRegistry) -> None:
    token = issue({"iss": "https://issuer.test", "vct": "urn:someone:else"}, issuer_key=issuer_key,
                  holder_key=holder_key.public_key(), typ=VC_TYP)
    shown = present(token, [], holder_key=holder_key, audience=AUD, nonce=NONCE, now=NOW)
    with pytest.raises(errors.UnknownCredentialType):
        check(shown, issuer_key, types)
    assert check(shown, issuer_key, None).vct == "urn:someone:else"


def _raw_vc(vct: str, claims: dict[str, Any], disclosable: list[Any], iss_key: keys.PrivateKey,
            holder: keys.PrivateKey) -> str:
    payload = {"iss": "https://issuer.test", "vct": vct, **claims}
    token = issue(payload, issuer_key=iss_key, disclosable=disclosable, holder_key=holder.public_key(), typ=VC_TYP)
    return present(token, [(k,) for k in claims], holder_key=holder, audience=AUD, nonce=NONCE, now=NOW)


def test_claims_checked_against_the_type(types: TypeRegistry, issuer_key: keys.PrivateKey,
                                         holder_key: keys.PrivateKey) -> None:
    vct = types.by_name("RegistrationStatus").vct
    wrong_type = _raw_vc(vct, {"right_to_work": "yes"}, [("right_to_work",)], issuer_key, holder_key)
    with pytest.raises(errors.ClaimsInvalidForType):
        check(wrong_type, issuer_key, types)
    extra = _raw_vc(vct, {"religion": "x"}, [("religion",)], issuer_key, holder_key)
    with pytest.raises(errors.ClaimsInvalidForType):
        check(extra, issuer_key, types)
    plaintext = _raw_vc(vct, {"right_to_work": True}, [], issuer_key, holder_key)  # sd: always violated
    with pytest.raises(errors.ClaimsInvalidForType):
        check(plaintext, issuer_key, types)


def test_type_errors_never_echo_claim_values(types: TypeRegistry, issuer_key: keys.PrivateKey,
                                             holder_key: keys.PrivateKey) -> None:
    secret = "SECRET-REG-99"
    claims = dict(types.by_name("RegistrationStatus").example) | {"registration_number": secret + " !"}
    with pytest.raises(errors.InvalidClaims) as caught:
        vc(types, "RegistrationStatus", issuer_key, holder_key, claims)
    assert secret not in caught.value.detail and "registration_number" in caught.value.detail


def test_a_refusal_says_what_each_claim_wants_from_the_schema_alone(types: TypeRegistry) -> None:
    """An NGO's staff typing claims by hand (``amana issuer offer --claims``) learns what to mend:
    the allowed codes, the date's form, the bounds, a member missing or unknown; the values typed
    are never repeated (helper-79: "assessment_method: enum; awarded_on: format" told them nothing)."""
    typed = {"given_name": "Layla", "family_name": "Haddad", "skill": "operate forklift", "eqf_level": 12,
             "assessment_method": "exam-by-Layla", "awarded_on": "30/10/2026", "nickname": "Lulu"}
    with pytest.raises(errors.InvalidClaims) as caught:
        types.by_name("SkillCertificate").check_issuance(typed)
    said = caught.value.detail
    for wanted in ('assessment_method: one of "practical_test", "written_exam"', "awarded_on: a date, YYYY-MM-DD",
                   "eqf_level: at most 8", "skill: an object", "issuing_organisation: required",
                   "(claims): a member this type does not have"):
        assert wanted in said, (wanted, said)
    for value in ("Layla", "exam-by-Layla", "30/10/2026", "Lulu", "nickname", "operate forklift", "12"):
        assert value not in said, value


def test_issuance_refuses_registered_claims_in_user_claims(types: TypeRegistry, issuer_key: keys.PrivateKey,
                                                           holder_key: keys.PrivateKey) -> None:
    claims = dict(types.by_name("SkillCertificate").example) | {"iss": "https://evil.test"}
    with pytest.raises(errors.InvalidClaims):
        vc(types, "SkillCertificate", issuer_key, holder_key, claims)


def test_identity_nationalities_disclosed_one_by_one(types: TypeRegistry, issuer_key: keys.PrivateKey,
                                                     holder_key: keys.PrivateKey) -> None:
    token = vc(types, "IdentityBasic", issuer_key, holder_key)
    shown = present(token, [("nationalities", 1)], holder_key=holder_key, audience=AUD, nonce=NONCE, now=NOW)
    assert check(shown, issuer_key, types).disclosed_claims() == {"nationalities": ["LB"]}


@pytest.mark.parametrize("birthdate,ok", [("1998", True), ("1998-05", True), ("1998-05-17", True),
                                          ("1998-13", False), ("98-05-17", False)])
def test_partial_birth_dates(types: TypeRegistry, issuer_key: keys.PrivateKey, holder_key: keys.PrivateKey,
                             birthdate: str, ok: bool) -> None:
    claims = dict(types.by_name("IdentityBasic").example) | {"birthdate": birthdate}
    if ok:
        vc(types, "IdentityBasic", issuer_key, holder_key, claims)
    else:
        with pytest.raises(errors.InvalidClaims):
            vc(types, "IdentityBasic", issuer_key, holder_key, claims)


def test_every_type_has_names_and_labels_in_the_required_languages(types: TypeRegistry) -> None:
    for ctype in types.values():
        assert set(ctype.names()) >= set(REQUIRED_LOCALES)
        assert all(" " not in d["locale"] and "_" not in d["locale"] for d in ctype.metadata["display"])  # BCP 47
        for rule in ctype.rules:
            assert set(rule.labels) >= set(REQUIRED_LOCALES), (ctype.name, rule.path)
            assert all(label.strip() for label in rule.labels.values())
    assert types.by_name("RegistrationStatus").label(("right_to_work",), "ar") == "الحق في العمل"
    skill = types.by_name("SkillCertificate")
    assert skill.display_name("fa_AF") == "تصدیق‌نامهٔ مهارت" and skill.label(("skill",), "ti") == "ክእለት"


def test_unknown_type_name(types: TypeRegistry) -> None:
    with pytest.raises(errors.UnknownCredentialType):
        types.by_name("Passport")


def test_mandatory_plaintext_claim_missing_inside_a_shown_parent(types: TypeRegistry,
                                                                issuer_key: keys.PrivateKey,
                                                                holder_key: keys.PrivateKey) -> None:
    vct = types.by_name("SkillCertificate").vct
    no_uri = _raw_vc(vct, {"skill": {"label": "welding"}}, [("skill",)], issuer_key, holder_key)
    with pytest.raises(errors.ClaimsInvalidForType):
        check(no_uri, issuer_key, types)
