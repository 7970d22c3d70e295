"""SD-JWT VC (draft-ietf-oauth-sd-jwt-vc): the profile every Amana credential follows.

On top of RFC 9901 it fixes:
- ``typ`` is ``dc+sd-jwt`` (section "JOSE Header");
- ``vct`` is required, and with ``iss``, ``nbf``, ``exp``, ``cnf``, ``status`` (and
  ``vct#integrity``, ``aka_vcts``) including their sub-claims, MUST NOT be selectively
  disclosed (section "Registered JWT Claims") — a presentation that discloses one is refused;
- ``iss`` is required in Amana's profile: it names the issuer whose accreditation and
  keys the verifier checks (the key discovery of section "Issuer Verification Key");
- holder binding through ``cnf.jwk`` by value, never fetched;
- the claims must fit the credential type (``core.credtypes``): schema and ``sd`` rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from core.credtypes import CredentialType, TypeRegistry
from core.errors import MissingClaim, ProtectedClaimDisclosed
from core.keys import PrivateKey, PublicKey
from core.sdjwt import _format
from core.sdjwt.issuer import issue
from core.sdjwt.verifier import (
    DEFAULT_POLICY,
    IssuerKeys,
    KeyBindingPolicy,
    Verified,
    VerifyPolicy,
    verify,
    verify_issued,
)

VC_TYP = "dc+sd-jwt"
NEVER_DISCLOSED = frozenset({"iss", "nbf", "exp", "cnf", "vct", "vct#integrity", "aka_vcts", "status"})


@dataclass(frozen=True, slots=True)
class VerifiedCredential:
    """A verified SD-JWT VC presentation."""

    vct: str
    issuer: str
    claims: dict[str, Any]
    verified: Verified
    credential_type: CredentialType | None

    @property
    def type_rules(self) -> str:
        """Whether the claims were checked against type metadata, in words for an output."""
        return f"applied: {self.vct}" if self.credential_type is not None else "none: unknown vct"

    @property
    def issued_at(self) -> int | None:
        """``iat``, if the issuer set one (whole seconds): what trust-list policy judges."""
        iat = self.claims.get("iat")
        return int(iat) if isinstance(iat, int | float) and not isinstance(iat, bool) else None

    def disclosed_claims(self) -> dict[str, Any]:
        """The credential's own claims, registered JWT claims left out."""
        return {k: v for k, v in self.claims.items() if k not in NEVER_DISCLOSED | {"iat", "sub"}}


def issue_vc(
    ctype: CredentialType,
    claims: Mapping[str, Any],
    *,
    issuer: str,
    issuer_key: PrivateKey,
    holder_key: PublicKey,
    now: int,
    valid_for_s: int,
    status: Mapping[str, Any] | None = None,
    serialization: _format.Serialization = "compact",
    checked: bool = False,
) -> str:
    """Issue one SD-JWT VC of ``ctype``; the claims are checked against the type first
    (``checked=True``: the caller just did, e.g. once for a batch of identical copies)."""
    if not checked:
        ctype.check_issuance(claims)
    payload: dict[str, Any] = {"iss": issuer, "iat": now, "exp": now + valid_for_s, "vct": ctype.vct}
    if status is not None:
        payload["status"] = dict(status)
    payload.update(claims)
    return issue(
        payload,
        issuer_key=issuer_key,
        disclosable=ctype.disclosable,
        holder_key=holder_key,
        typ=VC_TYP,
        serialization=serialization,
    )


def verify_vc(
    presentation: str,
    *,
    issuer_keys: IssuerKeys,
    now: int,
    key_binding: KeyBindingPolicy | None,
    types: TypeRegistry | None,
    policy: VerifyPolicy = DEFAULT_POLICY,
) -> VerifiedCredential:
    """Verify a presentation as an SD-JWT VC. With ``types``, an unknown ``vct`` is refused."""
    verified = verify(
        presentation,
        issuer_keys=issuer_keys,
        now=now,
        key_binding=key_binding,
        policy=_vc_policy(policy),
    )
    return _profile(verified, types)


def verify_vc_open(
    presentation: str,
    *,
    issuer_keys: IssuerKeys,
    now: int,
    key_binding: KeyBindingPolicy | None,
    types: TypeRegistry,
    policy: VerifyPolicy = DEFAULT_POLICY,
) -> VerifiedCredential:
    """Verify an SD-JWT VC from anywhere (``amana credential verify``, given the issuer's key).

    Type metadata is optional in SD-JWT VC ("Type Metadata" is looked up only if the
    verifier chooses to): a ``vct`` this node does not know gets signature, structure,
    protected claims and key binding checked, and ``credential_type`` None (``type_rules``
    says so); a ``vct`` it knows still has to fit its type. ``iss`` may be absent, as the
    format allows, since the caller names the key. A node's verifier keeps ``verify_vc``,
    which refuses every type its queries do not name.
    """
    verified = verify(presentation, issuer_keys=issuer_keys, now=now, key_binding=key_binding,
                      policy=_vc_policy(policy))
    vct = verified.claims.get("vct")
    known = isinstance(vct, str) and vct in types
    return _profile(verified, types if known else None, require_iss=False)


def verify_vc_issued(
    sd_jwt: str, *, issuer_keys: IssuerKeys, now: int, types: TypeRegistry | None,
    policy: VerifyPolicy = DEFAULT_POLICY,
) -> VerifiedCredential:
    """What a wallet checks when it receives a credential (RFC 9901 section 7.2)."""
    verified = verify_issued(sd_jwt, issuer_keys=issuer_keys, now=now, policy=_vc_policy(policy))
    return _profile(verified, types)


@lru_cache(maxsize=16)
def _vc_policy(policy: VerifyPolicy) -> VerifyPolicy:
    """The caller's policy with ``typ`` fixed to ``dc+sd-jwt``; policies are few and frozen,
    so each is derived once rather than copied on every verify."""
    return replace(policy, typ=VC_TYP)


def _profile(verified: Verified, types: TypeRegistry | None, *, require_iss: bool = True) -> VerifiedCredential:
    for path in verified.disclosed:
        if path[0] in NEVER_DISCLOSED:
            raise ProtectedClaimDisclosed(f"{path[0]} must not be selectively disclosed")
    claims = verified.claims
    vct, iss = claims.get("vct"), claims.get("iss")
    if not isinstance(vct, str) or not vct:
        raise MissingClaim("vct is required")
    if require_iss and (not isinstance(iss, str) or not iss):
        raise MissingClaim("iss is required")
    if not isinstance(iss, str):
        iss = ""
    ctype = None
    if types is not None:
        ctype = types.require(vct)
        ctype.check_presented(claims, verified.disclosed)
    return VerifiedCredential(vct=vct, issuer=iss, claims=claims, verified=verified, credential_type=ctype)
