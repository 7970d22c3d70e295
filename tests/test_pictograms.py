"""Pictograms (issue #17 item 3): every credential type, claim, verifier purpose and offer-sheet
step names one, every named one was vendored, and what is drawn inline is only shapes.

Needs the vendored icons (``make setup``/``make test``: scripts/vendor-pictograms).
"""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import pictograms
from core.credtypes import load_registry, load_type
from core.errors import InvalidInput
from core.settings import shipped
from wallet import dpv_labels

SPECS = shipped("specs")
TYPES = load_registry(SPECS)
VENDORED = pictograms.available()
pytestmark = pytest.mark.skipif(not VENDORED, reason="pictograms are not vendored: make setup does it")


@pytest.mark.parametrize("name", sorted(TYPES.keys()))
def test_every_credential_type_and_each_of_its_claims_names_a_vendored_pictogram(name: str) -> None:
    ctype = TYPES[name]
    assert ctype.metadata.get("pictogram") in VENDORED, ctype.name
    for entry in ctype.metadata["claims"]:  # its own, not inherited from a parent: a holder sees every one
        assert entry.get("pictogram") in VENDORED, (ctype.name, entry["path"])
    for rule in ctype.rules:
        assert pictograms.claim_pictogram(ctype, rule.path) != pictograms.fallback("claim")


def test_every_verifier_purpose_has_its_own_pictogram() -> None:
    asked = {json.loads(p.read_text(encoding="utf-8"))["purpose"] for p in (SPECS / "queries").glob("*.json")}
    assert asked, "no query found"
    for iri in asked | set(dpv_labels.PURPOSES):
        assert pictograms.purpose_pictogram(iri) != pictograms.fallback("purpose"), iri
        assert pictograms.purpose_pictogram(iri) in VENDORED, iri
    assert pictograms.purpose_pictogram("https://example.org/made-up") == pictograms.fallback("purpose")


def test_each_step_of_the_offer_sheet_has_a_pictogram() -> None:
    from core import i18n

    steps = [k for k in i18n.catalogues()["en"] if k.startswith("sheet.step")]
    assert len(pictograms.sheet_steps()) == len(steps) == 3
    assert set(pictograms.sheet_steps()) <= VENDORED


def test_everything_the_node_may_draw_was_vendored_with_its_licence() -> None:
    assert pictograms.named(TYPES) <= VENDORED
    assert "MIT License" in (pictograms.DIR / "LICENSE.tabler-icons").read_text(encoding="utf-8")
    # Only what is named: not the 5,000-icon set.
    assert pictograms.named(TYPES) == VENDORED


def test_a_pictogram_is_inline_shapes_hidden_from_screen_readers() -> None:
    drawn = str(pictograms.pictogram("certificate"))
    assert drawn.startswith('<svg class="icon"') and 'aria-hidden="true"' in drawn and "<path" in drawn
    assert "style" not in drawn and "icon-tabler" not in drawn and "M0 0h24v24H0z" not in drawn


def test_pointing_pictograms_are_marked_to_turn_round_in_rtl() -> None:
    assert 'class="icon mirror"' in str(pictograms.pictogram("arrow-right"))
    assert 'class="icon"' in str(pictograms.pictogram("user"))
    css = (Path(pictograms.__file__).parent / "static" / "amana.css").read_text(encoding="utf-8")
    assert '[dir="rtl"] .icon.mirror { transform: scaleX(-1); }' in css


def test_a_hostile_svg_is_reduced_to_its_shapes() -> None:
    svg = (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script>'
           b'<style>*{}</style><path d="M1 1" style="fill:red" onclick="x()" stroke="#000"/>'
           b'<a href="javascript:x()"><circle r="2" cx="&quot;&gt;&lt;script&gt;"/></a>'
           b'<foreignObject><div/></foreignObject><image href="http://x"/></svg>')
    shapes = pictograms._shapes(svg)
    assert shapes == '<path d="M1 1" stroke="#000"/><circle cx="&#34;&gt;&lt;script&gt;" r="2"/>'


