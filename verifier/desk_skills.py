"""The desk's "which skill?" for questions with an ESCO skill parameter (skill-check).

Like the console's picker (issuer/console_skills.py) without a script: a GET search form of
its own lists matching ESCO skills in a select of the ask form; "any skill" leaves the
question as it is. The check page and the audit show the skill's label, never only its URI.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core import esco
from core.errors import AmanaError
from verifier.queries import NamedQuery, asked

QUERY_PARAM = "esco"


def _skill_parameter(query: NamedQuery) -> str | None:
    return next((name for name, p in query.parameters.items() if p.classification == "esco-skill"), None)


def picker(query: NamedQuery, params: Mapping[str, str]) -> dict[str, Any]:
    """``{"picker": {...}}`` for the desk's home page, or nothing for a question without one."""
    name = _skill_parameter(query)
    if name is None:
        return {}
    words = (params.get(QUERY_PARAM) or "")[:esco.QUERY_MAX]
    try:
        matches = esco.classification().search(words) if words.strip() else []
    except AmanaError:
        matches = []
    return {"picker": {"name": name, "query": words, "matches": matches}}


def parameters(query: NamedQuery, form: Mapping[str, Any]) -> dict[str, str]:
    """The picked skill from the ask form, if one was picked."""
    name = _skill_parameter(query)
    value = str(form.get(name) or "").strip() if name else ""
    return {name: value} if name and value else {}


def asked_labels(query: NamedQuery | None, raw: dict[str, Any]) -> list[str]:
    """The labels of the skills a stored check asks for (its DCQL's values filter)."""
    if query is None:
        return []
    labels = []
    for name, value in asked(query, raw).items():
        if query.parameters[name].classification != "esco-skill":
            continue
        try:
            skill = esco.classification().get(value)
        except AmanaError:
            skill = None
        labels.append(skill.label if skill else value)
    return labels
