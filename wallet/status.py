"""A held card's live status: the issuer's Token Status List read at the card's index.

The wallet asks the same question a verifier will (Token Status List §8.3): the list at the
``status.status_list.uri`` of the credential, signed by the issuer (its keys from the trust
list, else from its ``/.well-known/jwt-vc-issuer``), ``sub`` equal to that uri, not expired,
and the value at ``idx``. Anything that stops the answer — no network, an unsigned or foreign
list, an index out of range — is ``unknown``, never ``valid``: the holder is not told a card
is fine when the wallet could not check. Fetched through ``core.fetch.Fetcher`` (no private
addresses, size caps), as the node's verifier does.

Reading the list does not tell the issuer which card is asked about: the whole list comes,
the index is looked up here (the herd privacy the Token Status List is designed for, §13.2).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, Literal

from core import jwt_vc_issuer, keys, statuslist
from core.errors import AmanaError
from core.fetch import AddressPolicy, Fetcher
from core.oid4vc import well_known
from core.settings import Settings
from core.trust import TrustList

Status = Literal["valid", "revoked", "suspended", "unknown"]
MAX_TOKEN_BYTES = 512 * 1024
MAX_INFLATED = 4 * 1024 * 1024
_WORDS: dict[int, Status] = {statuslist.VALID: "valid", statuslist.INVALID: "revoked",
                             statuslist.SUSPENDED: "suspended"}


def reference(claims: dict[str, Any] | None) -> tuple[str, int] | None:
    ref = (claims or {}).get("status", {})
    listed = ref.get("status_list") if isinstance(ref, dict) else None
    if not isinstance(listed, dict):
        return None
    uri, idx = listed.get("uri"), listed.get("idx")
    return (uri, idx) if isinstance(uri, str) and type(idx) is int and idx >= 0 else None


async def _issuer_keys(fetcher: Fetcher, issuer: str, trust_list: TrustList | None) -> list[keys.PublicKey]:
    accredited = trust_list.issuer(issuer) if trust_list is not None else None
    if accredited is not None:
        return accredited.public_keys()
    found = jwt_vc_issuer.read(await _document(fetcher, well_known(issuer, "jwt-vc-issuer")), issuer)
    return found if isinstance(found, list) else jwt_vc_issuer.read_key_set(await _document(fetcher, found))


async def _document(fetcher: Fetcher, url: str) -> bytes:
    return (await fetcher.get(url, accept="application/json", max_bytes=jwt_vc_issuer.MAX_BYTES)).body


def new_fetcher(settings: Settings) -> Fetcher:
    """A fetcher for status lists: no private addresses, at most 5 s an answer."""
    return Fetcher(AddressPolicy.for_node(settings), deadline_s=min(settings.fetch_deadline_s, 5))


async def card_status(settings: Settings, issuer: str, claims: dict[str, Any] | None,
                      trust_list: TrustList | None, now: int, shared: Fetcher | None = None,
                      fresh: bool = False) -> Status:
    """``shared``: a fetcher whose cache other cards' lists may be in (``of_cards``), else a new one.
    ``fresh``: the list read as it is now, whatever the cache holds (a card's own page), and kept for
    the card list, which then says what the card's page said."""
    ref = reference(claims)
    if ref is None:
        return "unknown"
    fetcher = shared if shared is not None else new_fetcher(settings)
    if fresh:
        fetcher.forget([ref[0]])
    try:
        issuer_keys = await _issuer_keys(fetcher, issuer, trust_list)
        token = (await fetcher.get(ref[0], accept=statuslist.MEDIA_TYPE, max_bytes=MAX_TOKEN_BYTES)).body
        verified = statuslist.verify_token(token.decode("ascii"), keys=issuer_keys, uri=ref[0], now=now,
                                           max_bytes=MAX_INFLATED)
        return _WORDS.get(verified.status_list.get(ref[1]), "unknown")
    except (AmanaError, ValueError, UnicodeDecodeError, AttributeError, IndexError):
        return "unknown"


async def of_cards(shared: Fetcher, settings: Settings, cards: Sequence[tuple[str, dict[str, Any] | None]],
                   trust_list: TrustList | None, now: int, within_s: float = 2.0) -> list[Status]:
    """Each card's status, asked together for the list of cards (helper-90: a revoked card was listed
    as "valid until" a year on). A list several cards share is read once, and kept for its lifetime
    (``shared``'s cache: the whole list, so no card is singled out, as for a verifier). What has not
    come within ``within_s`` is unknown, and the list does not wait for a slow issuer."""
    asked = [asyncio.ensure_future(card_status(settings, issuer, claims, trust_list, now, shared))
             for issuer, claims in cards]
    if not asked:
        return []
    done, pending = await asyncio.wait(asked, timeout=within_s)
    for late in pending:
        late.cancel()
    return [task.result() if task in done else "unknown" for task in asked]
