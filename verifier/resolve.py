"""What verification needs from the network, fetched through the hardened fetcher (core.fetch).

- Issuer keys: the trust list's JWKS for an accredited issuer first (works offline); only if
  the presentation names a ``kid`` that list lacks (the issuer rotated since), the issuer's
  ``/.well-known/jwt-vc-issuer`` — and only for issuers the trust list accredits, so a
  presentation cannot make the verifier fetch an address of its choosing.
- Status: the ``statuslist+jwt`` at the credential's ``uri``, verified with the issuer's
  keys, ``sub`` equal to the ``uri``, not expired, inflated under a size cap; cached for
  its ``ttl`` within the fetcher's bounds. Anything that prevents a statement — the list
  unreachable, too large, unsigned by the issuer, expired, the index out of bounds — is
  ``unknown``: never a silent pass, never a false "revoked".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from core import _jose
from core.encoding import json_loads_strict
from core.errors import AmanaError
from core.fetch import Fetched, Fetcher
from core.keys import PublicKey
from core.statuslist import INVALID, MEDIA_TYPE, SUSPENDED, VALID, verify_token
from core.trust import TrustList
from verifier.verification import Status
from wallet.receive import well_known

STATUS_MAX_BYTES = 512 * 1024  # the token as fetched
STATUS_MAX_INFLATED = 4 * 1024 * 1024  # the list once inflated


def _issuer_of(presentation: str) -> tuple[str | None, str | None]:
    try:
        jws = _jose.parse_compact(presentation.split("~", 1)[0], "presentation")
        iss = jws.unverified_payload().get("iss")
    except AmanaError:
        return None, None
    kid = jws.unverified_header.get("kid")
    return (iss if isinstance(iss, str) else None), (kid if isinstance(kid, str) else None)


async def issuer_keys(
    fetcher: Fetcher, trust_list: TrustList, presentations: Sequence[str]
) -> dict[str, list[PublicKey]]:
    keys: dict[str, list[PublicKey]] = {}
    for presentation in presentations:
        iss, kid = _issuer_of(presentation)
        accredited = trust_list.issuer(iss) if iss else None
        if iss is None or accredited is None or iss in keys:
            continue
        listed = accredited.public_keys()
        keys[iss] = listed
        if kid is not None and all(k.kid != kid for k in listed):
            keys[iss] = listed + await _published_keys(fetcher, iss)
    return keys


async def _published_keys(fetcher: Fetcher, iss: str) -> list[PublicKey]:
    try:
        fetched = fetcher.cached(well_known(iss, "jwt-vc-issuer")) or await fetcher.get(
            well_known(iss, "jwt-vc-issuer"), accept="application/json", max_bytes=64 * 1024)
        fetcher.remember(fetched, None)
        doc = json_loads_strict(fetched.body, "jwt-vc-issuer metadata")
        jwks = doc.get("jwks") if isinstance(doc, dict) and doc.get("issuer") == iss else None
        listed = jwks.get("keys") if isinstance(jwks, dict) else None
        if not isinstance(listed, list) or not all(isinstance(k, dict) for k in listed):
            return []
        return [PublicKey.from_jwk(k) for k in listed]
    except AmanaError:
        return []  # no extra keys: verification then fails with unknown_issuer_key


async def fetch_status_token(fetcher: Fetcher, uri: str) -> Fetched | None:
    """The token at ``uri``, or None when it cannot be had (the caller may fall back to a stored copy)."""
    try:
        return fetcher.cached(uri) or await fetcher.get(uri, accept=MEDIA_TYPE, max_bytes=STATUS_MAX_BYTES)
    except AmanaError:
        return None


def evaluate(token: str | None, ref: tuple[str, int], keys: Sequence[PublicKey], now: int) -> tuple[Status, int | None]:
    """The status at ``ref`` in a signed token and the token's ttl; unknown if no statement can be made."""
    if token is None:
        return Status.UNKNOWN, None
    uri, idx = ref
    try:
        verified = verify_token(token, keys=keys, uri=uri, now=now, max_bytes=STATUS_MAX_INFLATED)
        value = verified.status_list.get(idx)
    except AmanaError:
        return Status.UNKNOWN, None
    status = {VALID: Status.VALID, INVALID: Status.REVOKED, SUSPENDED: Status.SUSPENDED}.get(value, Status.UNKNOWN)
    return status, verified.ttl


def as_text(fetched: Fetched | None) -> str | None:
    try:
        return None if fetched is None else fetched.body.decode("ascii")
    except UnicodeDecodeError:
        return None


async def live_status(
    fetcher: Fetcher, ref: tuple[str, int], keys: Sequence[PublicKey], now: int
) -> tuple[Status, str | None]:
    """Fetch and evaluate; cache for the token's ttl. The token is returned when it made a
    statement, so the caller can keep it (the service's offline fallback, checks._status)."""
    fetched = await fetch_status_token(fetcher, ref[0])
    token = as_text(fetched)
    result, ttl = evaluate(token, ref, keys, now)
    if fetched is None or result is Status.UNKNOWN:
        return result, None
    fetcher.remember(fetched, ttl)
    return result, token


def keys_lookup(keys: Mapping[str, list[PublicKey]]) -> Any:
    return lambda iss, _payload: keys.get(iss, [])
