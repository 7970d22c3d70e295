"""Words for what a wallet page shows: a claim's label and value, a purpose in plain words.
Pure; labels come from the credential type's metadata (``core.credtypes``) and the DPV
labels (``wallet.dpv_labels``), in the holder's language with English as the fallback.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from core import pictograms
from core.credtypes import CredentialType, TypeRegistry
from core.errors import AmanaError
from core.sdjwt.paths import ClaimPath, format_path, parse_path, select
from wallet import dpv_labels

# Claims every SD-JWT VC carries for machines (RFC 7519, SD-JWT VC §3.2.2): not shown on a card.
TECHNICAL = frozenset({"iss", "iat", "nbf", "exp", "cnf", "vct", "vct#integrity", "status", "sub", "_sd_alg"})


def icon(types: TypeRegistry, vct: str) -> str:
    """The pictogram a card of this type wears: the one its type metadata names (core.pictograms)."""
    return pictograms.type_pictogram(types.get(vct))


def claim_icon(known: CredentialType | None, path: ClaimPath) -> str:
    """The pictogram beside an attribute: the one its type metadata names, else its parent's, else a dot."""
    return pictograms.claim_pictogram(known, path)


def claim_icon_by_name(types: TypeRegistry, vcts: Sequence[str], name: str) -> str:
    """``claim_icon`` for a claim named by its path text (as a history record keeps it)."""
    try:
        path = parse_path(name)
    except AmanaError:
        return pictograms.fallback("claim")
    return pictograms.claim_pictogram_of(types, vcts, path)


def purpose_words(iri: str, lang: str) -> str:
    return dpv_labels.purpose(iri, lang).label


def claim_label(types: TypeRegistry, vcts: Sequence[str], name: str, lang: str) -> str:
    """A claim named by its path text (as a history record keeps it) in the holder's words."""
    try:
        path = parse_path(name)
    except AmanaError:
        return name
    for vct in vcts:  # the first type that names this claim (a refusal keeps no copy, so may list them all)
        known = types.get(vct)
        if known is not None and any(rule.path == path for rule in known.rules):
            return known.label(path, lang)
    return name


def value_text(value: Any) -> str:
    """A claim value for a person: an object by its ``label`` (an ESCO skill), else its parts."""
    if isinstance(value, Mapping):
        if isinstance(value.get("label"), str):
            return str(value["label"])
        return ", ".join(f"{k}: {value_text(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(value_text(v) for v in value)
    return str(value)


def shown_claims(claims: Mapping[str, Any], known: CredentialType | None, lang: str) -> list[tuple[ClaimPath, str]]:
    """The claims a card shows, in the type's order where it is known, as (path, text): a code
    and a date in the reader's words where the type gives them (``CredentialType.value_text``)."""
    rows: list[tuple[ClaimPath, str]] = []
    if known is not None:
        for path in [r.path for r in known.rules if len(r.path) == 1]:
            try:
                found = select(claims, path)
            except AmanaError:
                continue
            rows += [(path, known.value_text(path, v, lang) or value_text(v)) for _, v in found]
        return rows
    return [((name,), value_text(v)) for name, v in claims.items() if name not in TECHNICAL]


def path_text(path: ClaimPath) -> str:
    return format_path(path)
