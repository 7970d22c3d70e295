"""A claim's value in the reader's words (core.credtypes ``value_display``, ``value_text``): a
code such as ``practical_test`` shown as "Practical test" in each of the nine languages, a date
as the reader reads one, on the holder's card, the desk's result and the console's form."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest

from core import local_forms
from core.credtypes import REQUIRED_LOCALES, TypeRegistry, load_type
from core.errors import InvalidInput
from core.settings import REPO_ROOT
from issuer.forms import fields
from verifier.display import claim_rows
from wallet.labels import shown_claims

SKILL = "urn:amana:credential:SkillCertificate:1"
REGISTRATION = "urn:amana:credential:RegistrationStatus:1"
SPECS = REPO_ROOT / "specs" / "credentials"


def test_every_code_of_every_enum_has_words_in_every_language(types: TypeRegistry) -> None:
    for ctype in types.values():
        for rule in ctype.rules:
            codes = ctype.schema.get("properties", {}).get(rule.path[0], {}).get("enum", ()) if len(rule.path) == 1 \
                else ()
            for code in codes:
                words = rule.values.get(code, {})
                assert set(REQUIRED_LOCALES) <= set(words), (ctype.name, rule.path, code)
                assert all(w and w != code for w in words.values()), (ctype.name, code)


def test_a_code_and_a_date_in_the_readers_words(types: TypeRegistry) -> None:
    skill, registration = types[SKILL], types[REGISTRATION]
    assert skill.value_text(("assessment_method",), "practical_test", "en") == "Practical test"
    assert skill.value_text(("assessment_method",), "practical_test", "ar") == "اختبار عملي"
    assert registration.value_text(("status_category",), "refugee", "uk") == "Біженець"
    dari = skill.value_text(("awarded_on",), "2026-10-30", "fa_AF")
    assert dari == local_forms.local_date(date(2026, 10, 30), "fa_AF") and dari.startswith("۸ عقرب ۱۴۰۵")
    assert skill.value_text(("eqf_level",), 3, "en") is None  # nothing to say beyond the number
    assert skill.value_text(("assessment_method",), "not_a_code", "en") is None
    assert skill.value_text(("awarded_on",), "30/10/2026", "en") is None  # not a date: shown as it is


def test_the_card_the_desk_and_the_console_say_the_words(types: TypeRegistry) -> None:
    skill = types[SKILL]
    claims = {"assessment_method": "practical_test", "awarded_on": "2026-10-30"}
    card = dict(shown_claims(claims, skill, "fr"))
    assert card[("assessment_method",)] == "Épreuve pratique" and card[("awarded_on",)] == "30 octobre 2026"
    rows = {row.label.text: row.value for row in claim_rows(claims, skill, "en")}
    assert "Practical test" in rows.values() and "October 30, 2026" in rows.values()
    [method] = [f for f in fields(skill, "ar") if f.name == "assessment_method"]
    assert ("practical_test", "اختبار عملي") in method.choices  # the code is sent, the words are shown


@pytest.mark.parametrize("code", ["not_a_code", None, "practical_test"])
def test_words_for_a_code_outside_the_enum_or_twice_are_refused(tmp_path: Path, code: str | None) -> None:
    folder = tmp_path / "SkillCertificate"
    shutil.copytree(SPECS / "SkillCertificate", folder)
    metadata = json.loads((folder / "type-metadata.json").read_text(encoding="utf-8"))
    [entry] = [c for c in metadata["claims"] if c["path"] == ["assessment_method"]]
    entry["value_display"].append({"value": code, "display": [{"locale": "en", "label": "x"}]})
    (folder / "type-metadata.json").write_text(json.dumps(metadata), encoding="utf-8")
    with pytest.raises(InvalidInput, match="value_display"):
        load_type(folder)
