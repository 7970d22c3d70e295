"""The consent screen model (wallet/consent.py): who asks, why, what, with which card, and the
holder's choice turned into exactly what is disclosed. Requests come from the node's own verifier
code, signed with real keys (tests/vp_world.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from core import i18n, keys
from core.credtypes import TypeRegistry
from core.sdjwt import KeyBindingPolicy
from core.sdjwt.vc import issue_vc, verify_vc
from tests.vp_world import (
    HR,
    NOW,
    SKILL_VCT,
    VERIFIER_ID,
    identity,
    node_request,
    query,
    registration,
    trust_list,
)
from verifier.requests import Prefix
from wallet import dpv_labels, present
from wallet.consent import (
    Choice,
    ClaimSetChoice,
    ConsentChoiceInvalid,
    ConsentScreen,
    HeldCard,
    HeldCopy,
    QueryScreen,
    choices_valid,
    consent_screen,
    default_claim_set,
)
from wallet.vp_request import VerifiedRequest, check_request, parse_link

IDENT = identity()
SKILL = {"skill": {"uri": "http://data.europa.eu/esco/skill/x", "label": "forklift"}, "eqf_level": 3}
CARD = HeldCard("card-1", SKILL_VCT, (HeldCopy("c1"), HeldCopy("c2")), SKILL)


def request(prefix: Prefix = Prefix.X509_HASH, dcql: dict[str, Any] | None = None,
            ident: Any = IDENT) -> VerifiedRequest:
    link, text = node_request(ident, prefix, dcql=dcql)
    return check_request(parse_link(link), text, now=NOW)


def screen(types: TypeRegistry, *, lang: str = "en", held: tuple[HeldCard, ...] = (CARD,),
           registrations: list[dict[str, Any]] | None = None, prefix: Prefix = Prefix.X509_HASH,
           dcql: dict[str, Any] | None = None, listed: bool = True, **kw: Any) -> ConsentScreen:
    trust = trust_list((VERIFIER_ID, IDENT if listed else identity(), registrations or [registration()]), **kw)
    return consent_screen(request(prefix, dcql), trust, held, types, lang)


@pytest.mark.parametrize("prefix", list(Prefix))
def test_the_nodes_request_shows_the_registered_name_purpose_and_legal_basis(types: TypeRegistry,
                                                                              prefix: Prefix) -> None:
    shown = screen(types, prefix=prefix)
    assert shown.who.status == "registered" and not shown.who.unknown and shown.who.name == "Harbour Logistics"
    assert shown.who.verifier_id == VERIFIER_ID and shown.who.answer_goes_to == "https://verifier.example"
    (purpose,) = shown.purposes
    assert purpose.purpose.iri == HR and purpose.purpose.label == "for hiring and employment"
    assert purpose.legal_basis.label == "required by law" and purpose.legal_basis.article == "GDPR Art. 6(1)(c)"
    assert shown.beyond_registration == () and not shown.needs_warning and shown.answerable


def test_the_screen_speaks_the_holders_language(types: TypeRegistry) -> None:
    shown = screen(types, lang="ar")
    assert shown.who.name == "هاربور للخدمات" and shown.purposes[0].purpose.label == "للتوظيف وشؤون العمل"
    (skill,) = shown.queries
    assert [a.label for a in skill.attributes] == ["المهارة", "المستوى (من 1 إلى 8، المقياس الأوروبي)"]
    assert skill.cards[0].name == "شهادة مهارة"
    assert screen(types, lang="fr").who.name == "Harbour Logistics"  # no French name: English


def test_required_optional_and_claim_sets_as_choices(types: TypeRegistry) -> None:
    (skill,) = screen(types).queries
    assert skill.required and [(a.label, a.required) for a in skill.attributes] == [
        ("Skill", True), ("Level (1 to 8, European scale)", False)]
    assert [(c.index, c.claim_ids, c.labels) for c in skill.claim_sets] == [
        (0, ("skill", "level"), ("Skill", "Level (1 to 8, European scale)")), (1, ("skill",), ("Skill",))]


def test_the_claim_set_chosen_until_the_holder_picks_is_the_part_that_answers(types: TypeRegistry) -> None:
    """skill-check prefers skill and level (set 0); the holder is offered, and sends when
    choosing nothing, the skill alone (set 1), a part of it that also answers (OpenID4VP 1.0 6.4.1)."""
    (skill,) = screen(types).queries
    assert skill.suggested_set == 1
    assert choices_valid(screen(types), Choice({"skill": "card-1"})).paths() == {"skill": (("skill",),)}


@pytest.mark.parametrize(("sets", "chosen"), [
    ([["a", "b"], ["a"]], 1),  # a part of the first: surely less
    ([["a", "b", "c"], ["a", "b"], ["a"]], 2),  # the smallest part
    ([["b", "c"], ["a"]], 0),  # one claim, but not a part: it may tell more (an address against a town)
    ([["a"], ["a", "b"]], 0),  # the first is already the least
    ([["a", "b"], ["b", "c"], ["b"]], 2),  # only parts of the first count; the second is not one
])
def test_only_a_part_of_the_verifiers_first_set_is_taken_instead_of_it(sets: list[list[str]], chosen: int) -> None:
    choices = tuple(ClaimSetChoice(i, tuple(s), tuple(s)) for i, s in enumerate(sets))
    query = QueryScreen("q", True, ("T",), (), choices, ())
    assert default_claim_set(query, tuple(range(len(sets)))) == chosen
    assert default_claim_set(query, (1,)) == 1  # a card that answers one set only: that one


def test_a_query_without_claim_sets_has_the_one_implicit_set() -> None:
    """Without ``claim_sets`` every claim is asked together: cards answer set 0, which no choice lists."""
    query = QueryScreen("q", True, ("T",), (), (), ())
    assert default_claim_set(query, (0,)) == 0


def test_a_verifier_not_on_the_trust_list_is_unknown_and_everything_is_beyond(types: TypeRegistry) -> None:
    shown = screen(types, listed=False)
    assert shown.who.status == "unknown" and shown.who.name == "Unknown verifier" and shown.who.verifier_id is None
    assert shown.purposes == () and shown.needs_warning
    assert {b.label for b in shown.beyond_registration} == {"Skill", "Level (1 to 8, European scale)"}
    assert screen(types, listed=False, lang="ar").who.name == "جهة تحقق غير معروفة"
    no_list = consent_screen(request(), None, (CARD,), types, "en")
    assert no_list.who.unknown


def test_a_request_beyond_the_registration_names_the_excess(types: TypeRegistry) -> None:
    shown = screen(types, registrations=[registration(claims=[["skill"]])])
    assert [(b.vct, b.path, b.label) for b in shown.beyond_registration] == [
        (SKILL_VCT, ("eqf_level",), "Level (1 to 8, European scale)")]
    assert [a.beyond_registration for a in shown.queries[0].attributes] == [False, True]
    assert shown.who.status == "registered" and shown.needs_warning
    assert shown.purposes[0].purpose.iri == HR  # the closest registration is shown


def test_of_several_registrations_the_covering_purpose_is_shown(types: TypeRegistry) -> None:
    other = registration(purpose="https://w3id.org/dpv#Marketing", claims=[["skill"]])
    shown = screen(types, registrations=[other, registration()])
    assert [p.purpose.iri for p in shown.purposes] == [HR] and shown.beyond_registration == ()


def test_a_suspended_verifier_is_not_shown_as_registered(types: TypeRegistry) -> None:
    link, text = node_request(IDENT, Prefix.X509_HASH)
    trust = trust_list((VERIFIER_ID, IDENT, [registration()]))
    suspended = trust.model_copy(update={"verifiers": [trust.verifiers[0].model_copy(update={"suspended_from": 0})]})
    shown = consent_screen(check_request(parse_link(link), text, now=NOW), suspended, (CARD,), types, "en")
    assert shown.who.status == "suspended" and shown.who.unknown and shown.purposes == ()


def test_which_cards_can_answer(types: TypeRegistry) -> None:
    client_id = IDENT.client_id(Prefix.X509_HASH)
    other_type = HeldCard("status", "urn:amana:credential:RegistrationStatus:1", (HeldCopy("s1"),))
    seen_elsewhere = HeldCard("seen", SKILL_VCT, (HeldCopy("x1", "x509_hash:another"),), SKILL)
    seen_here = HeldCard("here", SKILL_VCT, (HeldCopy("h1", "x509_hash:another"), HeldCopy("h2", client_id)), SKILL)
    half = HeldCard("half", SKILL_VCT, (HeldCopy("y1"),), {"skill": SKILL["skill"]})
    (skill,) = screen(types, held=(other_type, seen_elsewhere, seen_here, half, CARD)).queries
    options = {c.card_id: c for c in skill.cards}
    assert set(options) == {"here", "half", "card-1"} and skill.exhausted == ("seen",)
    assert (options["here"].copy_id, options["here"].fresh, options["here"].fresh_copies) == ("h2", False, 0)
    assert (options["card-1"].copy_id, options["card-1"].fresh, options["card-1"].fresh_copies) == ("c1", True, 2)
    assert options["half"].claim_sets == (1,) and options["card-1"].claim_sets == (0, 1)


def test_requested_values_must_match(types: TypeRegistry) -> None:
    vct = "urn:amana:credential:IdentityBasic:1"
    adult, minor = (HeldCard(n, vct, (HeldCopy(n + "1"),), {"age_over_18": v}) for n, v in (("a", True), ("m", False)))
    shown = screen(types, held=(adult, minor), dcql=query("age-over-18")["dcql_query"],
                   registrations=[registration(claims=[["age_over_18"]], vct=vct)])
    assert [c.card_id for c in shown.queries[0].cards] == ["a"] and shown.queries[0].attributes[0].values == (True,)
    assert not screen(types, held=(minor,), dcql=query("age-over-18")["dcql_query"]).answerable


def test_a_choice_becomes_exactly_the_paths_to_disclose(types: TypeRegistry) -> None:
    shown = screen(types)
    assert choices_valid(shown, Choice({"skill": "card-1"}, {"skill": 0})).paths() == {
        "skill": (("skill",), ("eqf_level",))}
    plan = choices_valid(shown, Choice({"skill": "card-1"}, {"skill": 1}))
    assert plan.paths() == {"skill": (("skill",),)} and plan.copies() == {"skill": "c1"}


@pytest.mark.parametrize("choice", [
    Choice({}),  # the query is required
    Choice({"skill": "nope"}),
    Choice({"other": "card-1"}),
    Choice({"skill": "card-1"}, {"skill": 2}),
    Choice({"skill": "card-1"}, {"other": 0}),
])
def test_a_choice_that_does_not_answer_is_refused(types: TypeRegistry, choice: Choice) -> None:
    with pytest.raises(ConsentChoiceInvalid):
        choices_valid(screen(types), choice)


def test_a_card_cannot_be_chosen_for_a_claim_set_it_lacks(types: TypeRegistry) -> None:
    half = HeldCard("half", SKILL_VCT, (HeldCopy("y1"),), {"skill": SKILL["skill"]})
    with pytest.raises(ConsentChoiceInvalid):
        choices_valid(screen(types, held=(half,)), Choice({"skill": "half"}, {"skill": 0}))
    assert choices_valid(screen(types, held=(half,)), Choice({"skill": "half"})).paths() == {"skill": (("skill",),)}


def test_credential_sets_one_option_is_enough(types: TypeRegistry) -> None:
    base = query("skill-check")["dcql_query"]["credentials"][0]
    dcql = {"credentials": [base, {**base, "id": "other"}], "credential_sets": [{"options": [["skill"], ["other"]]}]}
    shown = screen(types, dcql=dcql)
    assert [q.required for q in shown.queries] == [False, False]
    assert set(choices_valid(shown, Choice({"other": "card-1"})).paths()) == {"other"}
    with pytest.raises(ConsentChoiceInvalid):
        choices_valid(shown, Choice({}))


def test_the_default_answer_is_one_option_per_required_set_and_no_optional_one(types: TypeRegistry) -> None:
    """``amana wallet present`` without ``--disclose`` answered every query with a card: both
    alternatives of a set, and every optional set (helper-66)."""
    from wallet.flows import default_choice

    base = query("skill-check")["dcql_query"]["credentials"][0]
    dcql = {"credentials": [base, {**base, "id": "other"}, {**base, "id": "extra"}],
            "credential_sets": [{"options": [["skill"], ["other"]]}, {"options": [["extra"]], "required": False}]}
    shown = screen(types, dcql=dcql)
    assert default_choice(shown) == Choice({"skill": "card-1"})
    assert set(choices_valid(shown, default_choice(shown)).paths()) == {"skill"}
    plain = screen(types)  # no credential sets: every query is asked for
    assert default_choice(plain) == Choice({"skill": "card-1"})


def test_an_alternative_in_another_format_is_a_query_no_card_answers(types: TypeRegistry) -> None:
    """OpenID4VP 1.0 sections 5 and 6.4.2: a request offering the SD-JWT VC or an mdoc is processed,
    not refused; the mdoc option simply has no card, and the SD-JWT VC one is answered."""
    base = query("skill-check")["dcql_query"]["credentials"][0]
    mdoc = {"id": "skill_mdoc", "format": "mso_mdoc", "meta": {"doctype_value": "org.example.skill.1"},
            "claims": [{"path": ["org.example.skill.1", "skill"]}]}
    dcql = {"credentials": [base, mdoc], "credential_sets": [{"options": [["skill"], ["skill_mdoc"]]}]}
    shown = screen(types, dcql=dcql)
    assert [(q.query_id, q.required, len(q.cards)) for q in shown.queries] == [("skill", False, 1),
                                                                                ("skill_mdoc", False, 0)]
    assert shown.queries[1].type_names == ("mso_mdoc",)
    assert set(choices_valid(shown, Choice({"skill": "card-1"})).paths()) == {"skill"}
    with pytest.raises(ConsentChoiceInvalid):
        choices_valid(shown, Choice({"skill_mdoc": "card-1"}))


def test_the_plan_is_what_the_presentation_discloses(types: TypeRegistry, issuer_key: keys.PrivateKey,
                                                     holder_key: keys.PrivateKey) -> None:
    ctype = types[SKILL_VCT]
    credential = issue_vc(ctype, dict(ctype.example), issuer="https://issuer.test", issuer_key=issuer_key,
                          holder_key=holder_key.public_key(), now=NOW, valid_for_s=86400)
    req = request()
    plan = choices_valid(consent_screen(req, None, (CARD,), types, "en"), Choice({"skill": "card-1"}, {"skill": 1}))
    vp = json.loads(present.vp_token(req, {"skill": (credential, holder_key)}, NOW, paths=plan.paths()))
    seen = verify_vc(vp["skill"][0], issuer_keys=[issuer_key.public_key()], now=NOW,
                     key_binding=KeyBindingPolicy(req.client_id, req.nonce), types=types)
    assert set(seen.disclosed_claims()) == {"skill"}  # not eqf_level, not the name


def test_every_query_purpose_has_plain_words_in_every_language() -> None:
    from core.settings import REPO_ROOT

    for path in (REPO_ROOT / "specs" / "queries").glob("*.json"):
        iri = json.loads(path.read_text())["purpose"]
        for lang in dpv_labels.LANGUAGES:
            assert dpv_labels.purpose(iri, lang).label != iri.rsplit("#")[-1]
            english = dpv_labels.purpose(iri, "en").label
            assert lang == "en" or dpv_labels.purpose(iri, lang).label != english, (iri, lang)  # not English
    for lang in dpv_labels.LANGUAGES:
        basis = dpv_labels.legal_basis(dpv_labels.DPV + "LegalObligation", lang)
        assert lang == "en" or basis.label != "required by law", lang
    assert set(dpv_labels.LANGUAGES) == set(i18n.LANGUAGES)
    assert dpv_labels.legal_basis(dpv_labels.DPV + "Consent", "fa-AF").label == "رضایت شما"
    assert dpv_labels.legal_basis("https://w3id.org/dpv/legal/eu/gdpr#A6-1-a", "fr").article == "RGPD art. 6(1)(a)"
    assert dpv_labels.purpose("https://w3id.org/dpv#SomethingNew", "en").label == "SomethingNew"


def test_a_refusals_claim_names_get_the_label_of_the_type_that_has_them(types: TypeRegistry) -> None:
    """A declined request kept no copy, so its record names no type: the label still comes from
    whichever type defines the claim, not the first type in the registry."""
    from wallet.labels import claim_label

    assert claim_label(types, list(types), "eqf_level", "en") == "Level (1 to 8, European scale)"
    assert claim_label(types, list(types), "right_to_work", "en") != "right_to_work"
    assert claim_label(types, list(types), "no_such_claim", "en") == "no_such_claim"
