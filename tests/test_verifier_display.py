"""verifier.display: verified claims become labelled rows in the page's language (issue 10, item 5)."""

from __future__ import annotations

from core import i18n
from core.credtypes import TypeRegistry
from verifier.display import Row, Text, claim_rows, localized, result_view, status_word

SKILL = "urn:amana:credential:SkillCertificate:1"
IDENTITY = "urn:amana:credential:IdentityBasic:1"
ESCO_URI = "http://data.europa.eu/esco/skill/28cb374e-6261-4133-8371-f9a5470145da"


def test_an_esco_skill_is_its_label_linked_to_its_uri_under_the_type_label(types: TypeRegistry) -> None:
    claims = {"skill": {"uri": ESCO_URI, "label": "operate forklift"}, "eqf_level": 3}
    rows = claim_rows(claims, types[SKILL], "ar")
    assert rows == (Row(Text("المهارة"), "operate forklift", ESCO_URI, pictogram="school"),
                    Row(Text("المستوى (من 1 إلى 8، المقياس الأوروبي)"), "3", pictogram="stairs-up"))


def test_a_structured_claim_that_is_not_esco_becomes_nested_rows_never_a_python_dict(types: TypeRegistry) -> None:
    claims = {"skill": {"uri": "https://evil.example/x", "label": "forklift"}}
    [row] = claim_rows(claims, types[SKILL], "fr")
    assert row.label == Text("Compétence") and row.value is None and row.href is None  # no link to anywhere
    assert row.children == (Row(Text("Identifiant ESCO de la compétence"), "https://evil.example/x", pictogram="hash"),
                            Row(Text("Intitulé de la compétence"), "forklift", pictogram="school"))
    assert "{" not in repr([c.value for c in row.children])


def test_arrays_use_the_element_label_and_booleans_are_words(types: TypeRegistry) -> None:
    rows = claim_rows({"nationalities": ["SY", "LB"], "age_over_18": True}, types[IDENTITY], "fa")
    assert rows[0].label == Text(types[IDENTITY].label(("nationalities",), "fa"))  # the array's own label
    assert [c.value for c in rows[0].children] == ["SY", "LB"]
    assert rows[0].children[0].label == localized({d["locale"]: d["label"] for d in _element_display(types)}, "fa", "")
    assert rows[1].value == i18n.t("fa", "desk.yes")
    # Each row wears the pictogram its type names; an element its array's (nationalities -> flag).
    assert (rows[0].pictogram, rows[0].children[0].pictogram, rows[1].pictogram) == ("flag", "flag", "user-check")


def _element_display(types: TypeRegistry) -> list[dict[str, str]]:
    for claim in types[IDENTITY].metadata["claims"]:
        if claim["path"] == ["nationalities", None]:
            return list(claim["display"])
    raise AssertionError("IdentityBasic has an element label")


def test_unknown_claims_and_types_fall_back_to_the_path_and_english_is_marked() -> None:
    assert claim_rows({"a.b": 1}, None, "ar") == (Row(Text("a.b"), "1", pictogram="point"),)
    assert localized({"en": "City"}, "ar", "x") == Text("City", "en")
    assert localized({"en": "City"}, "en", "x") == Text("City")
    assert localized({}, "ar", "https://issuer") == Text("https://issuer")


def test_every_status_word_and_refusal_is_in_the_page_language(types: TypeRegistry) -> None:
    for lang in i18n.supported():
        assert status_word("valid", lang) == i18n.t(lang, "desk.status.valid")
        assert status_word("something-new", lang) == i18n.t(lang, "desk.status.unknown")
    assert status_word(None, "ar") is None
    result = {"accepted": False, "reason": "revoked", "detail": "a credential is revoked", "credentials": [
        {"vct": SKILL, "type_names": {"en": "Skill certificate", "ar": "شهادة مهارة"}, "issuer": "https://i",
         "issuer_names": {"en": "Open Doors"}, "claims": {"eqf_level": 3}, "status": "revoked"}]}
    view = result_view(result, types, "ar")
    assert view.reason == i18n.t("ar", "desk.reason.revoked") and not view.accepted
    [c] = view.credentials
    assert c.type_name == Text("شهادة مهارة") and c.issuer == Text("Open Doors", "en")
    assert c.status == "ملغاة"
    assert result_view({"accepted": False, "reason": "weird_code"}, types, "uk").reason == i18n.t(
        "uk", "desk.reason.other")


def test_the_audit_names_claims_by_their_labels(types: TypeRegistry) -> None:
    from verifier.display import claim_names

    assert claim_names(["skill", "eqf_level"], types[SKILL], "uk") == (
        Text("Навичка"), Text("Рівень (від 1 до 8, європейська шкала)"))
    assert claim_names(["odd name!"], None, "ar") == (Text("odd name!"),)  # shown as it is
