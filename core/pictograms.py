"""Pictograms beside the words, for holders who read little (issue #17 item 3).

The icons are Tabler Icons (MIT), vendored at build time by ``scripts/vendor-pictograms`` into
``core/static/pictograms/`` (only the ones named here and in credential type metadata, licence
beside them). A page draws one *inline* (``pictogram(name)`` in every template): no request, no
font, colour from the text (``currentColor``), and nothing the strict CSP forbids — the file is
re-emitted from an allow-list of shape elements and presentation attributes, never copied raw.

Who names which pictogram:
- a credential type and each of its claims, in its ``type-metadata.json`` (``"pictogram"``, an
  extension member beside ``display``), so a new type brings its own; a claim without one takes
  its parent's, then a neutral dot;
- a verifier purpose (a DPV IRI from the trust list), the offer sheet's steps and the interface's
  own signs, in ``core/pictograms.json``.

A pictogram is always ``aria-hidden`` and always sits beside visible text: it helps reading, it
never replaces a word, and it never carries meaning by colour. Icons that point somewhere are
listed under ``mirror`` and flipped on right-to-left pages (``.mirror`` in amana.css).
"""

from __future__ import annotations

import json
import logging
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from markupsafe import Markup, escape

from core.credtypes import PICTOGRAM_NAME as NAME
from core.credtypes import CredentialType, TypeRegistry
from core.sdjwt.paths import ClaimPath

DIR = Path(__file__).parent / "static" / "pictograms"
TABLE = Path(__file__).parent / "pictograms.json"
_SVG = "{http://www.w3.org/2000/svg}"
_SHAPES = frozenset({"path", "circle", "ellipse", "line", "polyline", "polygon", "rect"})
_ATTRIBUTES = frozenset({"d", "cx", "cy", "r", "rx", "ry", "x", "y", "x1", "y1", "x2", "y2", "width", "height",
                         "points", "fill", "stroke", "stroke-width", "stroke-linecap", "stroke-linejoin"})
# The blank 24x24 square every Tabler icon starts with, for editors only.
_FRAME = "M0 0h24v24H0z"
_OPEN = ('<svg class="icon{extra}" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" '
         'stroke-linecap="round" stroke-linejoin="round" aria-hidden="true" focusable="false"'
         ' data-pictogram="{name}">')

log = logging.getLogger("amana.pictograms")


@lru_cache(maxsize=1)
def table() -> Mapping[str, Any]:
    data: Mapping[str, Any] = json.loads(TABLE.read_text(encoding="utf-8"))
    return data


def fallback(kind: str) -> str:
    """The neutral pictogram of a kind (``type``, ``claim``, ``purpose``) that names none."""
    return str(table()["fallback"][kind])


def type_pictogram(ctype: CredentialType | None) -> str:
    name = ctype.metadata.get("pictogram") if ctype is not None else None
    return name if isinstance(name, str) and NAME.match(name) else fallback("type")


def claim_pictogram(ctype: CredentialType | None, path: ClaimPath) -> str:
    """The claim's own pictogram, else its nearest named parent's (``skill.label`` → ``skill``)."""
    if ctype is not None:
        by_path = {tuple(entry.get("path", ())): entry.get("pictogram") for entry in ctype.metadata.get("claims", [])}
        for end in range(len(path), 0, -1):
            name = by_path.get(tuple(path[:end]))
            if isinstance(name, str) and NAME.match(name):
                return name
    return fallback("claim")


def claim_pictogram_of(types: TypeRegistry, vcts: Iterable[str], path: ClaimPath) -> str:
    """As ``claim_pictogram``, for a request that accepts several types: the first that names one."""
    for vct in vcts:
        name = claim_pictogram(types.get(vct), path)
        if name != fallback("claim"):
            return name
    return fallback("claim")


def purpose_pictogram(iri: str) -> str:
    return str(table()["purposes"].get(iri, fallback("purpose")))


def sheet_steps() -> tuple[str, ...]:
    return tuple(table()["sheet_steps"])


def named(types: TypeRegistry) -> set[str]:
    """Every pictogram this node may draw: what the vendor step must have fetched."""
    data = table()
    names = {*data["fallback"].values(), *data["purposes"].values(), *data["sheet_steps"], *data["interface"]}
    for ctype in types.values():
        names.add(type_pictogram(ctype))
        names.update(claim_pictogram(ctype, rule.path) for rule in ctype.rules)
    return names


def available() -> set[str]:
    return {p.stem for p in DIR.glob("*.svg")}


def pictogram(name: str) -> Markup:
    """The icon as inline SVG markup, hidden from screen readers (the text beside it is read)."""
    return _render(name if NAME.match(name) else fallback("claim"))


@lru_cache(maxsize=256)
def _render(name: str) -> Markup:
    mirror = " mirror" if name in table()["mirror"] else ""
    head = _OPEN.format(extra=mirror, name=name)
    try:
        shapes = _shapes((DIR / f"{name}.svg").read_bytes())
    except (OSError, ET.ParseError):
        # A node built without `make setup` still renders its pages; the words are all there.
        log.warning("pictogram %s is not vendored (run scripts/vendor-pictograms)", name)
        shapes = ""
    # Safe to mark: the head is a constant around a name that matched NAME, the shapes come from
    # an allow-list with every attribute value escaped.
    return Markup(head + shapes + "</svg>")  # noqa: S704


def _shapes(svg: bytes) -> str:
    """The drawing of a vendored icon, re-emitted from an allow-list (no style, script or link)."""
    # A file of our own build (pinned npm package), not a visitor's upload; expat expands no external entity.
    root = ET.fromstring(svg)  # noqa: S314
    out = []
    for element in root.iter():
        tag = element.tag.removeprefix(_SVG)
        if tag not in _SHAPES or element.get("d") == _FRAME:
            continue
        attributes = "".join(f' {k}="{escape(v)}"' for k, v in sorted(element.attrib.items()) if k in _ATTRIBUTES)
        out.append(f"<{tag}{attributes}/>")
    return "".join(out)
