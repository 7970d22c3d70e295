"""Policy questions answered from a trust list: may this issuer issue that, may this verifier ask for that.

Pure functions: a ``TrustList`` and times in, a decision out. The verifier service and the
wallet call them; nothing here fetches or stores.

Suspension and credentials issued before it (issue 3 leaves this as a policy choice):

- ``issuer_may_issue(list, iss, vct, at)`` answers one question: was the issuer
  accredited for ``vct`` at time ``at``, not yet suspended? Accreditation is
  ``valid_from <= at < valid_until`` and ``at < suspended_from``.
- ``check_issuer`` applies it to a credential. An accreditation that simply *ended*
  (``valid_until``) is judged at the credential's ``iat``: a certificate from an NGO that
  has since closed stays true. A *suspension* is judged by ``SuspensionPolicy``:
  ``REFUSE_ALL`` (the default) refuses every credential of a suspended issuer from the
  suspension time on, whatever its ``iat`` — a suspended issuer still holds its keys and
  could back-date — while ``HONOUR_EARLIER`` accepts credentials whose ``iat`` precedes
  the suspension, for operators who suspend for administrative reasons.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from core.errors import (
    IssuerNotAccredited,
    IssuerSuspended,
    PurposeNotRegistered,
    RequestExceedsRegistration,
    VerifierNotRegistered,
)
from core.keys import PublicKey
from core.sdjwt.paths import ClaimPath, format_path
from core.trust.model import AccreditedIssuer, RegisteredVerifier, TrustList

RequestedClaim = tuple[str, ClaimPath]  # (vct, claim path)


class Refusal(StrEnum):
    UNLISTED = "unlisted"
    TYPE_NOT_ACCREDITED = "type_not_accredited"
    NOT_YET_ACCREDITED = "not_yet_accredited"
    ACCREDITATION_ENDED = "accreditation_ended"
    SUSPENDED = "suspended"


class SuspensionPolicy(StrEnum):
    REFUSE_ALL = "refuse_all"
    HONOUR_EARLIER = "honour_earlier"


_PLAIN_WORDS = {
    Refusal.UNLISTED: "the issuer is not on the trust list",
    Refusal.TYPE_NOT_ACCREDITED: "the issuer is not accredited for this credential type",
    Refusal.NOT_YET_ACCREDITED: "the issuer was not yet accredited at that time",
    Refusal.ACCREDITATION_ENDED: "the issuer's accreditation had ended at that time",
    Refusal.SUSPENDED: "the issuer's accreditation is suspended",
}


@dataclass(frozen=True, slots=True)
class IssuerDecision:
    """Truthy when allowed; otherwise ``refusal`` says why in one stable word."""

    issuer: AccreditedIssuer | None
    refusal: Refusal | None = None

    def __bool__(self) -> bool:
        return self.refusal is None

    def raise_if_refused(self) -> AccreditedIssuer:
        if self.refusal is None:
            assert self.issuer is not None
            return self.issuer
        error = IssuerSuspended if self.refusal is Refusal.SUSPENDED else IssuerNotAccredited
        raise error(_PLAIN_WORDS[self.refusal])


def issuer_may_issue(trust_list: TrustList, iss: str, vct: str, at: int) -> IssuerDecision:
    """Was ``iss`` accredited for ``vct`` at time ``at``?"""
    issuer = trust_list.issuer(iss)
    if issuer is None:
        return IssuerDecision(None, Refusal.UNLISTED)
    if vct not in issuer.vcts:
        return IssuerDecision(issuer, Refusal.TYPE_NOT_ACCREDITED)
    if at < issuer.valid_from:
        return IssuerDecision(issuer, Refusal.NOT_YET_ACCREDITED)
    if issuer.valid_until is not None and at >= issuer.valid_until:
        return IssuerDecision(issuer, Refusal.ACCREDITATION_ENDED)
    if issuer.suspended_from is not None and at >= issuer.suspended_from:
        return IssuerDecision(issuer, Refusal.SUSPENDED)
    return IssuerDecision(issuer)


def check_issuer(
    trust_list: TrustList,
    *,
    iss: str,
    vct: str,
    issued_at: int | None,
    now: int,
    suspension: SuspensionPolicy = SuspensionPolicy.REFUSE_ALL,
) -> AccreditedIssuer:
    """A credential's issuer, judged as the module docstring explains; raises if refused.

    Without an ``iat`` (SD-JWT VC makes it optional) the credential is judged at ``now``.
    """
    at = now if issued_at is None else issued_at
    issuer = issuer_may_issue(trust_list, iss, vct, at).raise_if_refused()
    if suspension is SuspensionPolicy.REFUSE_ALL and issuer.suspended_from is not None and now >= issuer.suspended_from:
        raise IssuerSuspended(_PLAIN_WORDS[Refusal.SUSPENDED])
    return issuer


def issuer_keys(trust_list: TrustList, iss: str) -> list[PublicKey]:
    """The keys the list gives for ``iss`` (empty if unlisted): what an offline verifier has."""
    issuer = trust_list.issuer(iss)
    return issuer.public_keys() if issuer is not None else []


def registered_verifier(trust_list: TrustList, verifier_id: str, *, at: int | None = None) -> RegisteredVerifier:
    verifier = trust_list.verifier(verifier_id)
    if verifier is None:
        raise VerifierNotRegistered("the verifier is not on the trust list")
    if at is not None and verifier.suspended_from is not None and at >= verifier.suspended_from:
        raise VerifierNotRegistered("the verifier's registration is suspended")
    return verifier


def verifier_may_request(
    trust_list: TrustList,
    verifier_id: str,
    purpose: str,
    claims: Iterable[RequestedClaim],
    *,
    at: int | None = None,
) -> frozenset[RequestedClaim]:
    """The requested (vct, path) pairs the verifier's registration for ``purpose`` does not cover.

    Empty means the request is within the registration. A registered path covers itself
    and everything beneath it; a ``None`` (every element) in a registered path covers any
    index and ``None``, while an index covers only that index.
    """
    verifier = registered_verifier(trust_list, verifier_id, at=at)
    registration = verifier.registration(purpose)
    if registration is None:
        raise PurposeNotRegistered("the verifier is not registered for this purpose")
    allowed: dict[str, list[ClaimPath]] = {}
    for credential in registration.credentials:
        allowed.setdefault(credential.vct, []).extend(credential.paths())
    return frozenset(
        (vct, path) for vct, path in claims if not any(_covers(p, path) for p in allowed.get(vct, ()))
    )


def require_within_registration(
    trust_list: TrustList, verifier_id: str, purpose: str, claims: Iterable[RequestedClaim], *, at: int | None = None
) -> None:
    excess = verifier_may_request(trust_list, verifier_id, purpose, claims, at=at)
    if excess:
        named = ", ".join(sorted(f"{vct} {format_path(path)}" for vct, path in excess))
        raise RequestExceedsRegistration(f"not registered for: {named}")


def _covers(registered: ClaimPath, requested: ClaimPath) -> bool:
    if len(registered) > len(requested):
        return False
    pairs = zip(registered, requested[: len(registered)], strict=True)
    return all((r is None and (q is None or isinstance(q, int))) or r == q for r, q in pairs)
