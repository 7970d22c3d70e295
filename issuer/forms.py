"""The console's "issue one" form, generated from the credential type: adding a type adds its form. Pure.

One input per leaf claim of the type's JSON Schema (objects flattened to dotted paths),
labelled in the staff member's language from the type metadata; the input kind follows
the schema (number, date, yes/no, a choice for enums, text otherwise; lists as ``a; b``),
and a string the schema marks ``"x-classification": "esco-skill"`` is picked from ESCO
(issuer/console_skills.py), its sibling ``label`` filled from the pick.
Submitted values go through the same typing and checks as a CSV row.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from core.credtypes import CredentialType
from core.sdjwt.paths import ClaimPath, format_path


@dataclass(frozen=True, slots=True)
class FormField:
    name: str  # the dotted claim path: also the CSV column name
    label: str
    kind: str  # text | number | date | yesno | choice | list | esco
    required: bool
    choices: tuple[tuple[str, str], ...] = ()  # (code, its words in the page's language)
    filled: bool = False  # the label beside an ESCO pick: filled from it when left empty


def fields(ctype: CredentialType, lang: str) -> list[FormField]:
    made = [_field(ctype, path, schema, required, lang) for path, schema, required in _leaves(ctype.schema, (), True)]
    picked = {f.name.rpartition(".")[0] for f in made if f.kind == "esco" and "." in f.name}
    return [replace(f, filled=True) if f.name.rpartition(".")[0] in picked and f.name.endswith(".label") else f
            for f in made]


def _leaves(schema: Mapping[str, Any], path: ClaimPath, required: bool) -> Iterator[tuple[ClaimPath, Any, bool]]:
    properties = schema.get("properties")
    if schema.get("type") == "object" and isinstance(properties, dict):
        needed = set(schema.get("required", []))
        for name, sub in properties.items():
            yield from _leaves(sub, (*path, name), required and name in needed)
    elif path:
        yield path, schema, required


def _field(ctype: CredentialType, path: ClaimPath, schema: Mapping[str, Any], required: bool, lang: str) -> FormField:
    kind = {"integer": "number", "number": "number", "boolean": "yesno", "array": "list"}.get(
        str(schema.get("type")), "text")
    if schema.get("format") == "date":
        kind = "date"
    choices = tuple((str(c), ctype.value_text(path, c, lang) or str(c)) for c in schema.get("enum", ()))
    if choices:
        kind = "choice"
    if schema.get("x-classification") == "esco-skill":
        kind = "esco"
    return FormField(format_path(path), ctype.label(path, lang), kind, required, choices)
