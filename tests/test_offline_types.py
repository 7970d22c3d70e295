"""The compact type registry agrees with specs/credentials, and compact values decode to exactly their SD-JWT values."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.credtypes import TypeRegistry
from core.errors import MalformedOfflineQR
from core.offline.types import SKILL_CERTIFICATE, TYPES, by_code


@pytest.mark.parametrize("ctype", TYPES, ids=lambda t: t.name)
def test_each_compact_type_names_every_top_level_claim_with_its_schema_form(ctype, types: TypeRegistry) -> None:  # type: ignore[no-untyped-def]
    full = types.by_name(ctype.name)
    assert full.vct == ctype.vct and by_code(ctype.code) is ctype
    top = [rule.path[0] for rule in full.rules if len(rule.path) == 1]
    assert [c.name for c in ctype.claims] == top
    assert sorted({c.key for c in ctype.claims}) == [c.key for c in ctype.claims]  # distinct, registered in order
    props = full.schema["properties"]
    for claim in ctype.claims:
        schema = props[claim.name]
        if claim.kind == "enum":
            assert tuple(schema["enum"]) == claim.enum  # append-only: a new value goes at the end of both
        if claim.kind == "date":
            assert schema.get("format") == "date"
    decoded = {name: ctype.by_name(name).decode(ctype.by_name(name).encode(v)) for name, v in full.example.items()}
    assert decoded == dict(full.example)


@given(st.uuids(), st.sampled_from(["skill", "occupation"]), st.text(min_size=1, max_size=40))
def test_esco_uris_compact_to_their_uuid_and_back(uid, kind, label) -> None:  # type: ignore[no-untyped-def]
    codec = SKILL_CERTIFICATE.by_name("skill")
    value = {"uri": f"http://data.europa.eu/esco/{kind}/{uid}", "label": label}
    raw = codec.encode(value)
    assert isinstance(raw[0], bytes) and len(raw[0]) == (16 if kind == "skill" else 17)
    assert codec.decode(raw) == value


@given(st.dates(min_value=dt.date(1696, 3, 17), max_value=dt.date(2243, 10, 17)))
def test_dates_compact_to_days_and_back(day) -> None:  # type: ignore[no-untyped-def]
    codec = SKILL_CERTIFICATE.by_name("awarded_on")
    assert codec.decode(codec.encode(day.isoformat())) == day.isoformat()


@pytest.mark.parametrize(("name", "raw"), [
    ("skill", ["http://data.europa.eu/esco/skill/0e4a3c5a-6b6f-4a8a-9e1b-3f5c2d7a8b90", "x"]),  # canonical as text
    ("skill", [b"\x02" + bytes(16), "x"]), ("skill", [bytes(15), "x"]), ("skill", [bytes(16)]),
    ("assessment_method", 6), ("assessment_method", -1), ("assessment_method", "practical_test"),
    ("eqf_level", True), ("eqf_level", 70000), ("awarded_on", "2026-10-30"), ("awarded_on", 100_001),
    ("awarded_on", -100_001),
    ("given_name", ""), ("given_name", 5), ("given_name", "x" * 301),
])
def test_every_other_form_is_refused(name: str, raw: object) -> None:
    with pytest.raises(MalformedOfflineQR):
        SKILL_CERTIFICATE.by_name(name).decode(raw)


@pytest.mark.parametrize(("claim", "value"), [
    ("eqf_level", 70000), ("given_name", "x" * 301), ("awarded_on", "3000-01-01"), ("assessment_method", "guessing"),
    ("skill", {"uri": "x"})])
def test_issuance_refuses_a_value_the_compact_form_cannot_carry_exactly(claim: str, value: object) -> None:
    from core.errors import InvalidClaims
    from tests.offline_kit import SKILL, World

    with pytest.raises(InvalidClaims):
        World().issue({**SKILL, claim: value})
