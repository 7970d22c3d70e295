"""The console's refusals in its reader's words. Pure.

A claim the type refuses, a cell of a class file, the file itself: each error carries its
``Problem``s (``core.errors``: where, which rule, the rule's bound, never the value), and here
each is said with ``console.rule.<rule>`` in the staff member's language, the field named by its
label from the credential type. Before, the console showed the English detail the API gives
("Ligne 5 : SkillCertificate: given_name: required" on a French page, helper-90). An error
without problems is said as its detail, as before.

What goes into the words (a label, a column, the codes, a limit) is isolated (``<bdi>``, via
``i18n.t_isolated``): Latin names keep their order inside Arabic or Persian sentences, and a limit
or a line comes in the reader's digits.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from core import i18n
from core.credtypes import CredentialType
from core.errors import AmanaError, Problem
from issuer import forms

_WORDED = frozenset({
    "required", "one_of", "many_codes", "date", "date_time", "integer", "number", "boolean", "at_most",
    "at_least", "at_most_chars", "at_least_chars", "pattern", "more_cells", "file_too_big", "file_empty",
    "too_many_rows", "file_unreadable", "no_rows", "unknown_column", "no_header", "not_utf8", "copies", "no_file",
})
_NOT_CLAIMS = {"copies": "console.copies"}  # the form's own fields a problem may name, by their labels' keys
_OWN_KEY = {"esco": "console.esco_unknown"}  # said the same way where the skill is picked
# What the bound is called in each rule's text (the translator sees these names).
_BOUND_NAME = {"one_of": "codes", "file_unreadable": "line", "unknown_column": "columns", "no_header": "columns"}


def refusal(exc: AmanaError, ctype: CredentialType | None, lang: str, *, in_file: bool = False) -> str | Markup:
    """The whole error in ``lang``: its problems one after another, else its English detail."""
    if not exc.problems:
        return exc.detail
    return said(exc.problems, ctype, lang, in_file=in_file)


def said(problems: tuple[Problem, ...], ctype: CredentialType | None, lang: str, *, in_file: bool = False) -> Markup:
    return Markup(" ").join(dict.fromkeys(problem_text(p, ctype, lang, in_file=in_file) for p in problems))


def problem_text(problem: Problem, ctype: CredentialType | None, lang: str, *, in_file: bool = False) -> Markup:
    """One problem: ``in_file`` names a claim by its label and its column (what the file's header
    says), else by its label alone (the form shows the label beside the field)."""
    key = _OWN_KEY.get(problem.rule) or f"console.rule.{problem.rule if problem.rule in _WORDED else 'other'}"
    number = problem.bound.isascii() and problem.bound.isdigit()  # a limit, a line: in the reader's digits
    bound = {_BOUND_NAME.get(problem.rule, "limit"): int(problem.bound) if number else problem.bound}
    return i18n.t_isolated(lang, key, name=_name(problem.where, ctype, lang, in_file), **bound)


def fields_named(problems: tuple[Problem, ...], ctype: CredentialType, lang: str) -> dict[str, Markup]:
    """The form's fields the problems name, each with what to mend there."""
    known = {f.name for f in forms.fields(ctype, "en")} | set(_NOT_CLAIMS)
    named: dict[str, list[Problem]] = {}
    for problem in problems:
        if problem.where in known:
            named.setdefault(problem.where, []).append(problem)
    return {where: said(tuple(found), ctype, lang) for where, found in named.items()}


def _name(where: str, ctype: CredentialType | None, lang: str, in_file: bool) -> str | Markup:
    if where in _NOT_CLAIMS:
        return i18n.t(lang, _NOT_CLAIMS[where])
    label = next((f.label for f in forms.fields(ctype, lang) if f.name == where), None) if ctype else None
    if label is None:
        return where
    return i18n.t_isolated(lang, "console.rule_column", label=label, column=where) if in_file else label


def class_field_errors(exc: AmanaError, ctype: CredentialType | None, lang: str) -> dict[str, Any]:
    """Where a refused class is mended: a class-wide field (copies, a claim typed for everyone) when a
    problem names one, else the file (helper-94: a bad copies value was said at the file button)."""
    fields = fields_named(exc.problems, ctype, lang) if ctype and exc.problems else {}
    if not fields:
        return {"csv": refusal(exc, ctype, lang, in_file=True)}
    return {("class:" if name == "copies" else "default:") + name: said for name, said in fields.items()}
