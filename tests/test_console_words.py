"""The console says what to mend in its reader's language (helper-90: a French trainer read
"Ligne 5 : SkillCertificate: given_name: required"): each field by its label, each rule in plain
words, every problem of a row at once, the file's own refusals too; the API keeps its English
detail and gains the same problems as data. Never a value, in any of them."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from core import i18n, local_forms
from core.credtypes import TypeRegistry
from core.errors import InvalidClaims, InvalidInput, Problem
from issuer import classes, console_words
from tests.conftest import console_app
from tests.test_console_offers import FORM, Client, _api, _class
from tests.test_issuer_console import SKILL_URI, _csrf, _signed_in

NBSP = "\u00a0"


def _text(page: str) -> str:
    """What a person reads: without the ``<bdi>`` isolation around each value, unescaped."""
    return html.unescape(re.sub(r"</?bdi>", "", page))


@pytest.fixture(scope="module")
def app_and_key(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    yield from console_app(tmp_path_factory.mktemp("console-words"))


def _claims(**changed: Any) -> dict[str, Any]:
    claims = {"given_name": "Amina", "family_name": "Rahimi", "skill": {"uri": SKILL_URI, "label": "welding"},
              "eqf_level": 3, "assessment_method": "practical_test", "issuing_organisation": "Open Doors",
              "awarded_on": "2026-11-20"}
    claims.update(changed)
    return {k: v for k, v in claims.items() if v is not None}


def test_each_schema_rule_is_a_problem_and_the_english_detail_is_as_before(types: TypeRegistry) -> None:
    ctype = types.by_name("SkillCertificate")
    with pytest.raises(InvalidClaims) as refused:
        ctype.check_issuance(_claims(given_name=None, family_name="R" * 201, eqf_level=11,
                                     assessment_method="exam", awarded_on="20/11/2026"))
    by_rule = {p.rule: p for p in refused.value.problems}
    assert by_rule["required"].where == "given_name"
    assert (by_rule["at_most_chars"].where, by_rule["at_most_chars"].bound) == ("family_name", "200")
    assert (by_rule["at_most"].where, by_rule["at_most"].bound) == ("eqf_level", "8")
    assert by_rule["one_of"].where == "assessment_method" and '"practical_test"' in by_rule["one_of"].bound
    assert by_rule["date"].where == "awarded_on"
    # The API's detail is the problems' English, as it was; no value in either.
    assert refused.value.detail.startswith("SkillCertificate: ")
    assert "given_name: required" in refused.value.detail and "awarded_on: a date, YYYY-MM-DD" in refused.value.detail
    for text in (refused.value.detail, *map(repr, refused.value.problems)):
        assert "RRRR" not in text and "exam" not in text.replace("written_exam", "") and "20/11" not in text


def test_a_row_is_told_every_problem_at_once_and_a_mistyped_cell_is_not_also_missing(types: TypeRegistry) -> None:
    ctype = types.by_name("SkillCertificate")
    defaults = {k: v for k, v in _claims().items() if k not in ("given_name", "eqf_level")}
    with pytest.raises(InvalidClaims) as refused:
        classes.claims_from_cells(ctype, [(("given_name",), ""), (("eqf_level",), "onze")], defaults)
    assert [(p.where, p.rule) for p in refused.value.problems] == [("eqf_level", "integer"), ("given_name", "required")]
    # awarded_on typed wrong and required: said as "not a date", not also as "missing"
    with pytest.raises(InvalidClaims) as refused:
        classes.claims_from_cells(ctype, [(("eqf_level",), "onze"), (("given_name",), "Amina")],
                                  {k: v for k, v in defaults.items() if k != "awarded_on"}
                                  | {"awarded_on": "2026-11-20"})
    assert [(p.where, p.rule) for p in refused.value.problems] == [("eqf_level", "integer")]


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_every_rule_is_worded_in_every_language_with_its_name_and_bound(types: TypeRegistry, lang: str) -> None:
    ctype = types.by_name("SkillCertificate")
    label = _text(next(f.label for f in console_words.forms.fields(ctype, lang) if f.name == "eqf_level"))
    named = {"required", "one_of", "many_codes", "date", "date_time", "integer", "number", "boolean", "at_most",
             "at_least", "at_most_chars", "at_least_chars", "pattern"}  # a field's rules; the rest are the file's
    bounded = {"at_most", "at_least", "at_most_chars", "at_least_chars", "file_too_big", "too_many_rows",
               "file_unreadable", "unknown_column", "no_header", "one_of", "copies"}
    for rule in sorted(console_words._WORDED):
        text = _text(console_words.problem_text(Problem("eqf_level", rule, "97"), ctype, lang))
        assert "{" not in text and "console." not in text, (lang, rule, text)
        if rule in named:
            assert label in text, (lang, rule, text)
        if rule in bounded:  # the bound, in the reader's digits
            assert local_forms.local_number(97, lang) in text or (rule == "one_of" and "97" in text), (lang, rule, text)
        if lang != "en":
            assert text != _text(console_words.problem_text(Problem("eqf_level", rule, "97"), ctype, "en"))
    in_file = _text(console_words.problem_text(Problem("eqf_level", "required"), ctype, lang, in_file=True))
    assert label in in_file and "eqf_level" in in_file  # in a file, the column its header names too
    # a rule this console has no words for is still said, by the field and in the reader's language
    other = console_words.problem_text(Problem("eqf_level", "multipleOf", "2"), ctype, lang)
    assert other == i18n.t_isolated(lang, "console.rule.other", name=label)


def test_a_french_console_says_a_bad_row_in_french_naming_label_and_column(app_and_key: Client) -> None:
    client, key = app_and_key
    r = _class(client, key, "mars.csv", "given_name,family_name,eqf_level\nAmina,Rahimi,3\n,Haddad,onze\n", lang="fr")
    assert r.status_code == 200, r.text
    said = re.search(r'<section class="card errors no-print">.*?<li>(.*?)</li>', r.text, re.S)
    assert said is not None
    text = _text(said.group(1))
    assert text.startswith(f"Ligne 3{NBSP}: ")
    level = "Niveau (de 1 à 8, échelle européenne)"
    assert f"{level} (colonne «{NBSP}eqf_level{NBSP}»){NBSP}: écrivez un nombre entier" in text
    assert f"Prénom (colonne «{NBSP}given_name{NBSP}»){NBSP}: à remplir." in text
    assert "required" not in text and "SkillCertificate" not in text  # not the API's English
    assert i18n.t("fr", "console.rows_not_made") in _text(r.text)  # and what to send again (helper-92)
    nothing = _class(client, key, "avril.csv", "given_name,eqf_level\n,onze\n", lang="fr")
    assert nothing.status_code == 200 and 'class="sheet"' not in nothing.text
    assert i18n.t("fr", "console.nothing_made") in _text(nothing.text) and 'class="back"' in nothing.text
    assert "onze" not in text and "Haddad" not in text  # never a value


def test_an_arabic_console_names_an_unknown_column_and_the_columns_it_takes(app_and_key: Client) -> None:
    client, key = app_and_key
    r = _class(client, key, "x.csv", "given_name,surname\nAmina,Rahimi\n", lang="ar")
    assert r.status_code == 400
    assert "العمود B في السطر الأول ليس حقلًا في هذه الشهادة" in _text(r.text) and "given_name, family_name" in r.text
    empty = _class(client, key, "x.csv", "given_name,family_name\n", lang="ar")
    assert empty.status_code == 400 and i18n.t("ar", "console.rule.no_rows") in empty.text
    latin1 = client.post("/issuer/console/class", data={
        "csrf": _csrf(_signed_in(client, key)), "lang": "ar", "copies": "1", "type": "SkillCertificate"},
        files={"csv": ("x.csv", "given_name\nJosé\n".encode("latin-1"), "text/csv")})
    assert latin1.status_code == 400 and i18n.t("ar", "console.rule.not_utf8") in latin1.text


def test_a_file_without_a_header_row_is_said_so_without_echoing_its_first_trainee(app_and_key: Client) -> None:
    """A file saved without its header: its first row (a trainee's name) is not a column to name back."""
    client, key = app_and_key
    r = _class(client, key, "x.csv", "Amina,Rahimi\nOlena,Kovalenko\n", lang="fr")
    assert r.status_code == 400 and "La première ligne doit nommer les colonnes" in _text(r.text)
    said = " ".join(re.findall(r'<p class="(?:notice|field-error)"[^>]*>(.*?)</p>', r.text, re.S))
    assert "given_name, family_name" in said and "Amina" not in said and "Rahimi" not in said
    assert "Amina" not in r.text and "Kovalenko" not in r.text  # the file's cells nowhere on the page
    # a first row with one column word among the names (helper-93): the others are named by place, not echoed
    for first in ("Amina SECRET,Rahimi,reference", "given_name,Amina SECRET", 'given_name,"[Amina SECRET"'):
        mixed = _class(client, key, "x.csv", f"{first}\nOlena,Kovalenko,x\n", lang="fr")
        assert mixed.status_code == 400 and "SECRET" not in mixed.text, first
        assert "La colonne " in _text(mixed.text) and " de la première ligne n'est pas un champ" in _text(mixed.text)
        api = client.post("/api/issuer/classes", headers=_api(client, key),
                          json={"type": "SkillCertificate", "csv": f"{first}\nOlena,Kovalenko,x\n"})
        assert api.status_code == 400 and "SECRET" not in api.text, first


def test_a_refused_file_is_said_at_its_button_and_the_class_wide_values_stay(app_and_key: Client) -> None:
    """helper-92: a refused file was said only at the top (1,600 px up on a phone) and the class form
    came back empty: the skill, the organisation, the date, the reference and the copies lost."""
    client, key = app_and_key
    r = _class(client, key, "x.csv", "Amina,Rahimi\n", lang="fr", reference="Soudure mars", copies="5",
               pin_slip="yes")
    assert r.status_code == 400
    form = re.search(r'<form[^>]*action="/issuer/console/class".*?</form>', r.text, re.S)
    assert form is not None
    picker = re.search(r'<input type="file" name="csv"[^>]*>', form.group(0))
    assert picker and 'aria-invalid="true"' in picker.group(0) and "autofocus" in picker.group(0)
    error = re.search(r'<p class="field-error" id="csv-error-SkillCertificate">(.*?)</p>', form.group(0), re.S)
    assert error and "La première ligne doit nommer les colonnes" in _text(error.group(1))
    for kept in ('name="default:skill.label"[^>]*value="welding"', 'name="reference"[^>]*value="Soudure mars"',
                 'name="copies"[^>]*value="5"', 'name="pin_slip" value="yes" checked',
                 'value="practical_test" selected'):
        assert re.search(kept, form.group(0)), kept
    offer_form = re.search(r'<form[^>]*action="/issuer/console/offer".*?</form>', r.text, re.S)
    assert offer_form and 'value="welding"' not in offer_form.group(0)  # the other form is left alone


def test_the_class_form_lists_every_column_and_gives_a_file_with_them(app_and_key: Client,
                                                                     types: TypeRegistry) -> None:
    """helper-92: the trainer guessed the columns (the help named three). Each is listed beside its label,
    and an empty file with them is one click away, in the separator the reader's spreadsheet expects."""
    client, key = app_and_key
    _signed_in(client, key)
    anonymous = TestClient(client.app, base_url=str(client.base_url))  # no session cookie
    assert anonymous.get("/issuer/console/class-file/SkillCertificate.csv").status_code == 403  # staff only
    page = client.get("/issuer/console?lang=fr").text
    guide = re.search(r'<details class="columns">(.*?)</details>', page, re.S)
    assert guide and '<code dir="ltr">given_name</code> — Prénom' in guide.group(1)
    assert '<code dir="ltr">reference</code>' in guide.group(1) and "eqf_level" in guide.group(1)
    for lang, separator in (("fr", ";"), ("en", ","), ("ar", ",")):
        got = client.get(f"/issuer/console/class-file/SkillCertificate.csv?lang={lang}")
        assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
        assert "attachment" in got.headers["content-disposition"] and got.headers["cache-control"] == "no-store"
        text = got.content.decode("utf-8")
        assert text.startswith("\ufeffgiven_name" + separator + "family_name")
        header = text.removeprefix("\ufeff").strip().split(separator)
        assert header == classes.columns_of(types.by_name("SkillCertificate"))
        row = separator.join({"given_name": "Amina", "family_name": "Rahimi", "language": "fa-AF"}.get(c, "")
                             for c in header)
        rows = classes.parse(text + row + "\r\n", types.by_name("SkillCertificate"),
                             {k: v for k, v in _claims().items() if k not in ("given_name", "family_name")}, lang)
        assert rows[0].claims is not None and rows[0].language == "fa_AF"  # the file reads back as it is
    assert client.get("/issuer/console/class-file/NoSuchType.csv").status_code == 400  # not a type it issues


def test_mended_rows_sent_again_under_the_same_reference_are_told_apart(app_and_key: Client) -> None:
    """helper-94: the refused rows, mended and sent again as the page advises, were numbered from 2 again
    under the same reference: two trainees were "Cariste #2". The second class's reference is made unique."""
    client, key = app_and_key
    first = _class(client, key, "x.csv", "given_name,eqf_level\nAmira,3\n,onze\nSami,x\n", reference="Cariste nov")
    assert first.status_code == 200 and "Cariste nov #2" in first.text
    mended = _class(client, key, "x.csv", "given_name,eqf_level\nNadia,4\nSami,5\n", reference="Cariste nov")
    assert mended.status_code == 200 and "Cariste nov (2) #2" in mended.text and "Cariste nov (2) #3" in mended.text
    listed = {o["reference"] for o in client.get("/api/issuer/offers?limit=500", headers=_api(client, key)).json()}
    assert {"Cariste nov #2", "Cariste nov (2) #2", "Cariste nov (2) #3"} <= listed


def test_a_page_sent_again_without_its_file_is_told_it_was_sent(app_and_key: Client) -> None:
    """helper-94: a reload that came without the file was told "the file is empty", and the fresh page
    it answered with made the whole class a second time. The page's value is looked at first."""
    client, key = app_and_key
    home = _signed_in(client, key)
    once = re.search(r'action="/issuer/console/class".*?name="once" value="([^"]+)"', home, re.S)
    assert once is not None
    data = {**{f"default:{k}": v for k, v in FORM.items() if k not in ("lang", "type", "given_name", "copies",
                                                                         "holder_language")},
            "csrf": _csrf(home), "once": once[1], "lang": "fr", "copies": "1", "type": "SkillCertificate"}
    made = client.post("/issuer/console/class", data=data, files={"csv": ("x.csv", "given_name\nAmira\n", "text/csv")})
    assert made.status_code == 200
    again = client.post("/issuer/console/class", data=data, files={"csv": ("", b"", "application/octet-stream")})
    assert again.status_code == 409 and i18n.t("fr", "console.sent_already") in _text(again.text)


def test_a_class_wide_mistake_is_said_at_its_field_and_no_file_at_the_button(app_and_key: Client) -> None:
    """helper-94: a bad copies value or class-wide level was said at the file button, so the trainer
    went to mend a file that was fine; a form sent with no file picked was told the file was empty."""
    client, key = app_and_key
    r = _class(client, key, "x.csv", "given_name\nAmira\n", lang="fr", copies="trois")
    assert r.status_code == 400
    assert re.search(r'<p class="field-error" id="class-copies-error-SkillCertificate"><bdi>Copies', r.text)
    assert 'id="csv-error-SkillCertificate"' not in r.text
    r = _class(client, key, "x.csv", "given_name\nAmira\n", lang="fr", **{"default:eqf_level": "onze"})
    level = re.search(r'<p class="field-error" id="err-SkillCertificate-default-eqf_level">(.*?)</p>', r.text, re.S)
    assert r.status_code == 400 and level and "écrivez un nombre entier" in _text(level.group(1))
    assert 'id="csv-error-SkillCertificate"' not in r.text and "(colonne" not in _text(level.group(1))
    home = _signed_in(client, key)
    r = client.post("/issuer/console/class", data={"csrf": _csrf(home), "lang": "fr", "type": "SkillCertificate"},
                    files={"csv": ("", b"", "application/octet-stream")})
    at = re.search(r'<p class="field-error" id="csv-error-SkillCertificate">(.*?)</p>', r.text, re.S)
    assert r.status_code == 400 and at and _text(at.group(1)) == i18n.t("fr", "console.rule.no_file")


@pytest.mark.parametrize(("lang", "awarded", "method", "read"), [
    ("fr", "30/10/2026", "Épreuve pratique", True), ("uk", "30.10.2026", "practical_test", True),
    ("en", "30.10.2026", "Practical test", True), ("en", "10/30/2026", "practical_test", False),
    ("fr", "31/02/2026", "practical_test", False)])
def test_a_spreadsheets_own_dates_and_words_for_codes_are_read(types: TypeRegistry, lang: str, awarded: str,
                                                                method: str, read: bool) -> None:
    """helper-94: French Excel saves a date typed 2026-10-30 as 30/10/2026 (Ukrainian 30.10.2026) and a
    trainer writes a method's words: such rows were refused. Day first, but "/" not in English (American
    month first); an impossible date is still refused."""
    ctype = types.by_name("SkillCertificate")
    defaults = {k: v for k, v in _claims().items() if k not in ("awarded_on", "assessment_method")}
    rows = classes.parse(f"given_name;awarded_on;assessment_method\nAmira;{awarded};{method}\n", ctype, defaults, lang)
    if read:
        assert rows[0].claims is not None and rows[0].claims["awarded_on"] == "2026-10-30"
        assert rows[0].claims["assessment_method"] == "practical_test"
    else:
        assert rows[0].claims is None and [p.rule for p in rows[0].problems] == ["date"]


def test_under_refused_rows_the_class_form_comes_again_filled_in(app_and_key: Client) -> None:
    """helper-94: the way back to send the mended rows lost the skill, the organisation, the reference
    and the copies. Under the refused rows the class form comes again, as it was, with a fresh page value."""
    client, key = app_and_key
    r = _class(client, key, "x.csv", "given_name,eqf_level\nAmira,3\n,onze\n", lang="fr", reference="Soudure déc",
               copies="4")
    assert r.status_code == 200 and 'class="sheet"' in r.text
    again = re.search(r'<div id="send-mended" class="no-print">(.*?)</div>\s*$', r.text.split("</main>")[0], re.S)
    assert again and 'href="#send-mended"' in r.text
    form = again.group(1)
    for kept in ('name="default:skill.label"[^>]*value="welding"', 'name="reference"[^>]*value="Soudure déc"',
                 'name="copies"[^>]*value="4"', 'value="practical_test" selected'):
        assert re.search(kept, form), kept
    once = re.search(r'name="once" value="([^"]+)"', form)
    mended = {**{f"default:{k}": v for k, v in FORM.items() if k not in ("lang", "type", "given_name", "copies",
                                                                           "holder_language")},
              "csrf": _csrf(form), "once": once[1] if once else "", "lang": "fr", "copies": "4",
              "type": "SkillCertificate", "reference": "Soudure déc"}
    sent = client.post("/issuer/console/class", data=mended,
                       files={"csv": ("x.csv", "given_name,eqf_level\nSami,2\n", "text/csv")})
    assert sent.status_code == 200 and "Soudure déc (2) #2" in sent.text  # told apart from the first #2
    nothing = _class(client, key, "x.csv", "given_name\n\n", lang="fr")
    assert "send-mended" not in nothing.text  # no rows refused: no form again


def test_a_header_typed_by_hand_names_its_columns_whatever_the_case(types: TypeRegistry) -> None:
    """helper-94: "Given_Name " (capitals, a space after) was refused as not a column."""
    ctype = types.by_name("SkillCertificate")
    defaults = {k: v for k, v in _claims().items() if k not in ("given_name", "family_name")}
    rows = classes.parse("Given_Name ;family name;Skill.Label\nAmira;Haddad;soudure\n", ctype, defaults, "fr")
    assert rows[0].claims is not None and rows[0].claims["given_name"] == "Amira"
    assert rows[0].claims["family_name"] == "Haddad" and rows[0].claims["skill"]["label"] == "soudure"
    with pytest.raises(InvalidInput):
        classes.parse("given_name;givenname\nAmira;x\n", ctype, defaults, "fr")  # not a column, however close


def test_the_one_offer_form_says_each_problem_at_its_field_in_the_readers_language(app_and_key: Client) -> None:
    client, key = app_and_key
    home = _signed_in(client, key)
    form = {**FORM, "csrf": _csrf(home), "lang": "fr", "eqf_level": "onze", "given_name": ""}
    r = client.post("/issuer/console/offer", data=form)
    assert r.status_code == 400
    at_level = re.search(r'<p class="field-error" id="err-SkillCertificate-eqf_level">(.*?)</p>', r.text)
    at_name = re.search(r'<p class="field-error" id="err-SkillCertificate-given_name">(.*?)</p>', r.text)
    assert at_level and "écrivez un nombre entier" in at_level.group(1)
    assert at_name and "à remplir" in at_name.group(1)
    assert 'aria-describedby="err-SkillCertificate-eqf_level"' in r.text


def test_copies_out_of_range_are_refused_at_their_field_and_empty_means_three(app_and_key: Client,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """helper-92: 0, 11 and "trois" became 1 or 10 copies without a word, and an empty field 1."""
    from issuer import pages

    client, key = app_and_key
    asked: list[int] = []
    real = pages.make_offer

    async def counted(*args: Any, **kwargs: Any) -> Any:
        asked.append(args[3].batch_size)
        return await real(*args, **kwargs)

    monkeypatch.setattr(pages, "make_offer", counted)
    for typed in ("0", "11", "trois", "-2"):
        home = _signed_in(client, key)
        before = len(client.get("/api/issuer/offers", headers=_api(client, key)).json())
        r = client.post("/issuer/console/offer", data={**FORM, "csrf": _csrf(home), "lang": "fr", "copies": typed})
        assert r.status_code == 400, typed
        at = re.search(r'<p class="field-error" id="err-SkillCertificate-copies">(.*?)</p>', r.text)
        assert at and _text(at.group(1)) == "Copies sur le téléphone\u00a0: écrivez un nombre de 1 à 10.", typed
        assert 'aria-invalid="true"' in re.search(r'<input name="copies"[^>]*>', r.text).group(0)  # type: ignore[union-attr]
        assert len(client.get("/api/issuer/offers", headers=_api(client, key)).json()) == before  # nothing made
    for typed, copies in (("", 3), ("٥", 5), (" 2 ", 2)):
        home = _signed_in(client, key)
        r = client.post("/issuer/console/offer", data={**FORM, "csrf": _csrf(home), "copies": typed})
        assert r.status_code == 200 and asked[-1] == copies, (typed, asked)


def test_the_api_keeps_its_english_and_gives_the_problems_as_data(app_and_key: Client) -> None:
    client, key = app_and_key
    body = {"type": "SkillCertificate", "csv": "given_name,eqf_level\n,9\n",
            "defaults": {k: v for k, v in _claims().items() if k not in ("given_name", "eqf_level")}}
    r = client.post("/api/issuer/classes", headers=_api(client, key), json=body)
    assert r.status_code == 201, r.text
    (error,) = r.json()["errors"]
    assert error["row"] == 2 and "given_name: required" in error["error"]
    assert {(p["where"], p["rule"], p["bound"]) for p in error["problems"]} == {
        ("given_name", "required", ""), ("eqf_level", "at_most", "8")}


def test_a_node_without_the_esco_index_refuses_the_file_not_each_row(types: TypeRegistry,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The node's own fault (503) is not a trainee's row error (helper-93: every row read "the ESCO
    skills index is missing: run `make setup`", a shell command to a trainer, and the file answered 200),
    also where a row has a mistyped cell besides."""
    from core import esco
    from core.errors import EscoUnavailable

    ctype = types.by_name("SkillCertificate")
    defaults = {k: v for k, v in _claims().items() if k != "eqf_level"}
    monkeypatch.setattr(esco, "INDEX", esco.INDEX.with_name("missing.tsv.gz"))
    esco.classification.cache_clear()
    try:
        for row in ("3", "onze"):
            with pytest.raises(EscoUnavailable):
                classes.parse(f"eqf_level\n{row}\n", ctype, defaults, "en")
    finally:
        esco.classification.cache_clear()


def test_a_refusal_without_problems_is_said_as_before(types: TypeRegistry) -> None:
    plain = InvalidInput("the offer is not open")
    assert console_words.refusal(plain, types.by_name("SkillCertificate"), "fr") == "the offer is not open"


@given(st.integers(min_value=0, max_value=20_000))
def test_a_header_cell_is_named_as_spreadsheets_name_its_column(index: int) -> None:
    """A, …, Z, AA, AB, …: the column's place in the reader's spreadsheet, in every language."""
    letters = classes.spreadsheet_column(index)
    assert letters.isascii() and letters.isupper() and letters.isalpha()
    back = 0
    for letter in letters:  # bijective base 26
        back = back * 26 + (ord(letter) - ord("A") + 1)
    assert back - 1 == index
    assert [classes.spreadsheet_column(i) for i in (0, 25, 26, 701, 702)] == ["A", "Z", "AA", "ZZ", "AAA"]


CELL = st.text(alphabet="abcdefghijklmnopqrstuvwxyzéأ ", min_size=1, max_size=10).map(lambda t: "Zq" + t)


@given(cells=st.lists(CELL, min_size=1, max_size=4),
       header=st.sampled_from(["given_name,family_name,eqf_level", "given_name,reference", "", "skill.label,language"]))
def test_no_refusal_of_a_class_file_ever_carries_a_cell(types: TypeRegistry, cells: list[str], header: str) -> None:
    """Whatever the file (a header or none, cells where numbers, codes or names go), neither the English
    detail, nor a problem, nor the console's words in any language holds what a cell says."""
    ctype = types.by_name("SkillCertificate")
    body = ",".join(cells)
    text = f"{header}\n{body}\n{body}\n" if header else f"{body}\n{body}\n"
    defaults = {k: v for k, v in _claims().items() if k not in ("given_name", "family_name", "eqf_level")}
    try:
        rows = classes.parse(text, ctype, defaults, "en")
    except InvalidInput as refused:
        said = [refused.detail, *map(repr, refused.problems),
                *(console_words.refusal(refused, ctype, lang, in_file=True) for lang in ("fr", "ar"))]
    else:
        said = [text for row in rows for text in (row.error or "", *map(repr, row.problems),
                                                   console_words.said(row.problems, ctype, "uk", in_file=True))]
    for cell in cells:
        assert not any(cell.strip() in str(s) for s in said), (cell, said)
