"""What the desk's result page shows, as rows a template only has to print. Pure.

A verified result holds claim values by path (``{"skill": {"uri": …, "label": …}}``). A
clerk needs them under the labels the credential type gives (SD-JWT VC Type Metadata,
``claims[].display[].label``) in the page's language, nested claims as nested rows, an
ESCO skill as its name with the ESCO page one tap away, and every word that is not the
holder's own data (labels, yes/no, the status word, the refusal) in the page's language.

Where a word exists only in another language (a label given in English only, an issuer
named in French) the row says which (``lang``), so a screen reader pronounces it right and
the page can mark it. Values are the holder's data: their direction is unknown, so the
template isolates each one (``<bdi>``). Only ESCO addresses become links: a value is
attacker-chosen, and a desk page must not offer a link to wherever a credential points.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from core import i18n, pictograms
from core.credtypes import CredentialType
from core.errors import AmanaError
from core.sdjwt.paths import ClaimPath, format_path, parse_path

ESCO = re.compile(r"^https?://data\.europa\.eu/esco/(skill|occupation)/[0-9a-f-]{36}$")
STATUSES = ("valid", "revoked", "suspended", "unknown")
# Refusals a clerk meets; anything else is said in general words (the code stays in the proof).
REASONS = ("declined", "revoked", "suspended", "status_unknown", "expired", "invalid_signature",
           "issuer_not_accredited", "issuer_suspended", "unknown_credential_type", "nonce_mismatch",
           "replayed", "window_expired", "undisclosed_claim")


@dataclass(frozen=True, slots=True)
class Text:
    """A word for the page, and its language when that is not the page's own."""

    text: str
    lang: str | None = None


@dataclass(frozen=True, slots=True)
class Row:
    label: Text
    value: str | None = None  # the holder's data, shown as is (isolated)
    href: str | None = None  # an ESCO page, never any other address
    children: tuple[Row, ...] = ()
    pictogram: str = "point"  # core.pictograms: the one the credential type names for this claim


@dataclass(frozen=True, slots=True)
class CredentialView:
    type_name: Text
    issuer: Text
    status: str | None  # already in the page's language
    rows: tuple[Row, ...]
    pictogram: str = "certificate"


@dataclass(frozen=True, slots=True)
class ResultView:
    accepted: bool
    reason: str | None  # in the page's language, when refused
    credentials: tuple[CredentialView, ...]


def localized(names: Mapping[str, str], lang: str, fallback: str) -> Text:
    """``names[lang]``, else English marked as English, else ``fallback`` (an identifier)."""
    if names.get(lang):
        return Text(names[lang])
    if names.get("en"):
        return Text(names["en"], None if lang == "en" else "en")
    return Text(fallback)


def label(ctype: CredentialType | None, path: ClaimPath, lang: str) -> Text:
    for rule in ctype.rules if ctype is not None else ():
        if rule.path == path:
            return localized(rule.labels, lang, format_path(path))
    return Text(format_path(path))


def claim_names(names: Sequence[str], ctype: CredentialType | None, lang: str) -> tuple[Text, ...]:
    """The labels of disclosed claims (the audit keeps names, never values)."""
    out = []
    for name in names:
        try:
            out.append(label(ctype, parse_path(name), lang))
        except AmanaError:
            out.append(Text(name))
    return tuple(out)


def claim_rows(claims: Mapping[str, Any], ctype: CredentialType | None, lang: str) -> tuple[Row, ...]:
    """One row per requested claim (keys are formatted claim paths), nested values as nested rows."""
    rows = []
    for key, value in claims.items():
        try:
            path = parse_path(key)
        except AmanaError:
            path = (key,)
        rows.append(_row(path, value, ctype, lang))
    return tuple(rows)


def _row(path: ClaimPath, value: Any, ctype: CredentialType | None, lang: str) -> Row:
    name, sign = label(ctype, path, lang), pictograms.claim_pictogram(ctype, path)
    if isinstance(value, dict):
        uri, skill = value.get("uri"), value.get("label")
        if isinstance(uri, str) and ESCO.match(uri) and isinstance(skill, str):
            return Row(name, skill, uri, pictogram=sign)
        return Row(name, children=tuple(_row((*path, k), v, ctype, lang) for k, v in value.items()), pictogram=sign)
    if isinstance(value, list):
        element = label(ctype, (*path, None), lang) if _has_rule(ctype, (*path, None)) else None
        return Row(name, children=tuple(_row_of_element(path, i, v, element, ctype, lang) for i, v in enumerate(value)),
                   pictogram=sign)
    words = ctype.value_text(path, value, lang) if ctype is not None else None  # a code's words, a local date
    return Row(name, words or scalar(value, lang), pictogram=sign)


def _row_of_element(path: ClaimPath, index: int, value: Any, element: Text | None, ctype: CredentialType | None,
                    lang: str) -> Row:
    row = _row((*path, index), value, ctype, lang)
    return Row(element or Text(str(index + 1)), row.value, row.href, row.children, row.pictogram)


def _has_rule(ctype: CredentialType | None, path: ClaimPath) -> bool:
    return ctype is not None and any(rule.path == path for rule in ctype.rules)


def scalar(value: Any, lang: str) -> str:
    if value is True:
        return i18n.t(lang, "desk.yes")
    if value is False:
        return i18n.t(lang, "desk.no")
    if value is None:
        return "—"
    return str(value)


def status_word(status: str | None, lang: str) -> str | None:
    if status is None:
        return None
    return i18n.t(lang, f"desk.status.{status}" if status in STATUSES else "desk.status.unknown")


def reason_words(reason: str | None, lang: str) -> str | None:
    if reason is None:
        return None
    return i18n.t(lang, f"desk.reason.{reason}" if reason in REASONS else "desk.reason.other")


def result_view(result: Mapping[str, Any], types: Mapping[str, CredentialType], lang: str) -> ResultView:
    """The one-time result (as ``results.take_result`` opens it) for a page in ``lang``."""
    credentials: Sequence[Mapping[str, Any]] = result.get("credentials") or ()
    views = []
    for c in credentials:
        vct = str(c.get("vct") or "")
        ctype = types.get(vct)
        views.append(CredentialView(
            type_name=localized(c.get("type_names") or {}, lang, vct),
            issuer=localized(c.get("issuer_names") or {}, lang, str(c.get("issuer") or "")),
            status=status_word(c.get("status"), lang),
            rows=claim_rows(c.get("claims") or {}, ctype, lang),
            pictogram=pictograms.type_pictogram(ctype)))
    accepted = bool(result.get("accepted"))
    return ResultView(accepted, None if accepted else reason_words(result.get("reason"), lang), tuple(views))
