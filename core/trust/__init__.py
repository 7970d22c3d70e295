"""The trust list: who may issue which credential types, who may request which claims and why.

Format: specs/formats/trust-list.md. Public surface:

- content: ``TrustList``, ``AccreditedIssuer``, ``RegisteredVerifier``, ``Draft``;
- the signed document: ``sign``, ``verify`` → ``VerifiedTrustList`` (``expired`` flag);
- keeping the newest: ``TrustListCache``, ``choose_newer`` (rollback refused);
- policy: ``issuer_may_issue``, ``check_issuer``, ``verifier_may_request``,
  ``require_within_registration``, ``issuer_keys``.
"""

from core.trust.cache import TrustListCache, choose_newer
from core.trust.document import MEDIA_TYPE, TRUST_LIST_TYP, VerifiedTrustList, sign, verify
from core.trust.model import AccreditedIssuer, Draft, PurposeRegistration, RegisteredVerifier, TrustList
from core.trust.policy import (
    IssuerDecision,
    Refusal,
    RequestedClaim,
    SuspensionPolicy,
    check_issuer,
    issuer_keys,
    issuer_may_issue,
    registered_verifier,
    require_within_registration,
    verifier_may_request,
)

__all__ = [
    "MEDIA_TYPE",
    "TRUST_LIST_TYP",
    "AccreditedIssuer",
    "Draft",
    "IssuerDecision",
    "PurposeRegistration",
    "Refusal",
    "RegisteredVerifier",
    "RequestedClaim",
    "SuspensionPolicy",
    "TrustList",
    "TrustListCache",
    "VerifiedTrustList",
    "check_issuer",
    "choose_newer",
    "issuer_keys",
    "issuer_may_issue",
    "registered_verifier",
    "require_within_registration",
    "sign",
    "verifier_may_request",
    "verify",
]
