"""Named DCQL queries (``specs/queries/<name>.json``): what a desk can ask, and why. Pure.

Each file gives the query, the DPV purpose it serves (checked against the verifier's
registration in the trust list) and a plain description in several languages, shown to
staff and, through the request, to the holder, and may fix its ``response_mode``
(``direct_post`` or ``direct_post.jwt``; absent: the profile's, verifier/encrypted_responses.py).

A desk offers only the questions its registration allows (``availability``): a question
the trust list does not cover would be refused at creation, and by the holder's wallet
anyway. Each refusal has one stable reason (``Unavailable``) the page says in its language.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from core import dcql
from core.encoding import json_loads_strict
from core.errors import AmanaError, InvalidInput, NotFound, PurposeNotRegistered, VerifierNotRegistered
from core.trust import TrustList, verifier_may_request


@dataclass(frozen=True, slots=True)
class NamedQuery:
    name: str
    purpose: str
    description: dict[str, str]
    query: dcql.DcqlQuery
    raw: dict[str, Any]
    response_mode: str | None = None  # direct_post or direct_post.jwt; None: the profile's (encrypted_responses)


def load(specs_dir: Path) -> dict[str, NamedQuery]:
    out = {}
    for path in sorted((specs_dir / "queries").glob("*.json")):
        doc = json_loads_strict(path.read_bytes(), path.name)
        mode = doc.get("response_mode")
        if mode not in (None, "direct_post", "direct_post.jwt"):
            raise InvalidInput(f"{path.name}: response_mode is direct_post or direct_post.jwt")
        out[doc["name"]] = NamedQuery(doc["name"], doc["purpose"], doc["description"],
                                      dcql.parse(doc["dcql_query"]), doc["dcql_query"], mode)
    return out


def named(queries: dict[str, NamedQuery], name: str) -> NamedQuery:
    if name not in queries:
        raise NotFound(f"no query named {name!r}; known: {', '.join(sorted(queries))}")
    return queries[name]


class Unavailable(StrEnum):
    """Why a desk cannot ask a question (each has a ``desk.unavailable.<value>`` sentence)."""

    TRUST_LIST = "trust_list"  # no current trust list: nothing can be asked
    VERIFIER = "verifier"  # this desk is not on the list, or is suspended
    PURPOSE = "purpose"  # registered, but not for the question's purpose
    CLAIMS = "claims"  # registered for the purpose, but not for every claim asked


_BY_CODE = {
    "trust_list_unavailable": Unavailable.TRUST_LIST, "trust_list_expired": Unavailable.TRUST_LIST,
    "verifier_not_registered": Unavailable.VERIFIER, "purpose_not_registered": Unavailable.PURPOSE,
    "request_exceeds_registration": Unavailable.CLAIMS,
}


def why_refused(error: AmanaError) -> Unavailable | None:
    """The reason behind a refused check, when it is one of the registration's."""
    return _BY_CODE.get(error.code)


def availability(queries: dict[str, NamedQuery], trust_list: TrustList | None, verifier_id: str,
                 now: int) -> list[tuple[NamedQuery, Unavailable | None]]:
    """Every named query with None (the desk may ask it) or why not, in the queries' order."""
    out: list[tuple[NamedQuery, Unavailable | None]] = []
    for query in queries.values():
        reason: Unavailable | None = Unavailable.TRUST_LIST
        if trust_list is not None:
            try:
                excess = verifier_may_request(trust_list, verifier_id, query.purpose,
                                              dcql.requested_claims(query.query), at=now)
                reason = Unavailable.CLAIMS if excess else None
            except VerifierNotRegistered:
                reason = Unavailable.VERIFIER
            except PurposeNotRegistered:
                reason = Unavailable.PURPOSE
        out.append((query, reason))
    return out