def test_a_name_that_is_not_an_icon_name_draws_the_neutral_sign() -> None:
    for name in ("../../etc/passwd", "User", "a b", ""):
        assert 'data-pictogram="point"' in str(pictograms.pictogram(name))


def test_a_claim_named_by_its_path_text_as_history_keeps_it_finds_its_pictogram() -> None:
    from wallet import labels

    skill = next(t for t in TYPES.values() if t.name == "SkillCertificate")
    assert labels.claim_icon_by_name(TYPES, [skill.vct], "skill.label") == "school"
    assert labels.claim_icon_by_name(TYPES, ["urn:unknown", skill.vct], "eqf_level") == "stairs-up"
    assert labels.claim_icon_by_name(TYPES, [skill.vct], "[[[") == pictograms.fallback("claim")


def test_a_new_type_brings_its_own_pictogram(tmp_path: Path) -> None:
    folder = tmp_path / "SkillCertificate"
    shutil.copytree(SPECS / "credentials" / "SkillCertificate", folder)
    metadata = json.loads((folder / "type-metadata.json").read_text(encoding="utf-8"))
    metadata["pictogram"] = "flag"
    del metadata["claims"][4]["pictogram"]  # skill.label: takes its parent's (skill)
    (folder / "type-metadata.json").write_text(json.dumps(metadata), encoding="utf-8")
    ctype = load_type(folder)
    assert pictograms.type_pictogram(ctype) == "flag"
    assert pictograms.claim_pictogram(ctype, ("skill", "label")) == "school"
    assert pictograms.claim_pictogram(ctype, ("no_such_claim",)) == pictograms.fallback("claim")
    assert pictograms.type_pictogram(None) == pictograms.fallback("type")


@pytest.mark.parametrize("bad", ["../../etc/passwd", "Flag", 7, "a_b"])
def test_type_metadata_naming_a_pictogram_outside_the_icon_names_is_refused(tmp_path: Path, bad: object) -> None:
    folder = tmp_path / "SkillCertificate"
    shutil.copytree(SPECS / "credentials" / "SkillCertificate", folder)
    metadata = json.loads((folder / "type-metadata.json").read_text(encoding="utf-8"))
    metadata["claims"][0]["pictogram"] = bad
    (folder / "type-metadata.json").write_text(json.dumps(metadata), encoding="utf-8")
    with pytest.raises(InvalidInput, match="pictogram"):
        load_type(folder)


_XML_TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=30)
_TAGS = st.sampled_from(["path", "circle", "rect", "script", "style", "a", "image", "foreignObject", "g", "use"])
_NAMES = st.sampled_from(["d", "r", "cx", "fill", "stroke", "style", "onload", "onclick", "href", "class", "id"])


@given(st.lists(st.tuples(_TAGS, st.dictionaries(_NAMES, _XML_TEXT, max_size=4)), max_size=8))
def test_whatever_a_vendored_file_holds_only_allowed_shapes_come_out_well_formed(
        elements: list[tuple[str, dict[str, str]]]) -> None:
    root = ET.Element("{http://www.w3.org/2000/svg}svg")
    for tag, attributes in elements:
        ET.SubElement(root, "{http://www.w3.org/2000/svg}" + tag, attributes)
    shapes = pictograms._shapes(ET.tostring(root))
    drawn = ET.fromstring(f"<svg>{shapes}</svg>")  # noqa: S314 (our own output) well formed: values escaped
    kept = [(tag, attributes) for tag, attributes in elements if tag in pictograms._SHAPES
            and attributes.get("d") != pictograms._FRAME]
    assert [e.tag for e in drawn] == [tag for tag, _ in kept]
    for element, (_, attributes) in zip(drawn, kept, strict=True):
        assert element.attrib == {k: v for k, v in attributes.items() if k in pictograms._ATTRIBUTES}
