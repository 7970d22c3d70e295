"""Verify an offline QR from what the verifier cached: trust list, issuer keys, status lists.

Pure: the caller passes ``now`` and four small functions (issuer keys by ``kid``, the trust
policy, the cached status, the replay store), so the CLI, the node's scan page and tests
share one decision. Each refusal is its own error (core/errors.py); a status that cannot
be known offline is reported as ``"unknown"``, never as valid.

Order: form, issuer signature, holder signature, disclosures, validity, accreditation,
freshness (nonce, window), status, and the replay store last, so that only a presentation
that passed everything else is remembered.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from core.errors import (
    ClaimNameCollision,
    CredentialRevoked,
    CredentialSuspended,
    DuplicateDisclosure,
    Expired,
    InvalidSignature,
    IssuedInFuture,
    NonceMismatch,
    Replayed,
    UnknownIssuerKey,
    UnreferencedDisclosure,
    WindowExpired,
    WindowTooLong,
)
from core.keys import PublicKey
from core.offline.credential import StatusRef, compact_kid, digest, parse_disclosure
from core.offline.presentation import Presentation, decode
from core.trust import SuspensionPolicy, TrustList, check_issuer

Status = Literal["valid", "revoked", "suspended", "unknown"]
PAPER_NOTICE = "paper QR: anyone holding this paper can show it"
MAX_CANDIDATE_KEYS = 8


@dataclass(frozen=True, slots=True)
class IssuerKey:
    """A key the cached trust list gives, with the issuer id it belongs to."""

    key: PublicKey
    issuer: str


@dataclass(frozen=True, slots=True)
class OfflinePolicy:
    max_window_s: int = 120  # a screen QR
    max_paper_window_s: int = 90 * 86400  # a paper QR; 0 refuses paper
    clock_skew_s: int = 60
    require_nonce: bool = False  # refuse a QR that carries no nonce (e.g. the verifier always shows one)
    replay_check_paper: bool = False  # paper is shown again by design; True makes it once per verifier


DEFAULT_POLICY = OfflinePolicy()


@dataclass(frozen=True, slots=True)
class Verified:
    claims: dict[str, Any]  # SD-JWT VC shape: iss, vct, iat, exp, cnf and the disclosed claims
    vct: str
    issuer: str
    status: Status
    status_list: tuple[StatusRef, int]
    paper: bool
    nonce_bound: bool
    binding_time: int
    valid_until: int  # t + w: the end of the holder's window
    disclosed: tuple[str, ...]

    @property
    def notice(self) -> str | None:
        return PAPER_NOTICE if self.paper else None


def verify(
    qr_text: str,
    *,
    resolve_issuer_key: Callable[[bytes], Sequence[IssuerKey]],
    check_accredited: Callable[[str, str, int], None],
    status_of: Callable[[str, StatusRef, int], Status],
    seen: Callable[[bytes, int], bool],
    nonce_expected: bytes | None,
    now: int,
    policy: OfflinePolicy = DEFAULT_POLICY,
) -> Verified:
    """Verify ``qr_text``; raise the one error that names why it is refused.

    ``check_accredited(issuer, vct, iat)`` raises IssuerNotAccredited / IssuerSuspended
    (``trust_list_checks`` builds it and the key resolver from a TrustList).
    ``seen(binding_hash, until)`` answers whether this binding was shown before and remembers
    it until ``until``; the hash is SHA-256 of the signed key-binding input, not of the
    signature bytes, since an ECDSA signature can be altered into another valid one.
    """
    p = decode(qr_text)
    cred = p.credential
    candidates = list(resolve_issuer_key(cred.kid))[:MAX_CANDIDATE_KEYS]
    if not candidates:
        raise UnknownIssuerKey("no cached trust list key has this kid")
    signer = next((c for c in candidates if cred.verify_signature(c.key)), None)
    if signer is None:
        raise InvalidSignature("the credential's signature does not verify")
    binding = p.binding_input()
    if not cred.holder_key().verify(p.signature, binding):
        raise InvalidSignature("the key-binding signature does not verify with the credential's holder key")
    claims = _disclosed(p)
    skew = policy.clock_skew_s
    if now >= cred.exp + skew:
        raise Expired("the credential has expired")
    if cred.iat > now + skew:
        raise IssuedInFuture("the credential is issued in the future")
    check_accredited(signer.issuer, cred.ctype.vct, cred.iat)
    paper = _check_freshness(p, nonce_expected, now, policy)
    status = status_of(signer.issuer, *cred.status)
    if status == "revoked":
        raise CredentialRevoked("the cached status list says revoked")
    if status == "suspended":
        raise CredentialSuspended("the cached status list says suspended")
    if status != "valid":
        status = "unknown"
    if (not paper or policy.replay_check_paper) and seen(hashlib.sha256(binding).digest(), p.t + p.w + skew):
        raise Replayed("this QR was already shown here inside its window")
    shaped = {"iss": signer.issuer, "vct": cred.ctype.vct, "iat": cred.iat, "exp": cred.exp,
              "cnf": {"jwk": cred.holder_key().to_jwk()}, **claims}
    return Verified(shaped, cred.ctype.vct, signer.issuer, status, cred.status, paper, p.nonce is not None,
                    p.t, p.t + p.w, tuple(claims))


def _disclosed(p: Presentation) -> dict[str, Any]:
    claims: dict[str, Any] = {}
    if len(set(p.disclosures)) != len(p.disclosures):
        raise DuplicateDisclosure("a disclosure is sent twice")
    for raw in p.disclosures:
        if digest(raw) not in p.credential.digests:
            raise UnreferencedDisclosure("a disclosure is not one the issuer signed")
        name, value = parse_disclosure(raw, p.credential.ctype)
        if name in claims:
            raise ClaimNameCollision(f"claim {name} is disclosed twice")
        claims[name] = value
    return claims


def _check_freshness(p: Presentation, nonce_expected: bytes | None, now: int, policy: OfflinePolicy) -> bool:
    """Nonce and window; True when the window makes it a paper QR."""
    if p.nonce is not None and p.nonce != nonce_expected:
        raise NonceMismatch("the QR carries another nonce than this verifier's")
    if p.nonce is None and policy.require_nonce:
        raise NonceMismatch("this verifier asks for a QR made with its nonce")
    paper = p.w > policy.max_window_s
    if paper and p.w > policy.max_paper_window_s:
        raise WindowTooLong("the QR's window is longer than this verifier accepts")
    if p.t > now + policy.clock_skew_s:
        raise WindowExpired("the QR's window has not begun")
    if now >= p.t + p.w + policy.clock_skew_s:
        raise WindowExpired("the QR's window is over")
    return paper


def trust_list_checks(
    trust_list: TrustList, *, now: int, suspension: SuspensionPolicy = SuspensionPolicy.REFUSE_ALL
) -> tuple[Callable[[bytes], list[IssuerKey]], Callable[[str, str, int], None]]:
    """The key resolver and accreditation check for ``verify``, from a cached trust list."""
    by_kid: dict[bytes, list[IssuerKey]] = {}
    for issuer in trust_list.issuers:
        for key in issuer.public_keys():
            by_kid.setdefault(compact_kid(key), []).append(IssuerKey(key, issuer.id))

    def accredited(iss: str, vct: str, iat: int) -> None:
        check_issuer(trust_list, iss=iss, vct=vct, issued_at=iat, now=now, suspension=suspension)

    return (lambda kid: by_kid.get(kid, [])), accredited
