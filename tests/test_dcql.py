"""DCQL (OpenID4VP 1.0 section 6): the spec's examples parse, bad queries are refused, responses re-checked."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import dcql
from core.settings import Settings
from tests.conftest import VECTORS
from verifier import queries

EXAMPLES = sorted((VECTORS / "oid4vp" / "query_lang").glob("*.json"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_the_specs_examples(path: Any) -> None:
    doc = json.loads(path.read_text())
    formats = {c["format"] for c in doc["credentials"]}
    if formats == {"dc+sd-jwt"}:
        query = dcql.parse(doc)
        assert [c.id for c in query.credentials] == [c["id"] for c in doc["credentials"]]
    else:  # mdoc and other formats: a verifier's query refused clearly, not misread
        with pytest.raises(dcql.InvalidDcqlQuery, match="format"):
            dcql.parse(doc)
    # As a wallet reads it (section 5 "MUST process the DCQL query", 6.4.2): every query kept, those
    # in another format as queries no card answers (no types, no claims), credential sets intact.
    read = dcql.parse(doc, other_formats=True)
    assert [(c.id, c.format) for c in read.credentials] == [(c["id"], c["format"]) for c in doc["credentials"]]
    assert all(c.vct_values == () and c.claims is None for c in read.credentials if c.format != "dc+sd-jwt")
    assert (read.credential_sets is None) == ("credential_sets" not in doc)


@pytest.mark.parametrize("bad", [{"id": "m", "format": "mso_mdoc"},  # meta is required whatever the format
                                 {"id": "m", "format": "", "meta": {}}, {"id": "m", "format": 7, "meta": {}},
                                 {"id": "m", "format": "mso_mdoc", "meta": {}, "multiple": "yes"}])
def test_a_wallets_reading_still_refuses_malformed_queries_of_other_formats(bad: dict[str, Any]) -> None:
    with pytest.raises(dcql.InvalidDcqlQuery):
        dcql.parse({"credentials": [bad]}, other_formats=True)


def test_named_queries_load_and_are_minimal() -> None:
    named = queries.load(Settings().specs_dir)
    assert set(named) >= {"right-to-work", "skill-check", "age-over-18", "registered-resident"}
    assert [c.path for c in named["age-over-18"].query.credentials[0].claims or ()] == [("age_over_18",)]
    for q in named.values():
        assert q.purpose.startswith("https://w3id.org/dpv#") and {"en", "ar", "fa"} <= set(q.description)


BASE = {"id": "q", "format": "dc+sd-jwt", "meta": {"vct_values": ["urn:x"]}}


@pytest.mark.parametrize("bad", [
    {}, {"credentials": []}, {"credentials": [dict(BASE, id="has space")]},
    {"credentials": [BASE, BASE]},  # repeated id
    {"credentials": [dict(BASE, meta={})]}, {"credentials": [dict(BASE, meta={"vct_values": []})]},
    {"credentials": [dict(BASE, claims=[])]},
    {"credentials": [dict(BASE, claims=[{"path": []}])]},
    {"credentials": [dict(BASE, claims=[{"path": ["a", -1]}])]},
    {"credentials": [dict(BASE, claims=[{"path": ["a"], "values": []}])]},
    {"credentials": [dict(BASE, claim_sets=[["a"]])]},  # claim_sets without claims
    {"credentials": [dict(BASE, claims=[{"id": "a", "path": ["a"]}], claim_sets=[["b"]])]},
    {"credentials": [dict(BASE, claims=[{"path": ["a"]}], claim_sets=[["a"]])]},  # ids needed
    {"credentials": [dict(BASE, multiple="yes")]},
    {"credentials": [BASE], "credential_sets": [{"options": [["other"]]}]},
    {"credentials": [BASE], "credential_sets": []},
])
def test_invalid_queries_refused(bad: Any) -> None:
    with pytest.raises(dcql.InvalidDcqlQuery):
        dcql.parse(bad)


QUERY = dcql.parse({"credentials": [
    dict(BASE, claims=[{"id": "w", "path": ["work"], "values": [True]}, {"id": "u", "path": ["until"]}]),
    dict(BASE, id="opt", claims=[{"id": "a", "path": ["a"]}, {"id": "b", "path": ["b"]}],
         claim_sets=[["a", "b"], ["a"]]),
], "credential_sets": [{"options": [["q"]]}, {"options": [["opt"]], "required": False}]})


def _ok(claims: dict[str, Any], vct: str = "urn:x", bound: bool = True) -> dcql.Answer:
    return dcql.Answer(vct, claims, bound)


def test_response_rechecked() -> None:
    """The verifier's three parts of section 6.4: the response's shape, each presentation, and what
    the kept ones answer (verifier.verification discards a presentation that fails)."""
    good, opt_good = _ok({"work": True, "until": "2027"}), _ok({"a": 1})
    q, opt = QUERY.by_id("q"), QUERY.by_id("opt")
    assert q is not None and opt is not None
    assert dcql.shape_problem(QUERY, {"q": 1, "opt": 1}) is None
    assert dcql.answer_problem(q, good) is None and dcql.answer_problem(opt, opt_good) is None
    assert dcql.unanswered(QUERY, {"q"}) is None and dcql.unanswered(QUERY, {"q", "opt"}) is None
    assert dcql.shape_problem(QUERY, {"q": 2}) is not None  # multiple not allowed
    assert dcql.shape_problem(QUERY, {"q": 1, "unasked": 1}) is not None
    assert dcql.unanswered(QUERY, set()) is not None  # the required set unanswered
    assert dcql.unanswered(QUERY, {"opt"}) is not None
    for answer in (
        _ok({"work": True}),  # a claim missing
        _ok({"work": "true", "until": "x"}),  # values: type and value must match exactly
        _ok({"work": False, "until": "x"}),
        _ok({"work": True, "until": "x"}, vct="urn:other"),
        _ok({"work": True, "until": "x"}, bound=False),  # holder binding required by default
    ):
        assert dcql.answer_problem(q, answer) is not None, answer
    assert dcql.answer_problem(opt, _ok({"b": 1})) is not None  # no claim set satisfied


@pytest.mark.parametrize(("nationalities", "answers"), [
    (["LB", "SY"], True), (["SY"], True), (["LB"], False), ([], False), (["1", 1], False)])
def test_values_through_an_array_need_one_matching_element(nationalities: list[Any], answers: bool) -> None:
    """Section 6.3: "match exactly for at least one of the elements in the array". A path through an
    array (null) selects each element; one that matches is enough, as dcql-ts reads it (helper-66:
    every element had to match, so a holder of two nationalities never answered for one)."""
    query = dcql.parse({"credentials": [dict(BASE, id="n", claims=[{"path": ["nationalities", None],
                                                                     "values": ["SY", 7]}])]})
    asked = query.by_id("n")
    assert asked is not None
    problem = dcql.answer_problem(asked, _ok({"nationalities": nationalities}))
    assert (problem is None) is answers, problem
    assert dcql.claim_matches(asked.claims[0], {"nationalities": nationalities}) is answers  # the wallet's reading


def test_requested_claims_for_the_trust_list() -> None:
    assert dcql.requested_claims(QUERY) == [("urn:x", ("work",)), ("urn:x", ("until",)), ("urn:x", ("a",)),
                                            ("urn:x", ("b",))]


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                                          max_size=3), max_leaves=10)


@given(doc=json_values)
def test_parser_never_fails_otherwise(doc: Any) -> None:
    with contextlib.suppress(dcql.InvalidDcqlQuery):  # anything else escaping is the failure
        dcql.parse({"credentials": [doc]} if isinstance(doc, dict) else doc)
