"""core.esco and core.esco_index: the vendored ESCO skills, searched by words and checked by URI.

Most tests build a small classification of their own; the last few read the vendored index
(``make setup`` builds it) and are skipped, saying so, where it was not built.
"""

from __future__ import annotations

import gzip
import unicodedata

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from core import esco, esco_index
from core.errors import EscoUnavailable, InvalidClaims, UnknownEscoSkill

FORKLIFT = "http://data.europa.eu/esco/skill/28cb374e-6261-4133-8371-f9a5470145da"
MADE_UP = "http://data.europa.eu/esco/skill/0e4a3c5a-6b6f-4a8a-9e1b-3f5c2d7a8b90"
LINES = [
    "28cb374e-6261-4133-8371-f9a5470145da\toperate forklift\toperate forklift use a forklift drive a forklift\n",
    "3c84f7d9-7a3e-4343-814f-31de0aa61651\tconduct forklift inspections\tconduct forklift inspections\n",
    "a6bbc19a-381c-4c60-a79a-41dea2d1a422\tdrive agricultural machines\tdrive agricultural machines drive forklifts\n",
    "11111111-2222-4333-8444-555555555555\tsupervise café staff\tsupervise café staff manage café employees\n",
    "22222222-2222-4333-8444-555555555555\tforklift truck safety\tforklift truck safety\n",
]
vendored = pytest.mark.skipif(not esco.INDEX.exists(), reason="the ESCO index is not built: make setup")


@pytest.fixture(scope="module")
def small() -> esco.Classification:
    return esco.Classification(LINES)


def test_prefix_of_the_preferred_label_first_then_a_word_of_it_then_alternative_labels(
        small: esco.Classification) -> None:
    found = [s.label for s in small.search("forklift")]
    assert found == ["forklift truck safety", "operate forklift", "conduct forklift inspections",
                     "drive agricultural machines"]
    assert [s.label for s in small.search("operate fork")] == ["operate forklift"]
    assert small.search("nothing like it") == [] and small.search("   ") == [] and small.search("") == []


def test_search_ignores_case_and_accents(small: esco.Classification) -> None:
    assert [s.label for s in small.search("CAFE")] == ["supervise café staff"]
    assert [s.label for s in small.search("Café Employees")] == ["supervise café staff"]
    assert small.search("FORKLIFT") == small.search("forklift") == small.search("förklift")


def test_a_skill_by_uri(small: esco.Classification) -> None:
    skill = small.get(FORKLIFT)
    assert skill is not None and skill.label == "operate forklift" and skill.also == "use a forklift drive a forklift"
    assert small.get(MADE_UP) is None and small.get("operate forklift") is None


def test_a_made_up_skill_uri_is_refused_naming_the_path_never_the_value(small: esco.Classification) -> None:
    esco.check_claims({"skill": {"uri": FORKLIFT, "label": "x"}}, small)
    esco.check_claims({"given_name": "Layla"}, small)  # nothing to check: the index is not even needed
    with pytest.raises(UnknownEscoSkill) as refused:
        esco.check_claims({"skill": {"uri": MADE_UP, "label": "operate forklift"}}, small)
    assert isinstance(refused.value, InvalidClaims) and refused.value.code == "unknown_esco_skill"
    assert "skill.uri" in refused.value.detail and MADE_UP not in refused.value.detail
    with pytest.raises(UnknownEscoSkill):
        esco.check_claims({"skills": [{"uri": FORKLIFT}, {"uri": MADE_UP}]}, small)


def test_without_the_index_a_skill_uri_is_refused_not_waved_through(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(esco, "INDEX", esco.INDEX.with_name("missing.tsv.gz"))
    esco.classification.cache_clear()
    try:
        with pytest.raises(EscoUnavailable) as refused:
            esco.check_claims({"skill": {"uri": FORKLIFT}})
        assert refused.value.status == 503
    finally:
        esco.classification.cache_clear()


@given(st.text())
@example("\U0001f130")  # squared A: decomposes to a capital after case folding (CI found it)
def test_normalise_is_idempotent_lower_case_and_accent_free(text: str) -> None:
    once = esco.normalise(text)
    assert esco.normalise(once) == once
    assert once == once.strip() and "  " not in once
    assert not any(unicodedata.combining(c) for c in unicodedata.normalize("NFKD", once))


@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126)))
def test_normalise_ignores_case(text: str) -> None:
    assert esco.normalise(text.upper()) == esco.normalise(text.lower()) == esco.normalise(text)


@given(st.text(alphabet=st.characters(categories=("Ll", "Lu", "Nd", "Zs", "Po", "Mn"))))
def test_normalise_keeps_only_letters_digits_and_single_spaces(text: str) -> None:
    assert all(c.isalnum() or c == " " for c in esco.normalise(text))


@given(st.text())
def test_search_never_fails_and_finds_only_what_contains_the_words(query: str) -> None:
    known = esco.Classification(LINES)
    words = esco.normalise(query[:esco.QUERY_MAX])
    for skill in known.search(query):
        assert words in esco.normalise(skill.terms)


def test_the_index_builder_recovers_the_preferred_label() -> None:
    text = ("operate forklift use a forklift drive forklift drive a forklift operate a forklift run a forklift "
            "Operate a forklift, a vehicle with a pronged device in front for lifting and carrying heavy loads.")
    assert esco_index.split_labels(text) == (
        "operate forklift", "operate forklift use a forklift drive forklift drive a forklift operate a forklift "
        "run a forklift")
    assert esco_index.split_labels("Oracle WebLogic The application server Oracle WebLogic is a server.")[0] == \
        "Oracle WebLogic"
    assert esco_index.split_labels("manage musical staff manage staff of music direct musical staff Assign "
                                   "and manage staff tasks.")[0] == "manage musical staff"


def test_the_index_builder_skips_rows_that_are_not_esco_skills() -> None:
    csv_text = ("id,description\n"
                f"{FORKLIFT},\"operate forklift use a forklift Operate a forklift.\"\n"
                "http://data.europa.eu/esco/occupation/00030d09-2b3a-4efd-87cc-c4ea39d27c34,technical director\n"
                "http://data.europa.eu/esco/skill/not-a-uuid,something\n"
                "http://data.europa.eu/esco/skill/3c84f7d9-7a3e-4343-814f-31de0aa61651,\"tab\there x Y z.\"\n")
    lines = gzip.decompress(esco_index.build(csv_text)).decode().splitlines(keepends=True)
    assert len(lines) == 2 and all(line.count("\t") == 2 for line in lines)
    built = esco.Classification(lines)
    assert built.get(FORKLIFT) is not None and built.get(FORKLIFT).label == "operate forklift"  # type: ignore[union-attr]


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300))
def test_the_label_splitter_never_fails_and_keeps_words_in_order(text: str) -> None:
    label, terms = esco_index.split_labels(text)
    assert terms.startswith(label) and (label or not text.split()) and len(terms) <= len(" ".join(text.split()))


@vendored
def test_the_vendored_classification_has_every_esco_skill() -> None:
    every = esco.classification()
    assert len(every) == 13939
    assert every.get(FORKLIFT) is not None and every.get(MADE_UP) is None
    assert every.search("forklift")[0].uri == FORKLIFT
    assert every.search("Forklift") == every.search("forklift")
