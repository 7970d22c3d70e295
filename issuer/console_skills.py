"""The console's skill picker: ESCO skills searched by words, the URI filled from the pick.

Without JavaScript the search is a GET form of its own (only the words typed go in the
address, never a trainee's name) and the page comes back with the matches as a ``<select>``
in the offer form; with it, ``/static/issuer/esco.js`` asks ``GET /issuer/console/skills``
(signed-in staff only) as the trainer types and shows an accessible list box. Either way the
skill's label is filled from the classification when the trainer leaves it empty, and the
URI is checked at issuance (core.esco.check_claims).
"""

from __future__ import annotations

from collections.abc import Sequence

from core import esco
from core.credtypes import CredentialType
from core.errors import AmanaError
from core.sdjwt.paths import ClaimPath, parse_path
from issuer import forms

QUERY_PARAM = "esco"


def found(query: str | None) -> list[esco.Skill]:
    """The matches for the no-script search; none when the index is missing (issuance says why)."""
    if not query or not query.strip():
        return []
    try:
        return esco.classification().search(query)
    except AmanaError:
        return []


def fill_labels(ctype: CredentialType, cells: Sequence[tuple[ClaimPath, str]]) -> list[tuple[ClaimPath, str]]:
    """An empty ``<x>.label`` beside a picked ``<x>.uri`` gets the skill's preferred label."""
    pickers = {parse_path(f.name) for f in forms.fields(ctype, "en") if f.kind == "esco"}
    values = dict(cells)
    out = []
    for path, value in cells:
        uri_path = (*path[:-1], "uri")
        if not value.strip() and path[-1] == "label" and uri_path in pickers:
            try:
                skill = esco.classification().get(values.get(uri_path, "").strip())
            except AmanaError:
                skill = None
            value = skill.label if skill else value
        out.append((path, value))
    return out


def matches(query: str) -> dict[str, list[dict[str, str]]]:
    """What the script's list box shows (``GET /issuer/console/skills``, issuer/pages.py)."""
    return {"skills": [{"uri": s.uri, "label": s.label, "also": _short(s.also)}
                       for s in esco.classification().search(query)]}


def _short(text: str, most: int = 120) -> str:
    return text if len(text) <= most else text[:most].rsplit(" ", 1)[0] + " …"
