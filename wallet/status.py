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
                      trust_list: TrustList | None, now: int, shared: Fetcher | None = None) -> Status:
    """A card's status, its list read as it is now (the card's own page). ``shared``: the fetcher the
    card list reads from (``of_cards``), which then keeps this reading for the list's lifetime, so
    the list says what the card's page said."""
    ref = reference(claims)
    if ref is None:
        return "unknown"
    fetcher = shared if shared is not None else new_fetcher(settings)
    try:
        issuer_keys = await _issuer_keys(fetcher, issuer, trust_list)
        return _entry(_read(await _list(fetcher, ref[0], fresh=True), issuer_keys, ref[0], now), ref[1])
    except _UNREADABLE:
        return "unknown"


async def _list(fetcher: Fetcher, uri: str, *, fresh: bool) -> bytes:
    """The list token at ``uri``: the one the fetcher keeps, unless ``fresh``; a new one is kept."""
    kept = None if fresh else fetcher.cached(uri)
    if kept is None:
        kept = await fetcher.get(uri, accept=statuslist.MEDIA_TYPE, max_bytes=MAX_TOKEN_BYTES)
        fetcher.remember(kept, None)
    return kept.body


# What stops an answer (a list unsigned, foreign, malformed, an index out of range): "unknown", never "valid".
_UNREADABLE = (AmanaError, ValueError, UnicodeDecodeError, AttributeError, IndexError)


def _read(token: bytes, issuer_keys: Sequence[keys.PublicKey], uri: str, now: int) -> statuslist.StatusList:
    return statuslist.verify_token(token.decode("ascii"), keys=issuer_keys, uri=uri, now=now,
                                   max_bytes=MAX_INFLATED).status_list


def _entry(listed: statuslist.StatusList, idx: int) -> Status:
    try:
        return _WORDS.get(listed.get(idx), "unknown")
    except _UNREADABLE:
        return "unknown"


MAX_LISTS = 4  # lists one card list asks about; a wallet with cards on more is not told about the rest


async def of_cards(shared: Fetcher, cards: Sequence[tuple[str, dict[str, Any] | None]],
                   trust_list: TrustList | None, now: int, within_s: float = 2.0) -> list[Status]:
    """The cards' statuses for the list of cards (helper-90: a revoked card was listed as "valid
    until" a year on). Bounded, since the cards are whatever a wallet holds, an imported one too
    (helper-91): only a card of an issuer on the trust list is asked about, with that list's keys;
    each list once, at most ``MAX_LISTS`` of them, kept by ``shared`` for the list's lifetime (a
    whole list, as for a verifier: no card is singled out, and the node's holders share the
    reading); what has not come within ``within_s`` is unknown, and nothing asked outlives the page."""
    asked: dict[str, tuple[Sequence[keys.PublicKey], asyncio.Future[bytes]]] = {}
    where: list[tuple[str, int] | None] = []
    for issuer, claims in cards:
        ref, accredited = reference(claims), trust_list.issuer(issuer) if trust_list is not None else None
        if ref is None or accredited is None or (ref[0] not in asked and len(asked) >= MAX_LISTS):
            where.append(None)
            continue
        if ref[0] not in asked:
            asked[ref[0]] = (accredited.public_keys(), asyncio.ensure_future(_list(shared, ref[0], fresh=False)))
        where.append(ref)
    tasks = [task for _, task in asked.values()]
    try:
        if tasks:
            await asyncio.wait(tasks, timeout=within_s)
    finally:
        for task in tasks:
            task.cancel()  # a late one, or all of them when the page itself is given up
    read: dict[str, statuslist.StatusList | None] = {}
    for uri, (issuer_keys, task) in asked.items():  # each list verified once, whatever its cards
        try:
            came = task.done() and not task.cancelled() and task.exception() is None
            read[uri] = _read(task.result(), issuer_keys, uri, now) if came else None
        except _UNREADABLE:
            read[uri] = None
    out: list[Status] = []
    for ref in where:
        listed = read[ref[0]] if ref is not None else None
        out.append("unknown" if ref is None or listed is None else _entry(listed, ref[1]))
    return out
