"""Refresh tokens: fresh copies of a credential without staff (OpenID4VCI 1.0 "Refreshing Issued
Credentials" and section 6; RFC 6749 section 6; RFC 9700 section 4.14.2). Pure.

Why: a wallet shows each copy of a batch to one verifier only, so two verifiers cannot link
their visits by a shared signature, salt, key or status index. Copies run out; the holder
should not have to go back to the office for more of the same credential. So the token
response of a pre-authorized code carries a ``refresh_token``; ``grant_type=refresh_token``
trades it for an access token good for **one more batch of the same credential** — the same
claims, the same expiry, new holder keys, salts and status indexes. Like the code's own access token it
also grants the compact offline copy once (issuer.offline): a wallet renews that copy the same
way.

The rules:

- **Rotation.** A refresh token works once; the answer carries its successor. A public client
  (our wallets authenticate with nothing) must have rotation or sender-constrained tokens
  (RFC 9700 section 4.14.2): a rotated token presented again means two parties hold the family,
  and one of them is a thief — the whole family dies, the live token too (``revoke``). The
  holder's wallet then asks the issuer for a new offer.
- **Client.** A family is bound to the ``client_id`` the wallet sent with the code, if any; a
  refresh naming no or another client is refused (RFC 6749 section 6: "bound to the client").
- **Key.** A code redeemed with a DPoP proof binds the family to that key, and each refresh must
  come with a proof by it (RFC 9449 section 5: "the refresh token MUST be bound to the respective
  public key" for a public client, and "the binding MUST be validated"). A token copied without the
  key is refused; the family lives on for the holder, who has the key.
- **Lifetime.** A family lives ``refresh_token_days`` from the code's redemption (absolute, not
  sliding: refreshing does not make it immortal) and never past the credential's expiry.
- **Status.** A revoked credential's family dies; a suspended one's refresh is refused while it
  is suspended, and works again once reinstated. A refresh before the first batch was issued is
  refused: the pre-authorized code's own access token does that.
- **Every refusal is ``invalid_grant``** (RFC 6749 section 5.2), so a probe learns nothing about
  which tokens exist, were rotated, or belong to which client.

**Status indexes: new ones, linked to the original.** Reusing the batch's indexes would put one
``status_list`` reference into two copies, and any two verifiers comparing notes could link
them: exactly what copies exist to prevent. So each fresh copy gets its own random index, and
its issuer record carries the *same offer id* as the originals: revocation and suspension
already act on every credential of an offer (issuer.store.change_status: "one dataset, one
fate"), so the fresh copies are revoked or suspended together with the old ones, and a refresh
is refused unless every copy of the offer is valid at the moment it is issued.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from enum import StrEnum

from core.errors import OAuthError
from core.statuslist import INVALID, SUSPENDED

REFRESH_GRANT = "refresh_token"  # RFC 6749 section 6


class Verdict(StrEnum):
    GRANT = "grant"
    REFUSE = "refuse"
    REVOKE = "revoke"  # refuse, and the family dies


@dataclass(frozen=True, slots=True)
class FamilyState:
    """What the token endpoint knows about the family a presented refresh token belongs to."""

    rotated: bool  # this very token was used already
    revoked: bool
    expires_at: int
    client_digest: str | None  # the client the family is bound to; None: none named
    dpop_jkt: str | None  # the DPoP key the family is bound to (RFC 7638 thumbprint); None: a bearer family
    offer_issued: bool  # the first batch went out
    statuses: tuple[int, ...]  # of every credential of the offer
    credentials_expire_at: int | None  # the batch's expiry; None: no credential yet


@dataclass(frozen=True, slots=True)
class Decision:
    verdict: Verdict
    error: OAuthError | None = None


def _refused(detail: str, verdict: Verdict = Verdict.REFUSE) -> Decision:
    return Decision(verdict, OAuthError("invalid_grant", detail))


UNKNOWN = "the refresh token is unknown, used, expired or revoked"


def judge(family: FamilyState | None, client_digest: str | None, now: int, proof_jkt: str | None = None) -> Decision:
    """Decide a refresh grant. ``family`` None: no token of this issuer has that digest; ``proof_jkt``:
    the key of the request's DPoP proof, if it sent one (checked by the caller)."""
    if family is None:
        return _refused(UNKNOWN)
    # The key first: a rotated token leaked without the key must not let its holder end the family
    # (reuse detection below revokes it); a bound token is sender-constrained already (RFC 9449 5).
    if family.dpop_jkt is not None and (proof_jkt is None or not hmac.compare_digest(proof_jkt, family.dpop_jkt)):
        return _refused("the refresh token is bound to a DPoP key: send a proof by that key")
    if family.rotated:
        return _refused(UNKNOWN, Verdict.REVOKE if not family.revoked else Verdict.REFUSE)
    if family.revoked or now >= family.expires_at:
        return _refused(UNKNOWN)
    if family.client_digest is not None and (
            client_digest is None or not hmac.compare_digest(client_digest, family.client_digest)):
        return _refused("the refresh token was issued to another client")
    if not family.offer_issued or family.credentials_expire_at is None:
        return _refused("the credential was not issued yet: use the pre-authorized code's access token")
    if INVALID in family.statuses:
        return _refused("the credential was revoked", Verdict.REVOKE)
    if now >= family.credentials_expire_at:
        return _refused("the credential has expired")
    if SUSPENDED in family.statuses:
        return _refused("the credential is suspended")
    return Decision(Verdict.GRANT)


def family_expiry(now: int, days: int) -> int:
    return now + days * 86400
