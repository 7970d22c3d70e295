"""Named DCQL queries (``specs/queries/<name>.json``): what a desk can ask, and why. Pure, but for
the ESCO classification a skill parameter is checked against (core.esco, read on first use).

Each file gives the query, the DPV purpose it serves (checked against the verifier's
registration in the trust list) and a plain description in several languages, shown to
staff and, through the request, to the holder, and may fix its ``response_mode``
(``direct_post`` or ``direct_post.jwt``; absent: the profile's, verifier/encrypted_responses.py).

A query may name ``parameters``: a value the desk fills in when it asks, e.g. which ESCO
skill ``skill-check`` asks for. ``narrowed`` adds it as a DCQL claims ``values`` filter
(OpenID4VP 1.0 section 6.3) on the parameter's path, required in every claim set, so only a
credential with exactly that value answers, and the verifier checks it again (core.dcql).

A desk offers only the questions its registration allows (``availability``): a question
the trust list does not cover would be refused at creation, and by the holder's wallet
anyway. Each refusal has one stable reason (``Unavailable``) the page says in its language.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from core import dcql, esco
from core.encoding import json_loads_strict
from core.errors import (
    AmanaError,
    InvalidInput,
    NotFound,
    PurposeNotRegistered,
    UnknownEscoSkill,
    VerifierNotRegistered,
)
from core.trust import TrustList, verifier_may_request


@dataclass(frozen=True, slots=True)
class Parameter:
    credential: str  # the id of the credential query it narrows
    path: tuple[str, ...]
    classification: str | None = None  # "esco-skill": the value must be one of ESCO's skills


@dataclass(frozen=True, slots=True)
class NamedQuery:
    name: str
    purpose: str
    description: dict[str, str]
    query: dcql.DcqlQuery
    raw: dict[str, Any]
    response_mode: str | None = None  # direct_post or direct_post.jwt; None: the profile's (encrypted_responses)
    parameters: dict[str, Parameter] = field(default_factory=dict)


def load(specs_dir: Path) -> dict[str, NamedQuery]:
    out = {}
    for path in sorted((specs_dir / "queries").glob("*.json")):
        doc = json_loads_strict(path.read_bytes(), path.name)
        mode = doc.get("response_mode")
        if mode not in (None, "direct_post", "direct_post.jwt"):
            raise InvalidInput(f"{path.name}: response_mode is direct_post or direct_post.jwt")
        parameters = {name: Parameter(p["credential"], tuple(p["path"]), p.get("classification"))
                      for name, p in doc.get("parameters", {}).items()}
        out[doc["name"]] = NamedQuery(doc["name"], doc["purpose"], doc["description"],
                                      dcql.parse(doc["dcql_query"]), doc["dcql_query"], mode, parameters)
    return out


def _filter_id(name: str) -> str:
    return f"{name}_asked"


def narrowed(query: NamedQuery, values: dict[str, str]) -> tuple[dcql.DcqlQuery, dict[str, Any]]:
    """The query with each given parameter as a ``values`` filter; unknown parameters are refused."""
    raw = copy.deepcopy(query.raw)
    for name, value in values.items():
        parameter = query.parameters.get(name)
        if parameter is None:
            raise InvalidInput(f"the question {query.name!r} takes no {name!r}")
        if parameter.classification == "esco-skill" and esco.classification().get(value) is None:
            raise UnknownEscoSkill(f"{name} is not a skill of the ESCO classification")
        [credential] = [c for c in raw["credentials"] if c["id"] == parameter.credential]
        credential["claims"].append({"id": _filter_id(name), "path": list(parameter.path), "values": [value]})
        for claim_set in credential.get("claim_sets", []):
            claim_set.append(_filter_id(name))
    return dcql.parse(raw), raw


def asked(query: NamedQuery, raw: dict[str, Any]) -> dict[str, str]:
    """The parameter values a stored check's DCQL carries (what ``narrowed`` put there)."""
    out = {}
    for name, parameter in query.parameters.items():
        for credential in raw.get("credentials", []):
            for claim in credential.get("claims", []) if credential.get("id") == parameter.credential else []:
                if claim.get("id") == _filter_id(name) and claim.get("values"):
                    out[name] = str(claim["values"][0])
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
