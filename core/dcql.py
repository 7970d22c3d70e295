"""DCQL, the Digital Credentials Query Language (OpenID4VP 1.0 section 6), for ``dc+sd-jwt``.

``parse`` validates a query as the spec defines it (unknown properties ignored, section 6).
The verifier's re-check of what came back (sections 6.4 and 8.6) comes in three parts, since
a presentation that fails is discarded while a response that fails is rejected
(verifier.verification): ``shape_problem`` (no answer to a query that was not asked,
``multiple`` respected), ``answer_problem`` for each presentation (``vct`` among
``vct_values``, holder binding, the requested claims present: all of ``claims``, or one of
``claim_sets``; ``values`` matched exactly) and ``unanswered`` for those kept (every required
Credential Query answered, or one option of each required Credential Set).
``requested_claims`` lists (vct, path) pairs for the trust list's registration check.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from core.errors import InvalidInput, VerificationFailed
from core.sdjwt.paths import ClaimPath, select, validate

FORMAT = "dc+sd-jwt"
_ID = re.compile(r"[A-Za-z0-9_-]+")


class InvalidDcqlQuery(InvalidInput):
    code = "invalid_dcql_query"
    title = "The DCQL query is not valid"


class ResponseDoesNotMatchQuery(VerificationFailed):
    code = "response_does_not_match_query"
    title = "The presentation does not answer the query"


@dataclass(frozen=True, slots=True)
class ClaimQuery:
    path: ClaimPath
    id: str | None = None
    values: tuple[Any, ...] | None = None


@dataclass(frozen=True, slots=True)
class CredentialQuery:
    id: str
    format: str
    vct_values: tuple[str, ...]
    multiple: bool = False
    holder_binding: bool = True
    claims: tuple[ClaimQuery, ...] | None = None
    claim_sets: tuple[tuple[str, ...], ...] | None = None


@dataclass(frozen=True, slots=True)
class CredentialSet:
    options: tuple[tuple[str, ...], ...]
    required: bool = True


@dataclass(frozen=True, slots=True)
class DcqlQuery:
    credentials: tuple[CredentialQuery, ...]
    credential_sets: tuple[CredentialSet, ...] | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def by_id(self, query_id: str) -> CredentialQuery | None:
        return next((c for c in self.credentials if c.id == query_id), None)


def _fail(message: str) -> InvalidDcqlQuery:
    return InvalidDcqlQuery(message)


def _ids(value: object, what: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and _ID.fullmatch(v) for v in value):
        raise _fail(f"{what} must be a non-empty array of identifiers")
    return tuple(value)


def _bool(obj: Mapping[str, Any], name: str, default: bool) -> bool:
    value = obj.get(name, default)
    if not isinstance(value, bool):
        raise _fail(f"{name} must be a boolean")
    return value


def _claim(obj: object, with_ids: bool) -> ClaimQuery:
    if not isinstance(obj, dict):
        raise _fail("each claims entry must be an object")
    claim_id = obj.get("id")
    if claim_id is not None and not (isinstance(claim_id, str) and _ID.fullmatch(claim_id)):
        raise _fail("a claim id is letters, digits, _ and -")
    if with_ids and claim_id is None:
        raise _fail("claims need ids when claim_sets is present")
    try:
        path = validate(obj.get("path"))
    except InvalidInput as exc:
        raise _fail(f"claims path: {exc.detail}") from None
    values = obj.get("values")
    if values is not None and (not isinstance(values, list) or not values or
                               not all(isinstance(v, str | int | bool) for v in values)):
        raise _fail("values must be a non-empty array of strings, integers or booleans")
    return ClaimQuery(path, claim_id, tuple(values) if values is not None else None)


def _credential(obj: object, other_formats: bool) -> CredentialQuery:
    if not isinstance(obj, dict):
        raise _fail("each credentials entry must be an object")
    query_id = obj.get("id")
    if not isinstance(query_id, str) or not _ID.fullmatch(query_id):
        raise _fail("a credential query id is letters, digits, _ and -")
    form, meta = obj.get("format"), obj.get("meta")
    if form != FORMAT and not (other_formats and isinstance(form, str) and form):
        raise _fail(f"only format {FORMAT} is supported")
    if not isinstance(meta, dict):
        raise _fail("meta is required and must be an object")
    if form != FORMAT:
        # Section 6.4.2: what no credential of the wallet matches is treated "as if [it] would not
        # exist in the Wallet". Kept (credential sets name it) as a query no card answers: no types,
        # no claims read (another format's claims and meta are its own).
        return CredentialQuery(query_id, form, (), _bool(obj, "multiple", False),
                               _bool(obj, "require_cryptographic_holder_binding", True))
    vct_values = meta.get("vct_values")
    if not isinstance(vct_values, list) or not vct_values or not all(isinstance(v, str) and v for v in vct_values):
        raise _fail("meta.vct_values must be a non-empty array of strings")
    raw_claims, raw_sets = obj.get("claims"), obj.get("claim_sets")
    if raw_claims is not None and (not isinstance(raw_claims, list) or not raw_claims):
        raise _fail("claims must be a non-empty array")
    if raw_sets is not None and raw_claims is None:
        raise _fail("claim_sets needs claims")
    claims = tuple(_claim(c, raw_sets is not None) for c in raw_claims) if raw_claims else None
    claim_ids = [c.id for c in claims or () if c.id is not None]
    if len(set(claim_ids)) != len(claim_ids):
        raise _fail("claim ids repeat within a credential query")
    sets = None
    if raw_sets is not None:
        if not isinstance(raw_sets, list) or not raw_sets:
            raise _fail("claim_sets must be a non-empty array")
        sets = tuple(_ids(s, "each claim set") for s in raw_sets)
        if any(i not in claim_ids for s in sets for i in s):
            raise _fail("a claim set names a claim id that does not exist")
    return CredentialQuery(query_id, FORMAT, tuple(vct_values), _bool(obj, "multiple", False),
                           _bool(obj, "require_cryptographic_holder_binding", True), claims, sets)


def parse(query: object, *, other_formats: bool = False) -> DcqlQuery:
    """A query as section 6 defines it. ``other_formats``: as a wallet reads one (section 5: it "MUST
    process the DCQL query"), where a Credential Query in a format other than ``dc+sd-jwt`` (an
    ``mso_mdoc`` alternative, say) is one no credential answers, not a reason to refuse the whole
    request; a verifier creates ``dc+sd-jwt`` queries only."""
    if not isinstance(query, dict):
        raise _fail("a DCQL query is a JSON object")
    raw_credentials = query.get("credentials")
    if not isinstance(raw_credentials, list) or not raw_credentials:
        raise _fail("credentials must be a non-empty array")
    credentials = tuple(_credential(c, other_formats) for c in raw_credentials)
    ids = [c.id for c in credentials]
    if len(set(ids)) != len(ids):
        raise _fail("credential query ids repeat")
    sets: tuple[CredentialSet, ...] | None = None
    raw_sets = query.get("credential_sets")
    if raw_sets is not None:
        if not isinstance(raw_sets, list) or not raw_sets:
            raise _fail("credential_sets must be a non-empty array")
        collected: list[CredentialSet] = []
        for entry in raw_sets:
            if not isinstance(entry, dict) or not isinstance(entry.get("options"), list) or not entry["options"]:
                raise _fail("each credential set needs a non-empty options array")
            options = tuple(_ids(o, "each option") for o in entry["options"])
            if any(i not in ids for o in options for i in o):
                raise _fail("a credential set option names an unknown credential query")
            collected.append(CredentialSet(options, _bool(entry, "required", True)))
        sets = tuple(collected)
    return DcqlQuery(credentials, sets, query)


def requested_claims(query: DcqlQuery) -> list[tuple[str, ClaimPath]]:
    """Every (vct, path) the query could make a wallet disclose."""
    return [(vct, c.path) for q in query.credentials for vct in q.vct_values for c in q.claims or ()]


@dataclass(frozen=True, slots=True)
class Answer:
    """One presented credential, already verified: its type and its processed claims."""

    vct: str
    claims: Mapping[str, Any]
    holder_bound: bool


def claim_matches(claim: ClaimQuery, claims: Mapping[str, Any]) -> bool:
    """The claim is there, and when the query lists ``values``, one of them (section 6.3: "match
    exactly for at least one of the elements in the array", type and value). A path through an
    array (``null``, section 7.1.1) selects several elements: one matching element is enough, as
    dcql-ts and the wallets built on it read it (helper-66; every element had to match here, so
    ``nationalities: ["SY", "LB"]`` did not answer a query for ``SY``). The wallet matches its
    cards with this too, so both sides read a query alike."""
    try:
        found = select(claims, claim.path)
    except InvalidInput:
        return False
    if claim.values is None:
        return bool(found)
    return any(type(v) is type(x) and v == x for _, v in found for x in claim.values)


def answer_problem(query: CredentialQuery, answer: Answer) -> str | None:
    """What keeps one presentation from answering its Credential Query (section 6.4.1), or None."""
    if answer.vct not in query.vct_values:
        return "a credential of another type"
    if query.holder_binding and not answer.holder_bound:
        return "no key binding"
    claims = query.claims or ()
    if query.claim_sets is None:
        missing = [c for c in claims if not claim_matches(c, answer.claims)]
        return "requested claims missing" if missing else None
    by_id = {c.id: c for c in claims}
    if any(all(claim_matches(by_id[i], answer.claims) for i in option) for option in query.claim_sets):
        return None
    return "no claim set fully answered"


def shape_problem(query: DcqlQuery, counts: Mapping[str, int]) -> str | None:
    """What is wrong with the response as a whole before any presentation is read (section 6.4):
    an answer to a query that was not asked, or several where the query allows one."""
    for query_id, count in counts.items():
        credential_query = query.by_id(query_id)
        if credential_query is None:
            return f"{query_id!r} was not asked for"
        if count < 1 or (count > 1 and not credential_query.multiple):
            return f"{query_id!r}: wrong number of presentations"
    return None


def unanswered(query: DcqlQuery, answered: Collection[str]) -> str | None:
    """What the answered Credential Queries leave unmet (section 6.4.2), or None. Without
    ``credential_sets`` every query must be answered; with them, one option of each required set."""
    if query.credential_sets is None:
        missing = [c.id for c in query.credentials if c.id not in answered]
        return f"not answered: {', '.join(missing)}" if missing else None
    for credential_set in query.credential_sets:
        if credential_set.required and not any(set(o) <= set(answered) for o in credential_set.options):
            return "a required credential set is not answered"
    return None
