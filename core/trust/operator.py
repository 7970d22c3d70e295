"""What the governance operator does to the draft before signing it. Pure: a draft in, a draft out.

Adding an issuer or verifier whose id is already listed replaces that entry (the CLI says
"updated"), so correcting a name or adding a credential type is one command. Signing
takes the next sequence number and a validity window from ``now``; the draft remembers
the number so the next list is always newer (the rollback rule of ``core.trust.cache``).
"""

from __future__ import annotations

from core.errors import InvalidTrustList
from core.keys import PrivateKey
from core.trust.document import sign
from core.trust.model import AccreditedIssuer, Draft, PurposeRegistration, RegisteredVerifier, TrustList, parse


def new_draft(iss: str, validity_s: int = 7 * 86400) -> Draft:
    return parse(Draft, {"iss": iss, "validity_s": validity_s})


def put_issuer(draft: Draft, issuer: AccreditedIssuer) -> tuple[Draft, bool]:
    """Add or replace ``issuer``; True if it replaced an entry."""
    others = [i for i in draft.issuers if i.id != issuer.id]
    return draft.model_copy(update={"issuers": [*others, issuer]}), len(others) != len(draft.issuers)


def set_issuer_suspension(draft: Draft, issuer_id: str, suspended_from: int | None) -> Draft:
    """Suspend from a time, or lift a suspension with ``None``."""
    issuer = draft.issuer(issuer_id)
    if issuer is None:
        raise InvalidTrustList("no issuer with that id in the draft")
    changed = issuer.model_copy(update={"suspended_from": suspended_from})
    return put_issuer(draft, changed)[0]


def put_verifier_purpose(
    draft: Draft, verifier: RegisteredVerifier, registration: PurposeRegistration
) -> tuple[Draft, bool]:
    """Register ``verifier`` for one more purpose (or replace that purpose's registration).

    Names and keys come from ``verifier``; its other purposes are kept. True if the
    verifier was already listed.
    """
    existing = draft.verifier(verifier.id)
    kept = [r for r in existing.registrations if r.purpose != registration.purpose] if existing else []
    merged = parse(RegisteredVerifier, {
        **verifier.model_dump(mode="json", exclude_none=True),
        "registrations": [r.model_dump(mode="json") for r in (*kept, registration)],
        "suspended_from": existing.suspended_from if existing else None,
    })
    others = [v for v in draft.verifiers if v.id != verifier.id]
    return draft.model_copy(update={"verifiers": [*others, merged]}), existing is not None


def sign_draft(draft: Draft, governance_key: PrivateKey, now: int) -> tuple[str, Draft]:
    """The signed list (JWT) and the draft with its sequence number advanced."""
    seq = draft.seq + 1
    content = parse(TrustList, {
        **draft.model_dump(mode="json", exclude={"seq", "validity_s"}, exclude_none=True),
        "seq": seq,
        "iat": now,
        "next_update": now + draft.validity_s,
    })
    return sign(content, governance_key), draft.model_copy(update={"seq": seq})
