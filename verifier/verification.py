"""The verification engine: is this answer to this request to be believed? Pure.

Two steps, so that the network stays outside (the service resolves what step one asks for):

1. ``verify_vp_token``: parse the ``vp_token`` (OpenID4VP 1.0 section 8.1: an object keyed
   by Credential Query id), verify each presentation as an SD-JWT VC with its Key Binding
   JWT (``aud`` the full Client Identifier, ``nonce`` the request's: section B.3.6),
   check the issuer is accredited by the trust list for that ``vct`` at its ``iat``, and
   re-check the DCQL query. Issuer keys come from a callable (trust list, then the
   issuer's ``/.well-known/jwt-vc-issuer``). Returns the credentials and the status
   references still to resolve.
2. ``decide``: given each status as resolved — ``valid``, ``revoked``, ``suspended`` or
   ``unknown`` (unreachable, stale, unverifiable: never guessed) — and the check's policy
   on unknown, the result: accepted or not, with only the requested claims.

A presentation that fails either step is discarded, and the check stands on the others when they
still answer the query (section 8.6); one that cannot is refused, with the first failure's reason.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple

from core import dcql
from core.credtypes import TypeRegistry
from core.dcql import Answer, DcqlQuery, ResponseDoesNotMatchQuery
from core.encoding import json_loads_strict
from core.errors import AmanaError, AudienceMismatch, IssuerNotAccredited, MalformedToken, NonceMismatch
from core.keys import PublicKey
from core.sdjwt import KeyBindingPolicy, VerifyPolicy, binds, key_binding_of
from core.sdjwt.paths import format_path, select
from core.sdjwt.vc import VerifiedCredential, verify_vc
from core.trust import SuspensionPolicy, TrustList, check_issuer

IssuerKeyLookup = Callable[[str, Mapping[str, Any]], Sequence[PublicKey]]


class Status(StrEnum):
    VALID = "valid"
    REVOKED = "revoked"
    SUSPENDED = "suspended"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Expectation:
    """What the request promised: who the presentation is for, its nonce, what it asks."""

    client_id: str
    nonce: str
    query: DcqlQuery
    accept_unknown_status: bool = False
    suspension: SuspensionPolicy = SuspensionPolicy.REFUSE_ALL


@dataclass(frozen=True, slots=True)
class CheckedCredential:
    query_id: str
    vct: str
    issuer: str
    issuer_names: Mapping[str, str]
    requested: dict[str, Any]  # only the claims the query asked for, by dotted path
    disclosed_names: tuple[str, ...]  # what the holder disclosed, names only (for the audit)
    status_ref: tuple[str, int] | None  # (uri, idx) still to resolve


@dataclass(frozen=True, slots=True)
class Result:
    accepted: bool
    credentials: tuple[CheckedCredential, ...] = ()
    statuses: tuple[Status, ...] = ()
    reason: str | None = None  # a stable code when not accepted
    detail: str | None = field(default=None)


def parse_vp_token(raw: str) -> dict[str, list[str]]:
    token = json_loads_strict(raw, "vp_token")
    if not isinstance(token, dict) or not token:
        raise MalformedToken("vp_token must be a non-empty JSON object")
    for key, value in token.items():
        if not isinstance(value, list) or not value or not all(isinstance(p, str) for p in value):
            raise MalformedToken(f"vp_token[{key!r}] must be a non-empty array of presentations")
    return token


def _requested(query: DcqlQuery, query_id: str, claims: Mapping[str, Any]) -> dict[str, Any]:
    credential_query = query.by_id(query_id)
    out: dict[str, Any] = {}
    for claim in (credential_query.claims if credential_query else None) or ():
        for concrete, value in select(claims, claim.path):
            out[format_path(concrete)] = value
    return out


class Presented(NamedTuple):
    """What a VP Token holds (``verify_vp_token``)."""

    checked: tuple[CheckedCredential, ...]  # the presentations that hold and answer their query
    unanswered: AmanaError | None  # what refuses the answer when those do not answer the query
    # Some presentation is signed by a trust-listed issuer's key, with a Key Binding JWT by its holder
    # for this request (core.sdjwt.key_binding_of), whether or not it then holds or answers: an
    # answer a holder made, not junk anyone who saw the QR could post (verifier.checks.respond).
    # Without a key binding (a query may ask for none) a presentation is no holder's: only an
    # answer the check accepts ends it then.
    bound: bool


def verify_vp_token(
    raw_vp_token: str, expect: Expectation, *, trust_list: TrustList, issuer_keys: IssuerKeyLookup,
    types: TypeRegistry, now: int, policy: VerifyPolicy,
) -> Presented:
    """Step 1: the presentations that hold, what refuses the answer when they do not answer the
    query, and whether any presentation is bound to this request; an AmanaError for a problem of
    the whole response.

    Section 8.6: "If any of the checks related to an individual Presentation fail, the effected
    Presentation MUST be discarded. If any of the checks pertaining to the VP Token or the overall
    response fails, the VP Token MUST be rejected." So the token's shape is judged first (an answer
    to a query not asked, two where one is allowed: rejected); then each presentation alone (its
    signatures, key binding, issuer, type and claims: discarded when it fails); then whether those
    left answer the query (section 6.4.2). When they do not, the error is the first discarded
    presentation's, the most telling (a check of one credential ends as it always did). A
    presentation with another request's ``nonce`` is no such individual failure: section 14.1.2,
    "If any Verifiable Presentation in the response does not contain the correct nonce value, the
    response MUST be rejected" (an injected presentation); one bound to another ``client_id`` is
    judged the same (a presentation replayed from another verifier)."""
    token = parse_vp_token(raw_vp_token)
    shape = dcql.shape_problem(expect.query, {query_id: len(p) for query_id, p in token.items()})
    if shape:
        raise ResponseDoesNotMatchQuery(shape)
    kb = KeyBindingPolicy(audience=expect.client_id, nonce=expect.nonce)

    def keys_for(_header: Mapping[str, Any], payload: Mapping[str, Any]) -> Sequence[PublicKey]:
        iss = str(payload.get("iss"))
        if trust_list.issuer(iss) is None:  # refused before any key is looked for: nothing to fetch
            raise IssuerNotAccredited("the issuer is not on the trust list")
        return issuer_keys(iss, payload)

    checked: list[CheckedCredential] = []
    discarded: list[AmanaError] = []
    bound = False
    for query_id, presentations in token.items():
        credential_query = expect.query.by_id(query_id)
        assert credential_query is not None  # shape_problem: every key is a query asked
        for presentation in presentations:
            try:
                result: VerifiedCredential = verify_vc(
                    presentation, issuer_keys=keys_for, now=now,
                    key_binding=kb if credential_query.holder_binding else None, types=types, policy=policy)
                made = result.verified.key_binding  # checked for this request when the query asks for binding
                if made is not None and not credential_query.holder_binding:
                    _bound_here(made, kb)
                bound = bound or made is not None
                issuer = check_issuer(trust_list, iss=result.issuer, vct=result.vct, issued_at=result.issued_at,
                                      now=now, suspension=expect.suspension)
                problem = dcql.answer_problem(credential_query, Answer(result.vct, result.claims,
                                                                       result.verified.key_binding is not None))
                if problem:
                    raise ResponseDoesNotMatchQuery(f"{query_id!r}: {problem}")
            except (NonceMismatch, AudienceMismatch):
                raise  # section 14.1.2: the response is rejected, not the presentation discarded
            except AmanaError as exc:
                discarded.append(exc)
                # A holder's own answer that failed after its binding (expired, a clock off) is no
                # junk, and one bound elsewhere is no answer: its binding checked apart, on this
                # failure path only (helper-68, helper-69).
                made = key_binding_of(presentation, issuer_keys=keys_for, policy=policy)
                if made is not None:
                    _bound_here(made, kb)
                    bound = True
                continue
            checked.append(CheckedCredential(
                query_id=query_id, vct=result.vct, issuer=result.issuer, issuer_names=dict(issuer.names),
                requested=_requested(expect.query, query_id, result.claims),
                disclosed_names=tuple(sorted(format_path(p) for p in result.verified.disclosed)),
                status_ref=_status_ref(result.claims)))
    unmet = dcql.unanswered(expect.query, {c.query_id for c in checked})
    if unmet or not checked:  # nothing left: a query of optional sets only is not answered by nothing
        return Presented(tuple(checked), discarded[0] if discarded else ResponseDoesNotMatchQuery(
            unmet or "no presentation"), bound)
    return Presented(tuple(checked), None, bound)


def _bound_here(made: Mapping[str, Any], kb: KeyBindingPolicy) -> None:
    """A Key Binding JWT, signed and over its SD-JWT, for another verifier or another request
    rejects the whole response (section 14.1.2), whether or not its presentation holds otherwise
    (an expired one too) and whether or not its query asked for binding."""
    if made.get("aud") != kb.audience:
        raise AudienceMismatch()
    if not binds(made, kb):
        raise NonceMismatch()


def _status_ref(claims: Mapping[str, Any]) -> tuple[str, int] | None:
    status = claims.get("status")
    ref = status.get("status_list") if isinstance(status, dict) else None
    if ref is None:
        return None
    uri, idx = ref.get("uri") if isinstance(ref, dict) else None, ref.get("idx") if isinstance(ref, dict) else None
    if not isinstance(uri, str) or type(idx) is not int or idx < 0:
        raise MalformedToken("status.status_list needs a uri and a non-negative idx")
    return uri, idx


def decide(checked: Sequence[CheckedCredential], statuses: Sequence[Status], expect: Expectation) -> Result:
    """Step 2: the verdict once statuses are known (``statuses`` aligned with ``checked``).

    A credential whose status fails the check's policy is a presentation that fails (section 8.6
    step 2.5, "revocation checks"): discarded, and the check stands on the others if they still
    answer the query. If they do not, the verdict is the first failing status's, with every
    credential and status shown, as the desk needs them to say why."""
    judged = [(c, s, _status_problem(s, expect)) for c, s in zip(checked, statuses, strict=True)]
    kept = [(c, s) for c, s, problem in judged if problem is None]
    problems = [problem for _, _, problem in judged if problem is not None]
    if problems and (not kept or dcql.unanswered(expect.query, {c.query_id for c, _ in kept})):
        return Result(False, tuple(checked), tuple(statuses), *problems[0])
    return Result(True, tuple(c for c, _ in kept), tuple(s for _, s in kept))


def _status_problem(status: Status, expect: Expectation) -> tuple[str, str] | None:
    if status is Status.REVOKED:
        return "revoked", "a credential is revoked"
    if status is Status.SUSPENDED:
        return "suspended", "a credential is suspended"
    if status is Status.UNKNOWN and not expect.accept_unknown_status:
        return "status_unknown", "the status of a credential could not be checked"
    return None


def refused(exc: AmanaError) -> Result:
    return Result(False, reason=exc.code, detail=exc.detail)
