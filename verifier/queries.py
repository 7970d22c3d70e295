"""Named DCQL queries (``specs/queries/<name>.json``): what a desk can ask, and why. Pure.

Each file gives the query, the DPV purpose it serves (checked against the verifier's
registration in the trust list) and a plain description in several languages, shown to
staff and, through the request, to the holder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core import dcql
from core.encoding import json_loads_strict
from core.errors import NotFound


@dataclass(frozen=True, slots=True)
class NamedQuery:
    name: str
    purpose: str
    description: dict[str, str]
    query: dcql.DcqlQuery
    raw: dict[str, Any]


def load(specs_dir: Path) -> dict[str, NamedQuery]:
    out = {}
    for path in sorted((specs_dir / "queries").glob("*.json")):
        doc = json_loads_strict(path.read_bytes(), path.name)
        out[doc["name"]] = NamedQuery(doc["name"], doc["purpose"], doc["description"],
                                      dcql.parse(doc["dcql_query"]), doc["dcql_query"])
    return out


def named(queries: dict[str, NamedQuery], name: str) -> NamedQuery:
    if name not in queries:
        raise NotFound(f"no query named {name!r}; known: {', '.join(sorted(queries))}")
    return queries[name]
