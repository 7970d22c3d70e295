"""What verification needs from the network, fetched through the hardened fetcher (core.fetch).

- Issuer keys: the trust list's JWKS for an accredited issuer first (works offline); only if
  the presentation names a ``kid`` that list lacks (the issuer rotated since), the issuer's
  ``/.well-known/jwt-vc-issuer`` — and only for issuers the trust list accredits, so a
  presentation cannot make the verifier fetch an address of its choosing.
- Status: the ``statuslist+jwt`` at the credential's ``uri``, verified with the issuer's
  keys, ``sub`` equal to the ``uri``, not expired, inflated under a size cap; reused for
  its ``ttl`` (at most ``fetch_max_ttl_s``), and compared by ``iat`` with the copy the
  database keeps (``current_status``). Anything that prevents a statement — the list
  unreachable, too large, unsigned by the issuer, expired, the index out of bounds — is
  ``unknown``: never a silent pass, never a false "revoked".
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from core import _jose, jwt_vc_issuer
from core.encoding import json_dumps_compact
from core.errors import AmanaError, Expired, FetchError
from core.fetch import Fetched, Fetcher
from core.keys import PublicKey
from core.oid4vc import well_known
from core.statuslist import INVALID, MEDIA_TYPE, SUSPENDED, VALID, StatusListToken, verify_token
from core.trust import TrustList
from verifier.verification import Status

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
    """The keys ``iss``'s JWT VC Issuer Metadata publishes, by value or through its ``jwks_uri``
    (SD-JWT VC section 5: core.jwt_vc_issuer), each document remembered as fetched."""
    try:
        found = jwt_vc_issuer.read(await _remembered(fetcher, well_known(iss, "jwt-vc-issuer")), iss)
        return found if isinstance(found, list) else jwt_vc_issuer.read_key_set(await _remembered(fetcher, found))
    except AmanaError:
        return []  # no extra keys: verification then fails with unknown_issuer_key


async def _remembered(fetcher: Fetcher, url: str) -> bytes:
    fetched = fetcher.cached(url) or await fetcher.get(url, accept="application/json",
                                                       max_bytes=jwt_vc_issuer.MAX_BYTES)
    fetcher.remember(fetched, None)
    return fetched.body


def held_issuer_keys(fetcher: Fetcher, trust_list: TrustList, now: int) -> list[tuple[str, PublicKey]]:
    """(issuer, key) from the ``jwt-vc-issuer`` documents (and the JWK Sets they point to) this
    process still holds for issuers the trust list accredits — a key rotated in since the trust
    list was signed. Never a fetch."""
    out = []
    for issuer in trust_list.issuers:
        held = fetcher.cached(well_known(issuer.id, "jwt-vc-issuer"), now)
        try:
            found = [] if held is None else jwt_vc_issuer.read(held.body, issuer.id)
            if isinstance(found, str):
                key_set = fetcher.cached(found, now)
                found = [] if key_set is None else jwt_vc_issuer.read_key_set(key_set.body)
        except AmanaError:
            continue
        out += [(issuer.id, key) for key in found]
    return out


async def fetch_status_token(fetcher: Fetcher, uri: str) -> Fetched | None:
    """The token at ``uri`` fetched now, or None when it cannot be had."""
    try:
        return await fetcher.get(uri, accept=MEDIA_TYPE, max_bytes=STATUS_MAX_BYTES)
    except FetchError:
        return None


@dataclass(frozen=True, slots=True)
class Reading:
    """What one signed copy of a list says about one index, and how new the copy is."""

    status: Status
    iat: int | float  # a NumericDate: fractions allowed (RFC 7519 section 2)
    ttl: int | None
    fetched_at: float
    token: str

    def order(self) -> tuple[int | float, float, bool]:
        """Newer by ``iat``, then by when it was fetched; two lists signed in the same second
        and fetched in the same second cannot be ordered, and the one that refuses wins."""
        return self.iat, self.fetched_at, self.status is not Status.VALID


def read(token: str | None, ref: tuple[str, int], keys: Sequence[PublicKey], now: int,
         fetched_at: float) -> Reading | None:
    """The statement a signed token makes at ``ref``; None if it makes none (unsigned by the
    issuer, another list, expired, too large, the index out of bounds)."""
    if token is None:
        return None
    uri, idx = ref
    try:
        verified = _verified(token, uri, keys, now)
        value = verified.status_list.get(idx)
    except AmanaError:
        return None
    status = {VALID: Status.VALID, INVALID: Status.REVOKED, SUSPENDED: Status.SUSPENDED}.get(value, Status.UNKNOWN)
    return Reading(status, verified.iat, verified.ttl, fetched_at, token)


_VERIFIED: OrderedDict[tuple[str, str, tuple[str, ...]], StatusListToken] = OrderedDict()
_VERIFIED_KEPT = 8  # lists; each at most STATUS_MAX_INFLATED once inflated
STATUS_CLOCK_SKEW_S = 60


def _verified(token: str, uri: str, keys: Sequence[PublicKey], now: int) -> StatusListToken:
    """``verify_token``, remembered for the same bytes, ``uri`` and keys (issue 15: every check of a
    list's lifetime verified and inflated the same token twice, this process's copy and the
    database's). Signature, ``typ``, ``sub`` and the inflated list are facts of those three;
    ``exp`` is judged against ``now`` at every read, as ``verify_token`` judges it."""
    key = (token, uri, tuple(json_dumps_compact(k.to_jwk()) for k in keys))  # the key material, alg and kid
    held = _VERIFIED.get(key)
    if held is None:
        held = verify_token(token, keys=keys, uri=uri, now=now, clock_skew_s=STATUS_CLOCK_SKEW_S,
                            max_bytes=STATUS_MAX_INFLATED)
        _VERIFIED[key] = held
        while len(_VERIFIED) > _VERIFIED_KEPT:
            _VERIFIED.popitem(last=False)
    elif held.exp is not None and now >= held.exp + STATUS_CLOCK_SKEW_S:
        raise Expired("status list token expired")
    else:
        _VERIFIED.move_to_end(key)
    return held


def worth_keeping(token: str | None, uri: str, keys: Sequence[PublicKey], now: int, kept: str | None) -> bool:
    """Whether a freshly fetched list may replace the kept copy: it must verify (a key of an
    accredited issuer, ``sub`` the uri, not expired) and be at least as new by ``iat``; a
    forged or stale answer must not destroy the good copy an offline desk answers from."""
    fresh = read(token, (uri, 0), keys, now, now)
    if fresh is None:
        return False
    held = read(kept, (uri, 0), keys, now, 0)
    return held is None or fresh.iat >= held.iat


def as_text(fetched: Fetched | None) -> str | None:
    try:
        return None if fetched is None else fetched.body.decode("ascii")
    except UnicodeDecodeError:
        return None


async def current_status(
    fetcher: Fetcher, ref: tuple[str, int], keys: Sequence[PublicKey], now: int, kept: tuple[str, int] | None
) -> tuple[Status, str | None]:
    """The status at ``ref`` from the newest of two views, and a token the caller should keep.

    - this process's copy: reused while its lifetime holds (``Fetcher.lifetime``: the list's
      ``ttl``, at most ``fetch_max_ttl_s``), else fetched now;
    - ``kept``, the copy in the database (token, fetched_at): what ``amana verifier sync`` and
      every other process of the node write, and what an offline desk answers from.

    The newer by the token's ``iat`` wins, so a sync is seen at once and a process's cache
    can hide a change for at most its lifetime. The token returned is a fresh fetch newer
    than ``kept`` (to be written back), else None.
    """
    uri = ref[0]
    mine = fetcher.cached(uri, now)
    current = read(as_text(mine), ref, keys, now, mine.fetched_at) if mine is not None else None
    fetched = None
    if current is None:
        live = await fetch_status_token(fetcher, uri)
        fetched = read(as_text(live), ref, keys, now, now)
        if live is not None and fetched is not None:
            fetcher.remember(live, fetched.ttl, now=now)
        current = fetched
    stored = None if kept is None else read(kept[0], ref, keys, now, kept[1])
    best = max((r for r in (current, stored) if r is not None), key=Reading.order, default=None)
    keep = fetched.token if fetched is not None and (stored is None or fetched.iat >= stored.iat) else None
    return (Status.UNKNOWN if best is None else best.status), keep


def keys_lookup(keys: Mapping[str, list[PublicKey]]) -> Any:
    return lambda iss, _payload: keys.get(iss, [])
