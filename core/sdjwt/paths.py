"""Claim paths: which claim or claims in a credential a rule or a choice is about.

The structure is SD-JWT VC's claim path (section "Claim Path"), also used by
OpenID4VP DCQL: a non-empty sequence of strings (object member), non-negative integers
(array index) and ``None`` (every element of an array).

For people and command lines the same path is written with dots: ``address.locality``,
``nationalities.*`` (every element), ``nationalities.0``. A name that contains a dot
a comma, or is all digits is written in the JSON form instead: ``["a.b", "0"]``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from core.errors import InvalidInput

PathElement = str | int | None
ClaimPath = tuple[PathElement, ...]


def parse_path(text: str) -> ClaimPath:
    """Parse ``a.b.*.0`` or a JSON array into a claim path."""
    text = text.strip()
    if text.startswith("["):
        try:
            raw = json.loads(text)
        except ValueError as exc:
            raise InvalidInput("claim path is not a JSON array") from exc
        return validate(raw)
    if not text:
        raise InvalidInput("claim path is empty")
    out: list[PathElement] = []
    for part in text.split("."):
        if part == "*":
            out.append(None)
        elif part.isascii() and part.isdigit():
            out.append(int(part))
        elif part:
            out.append(part)
        else:
            raise InvalidInput("claim path has an empty component")
    return tuple(out)


def parse_many(text: str) -> list[ClaimPath]:
    """Comma-separated dotted paths (JSON-form paths go one per option)."""
    if text.strip().startswith("["):
        return [parse_path(text)]
    return [parse_path(p) for p in text.split(",") if p.strip()]


def validate(raw: object) -> ClaimPath:
    if not isinstance(raw, list | tuple) or not raw:
        raise InvalidInput("a claim path must be a non-empty array")
    for element in raw:
        ok = element is None or isinstance(element, str) or (
            isinstance(element, int) and not isinstance(element, bool) and element >= 0
        )
        if not ok:
            raise InvalidInput("claim path elements are strings, null or non-negative integers")
    return tuple(raw)


def _plain_name(name: str) -> bool:
    """Names the dotted form can carry unambiguously; others use the JSON form."""
    return (
        bool(name)
        and name == name.strip()
        and not (name.isascii() and name.isdigit())
        and name != "*"
        and not any(c in name for c in ".,[")
    )


def format_path(path: ClaimPath) -> str:
    if any(isinstance(e, str) and not _plain_name(e) for e in path):
        return json.dumps(list(path), ensure_ascii=False)
    return ".".join("*" if e is None else str(e) for e in path)


def select(root: Any, path: ClaimPath) -> list[tuple[ClaimPath, Any]]:
    """Concrete (path, value) pairs that ``path`` selects in ``root``.

    Implements the processing rules of SD-JWT VC "Processing of path": a string on a
    non-object, or null/an index on a non-array, is an error; a missing key or index
    drops that element from the selection.
    """
    current: list[tuple[ClaimPath, Any]] = [((), root)]
    for element in path:
        nxt: list[tuple[ClaimPath, Any]] = []
        for at, value in current:
            if isinstance(element, str):
                if not isinstance(value, dict):
                    raise InvalidInput(f"claim path {format_path(path)} expects an object")
                if element in value:
                    nxt.append(((*at, element), value[element]))
            elif element is None:
                if not isinstance(value, list):
                    raise InvalidInput(f"claim path {format_path(path)} expects an array")
                nxt.extend(((*at, i), v) for i, v in enumerate(value))
            else:
                if not isinstance(value, list):
                    raise InvalidInput(f"claim path {format_path(path)} expects an array")
                if element < len(value):
                    nxt.append(((*at, element), value[element]))
        current = nxt
    return current


def matches(pattern: ClaimPath, concrete: ClaimPath) -> bool:
    """True if ``pattern`` (with ``None`` wildcards) selects the concrete path."""
    return len(pattern) == len(concrete) and all(
        p is None or p == c for p, c in zip(pattern, concrete, strict=True)
    )


class Selection:
    """The concrete claim paths a set of patterns selects.

    Issuing asks this once per claim: wildcard-free patterns are a set lookup, and only
    the few with ``None`` are matched element by element.
    """

    __slots__ = ("exact", "wildcards")

    def __init__(self, patterns: Iterable[ClaimPath]) -> None:
        patterns = list(patterns)
        self.exact = frozenset(p for p in patterns if None not in p)
        self.wildcards = tuple(p for p in patterns if None in p)

    def __contains__(self, concrete: ClaimPath) -> bool:
        return concrete in self.exact or any(matches(p, concrete) for p in self.wildcards)


def prefixes(paths: Iterable[ClaimPath]) -> set[ClaimPath]:
    """Every non-empty prefix of every path."""
    return {p[:i] for p in paths for i in range(1, len(p) + 1)}
