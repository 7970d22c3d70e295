"""The signed trust list: a compact JWS with its own ``typ`` (specs/formats/trust-list.md).

``sign`` turns validated content into the JWT the operator publishes; ``verify`` checks
one against the governance keys a verifier or wallet was configured with (its trust
anchor, distributed out of band): algorithm allow-list tied to the key, ``typ`` exact,
signature, strict JSON, the content model, ``iat`` not in the future. A list past its
``next_update`` still verifies but is marked ``expired``: the caller decides whether to
fail closed (``require_current``), because an offline desk may prefer a day-old list to
none, and says so on screen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from core import _jose
from core.errors import InvalidTokenType, IssuedInFuture, TrustListExpired
from core.keys import PrivateKey, PublicKey
from core.trust.model import TrustList, parse

TRUST_LIST_TYP = "amana-trustlist+jwt"
MEDIA_TYPE = "application/" + TRUST_LIST_TYP
ALGORITHMS = frozenset({"ES256", "EdDSA"})


@dataclass(frozen=True, slots=True)
class VerifiedTrustList:
    """A trust list whose signature and content checked out at ``now``."""

    content: TrustList
    token: str  # the exact JWT, kept for caching and re-publication
    governance_key: PublicKey
    expired: bool  # now >= next_update: usable only if the caller's policy says so

    def require_current(self) -> TrustList:
        """The content, or ``TrustListExpired`` for callers that fail closed."""
        if self.expired:
            raise TrustListExpired()
        return self.content


def sign(content: TrustList, governance_key: PrivateKey) -> str:
    payload: dict[str, Any] = content.model_dump(mode="json", exclude_none=True)
    return _jose.sign_compact({"typ": TRUST_LIST_TYP}, payload, governance_key)


def verify(
    token: str, *, governance_keys: Sequence[PublicKey], now: int, clock_skew_s: int = 60
) -> VerifiedTrustList:
    jws = _jose.parse_compact(token.strip(), "trust list")
    header = jws.unverified_header
    alg = _jose.check_header(header, ALGORITHMS, "trust list")
    if header.get("typ") != TRUST_LIST_TYP:
        raise InvalidTokenType(f"trust list typ must be {TRUST_LIST_TYP!r}")
    key = _jose.verify_with_any(jws, governance_keys, alg, "trust list")
    content = parse(TrustList, jws.unverified_payload())  # signature checked: trusted bytes
    if content.iat > now + clock_skew_s:
        raise IssuedInFuture("the trust list's iat lies in the future")
    return VerifiedTrustList(content=content, token=token.strip(), governance_key=key,
                             expired=now >= content.next_update)

