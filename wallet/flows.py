"""The wallet's use cases over the protocols: receive an offer, answer or decline a verifier.

Shared by ``amana wallet`` (wallet/cli.py) and the wallet's pages (wallet/pages.py), so a
script and a person get the same checks in the same order:

- **receive** in two steps. :func:`look_at_offer` reads the offer and the issuer's metadata
  and judges the issuer against the trust list *before* anything is spent, so the holder sees
  who offers what (and a warning for an issuer not on the list) before typing the PIN;
  :func:`accept_offer` redeems it and keeps every copy with its own key.
- **present** in two steps. :func:`open_request` fetches and checks the request
  (wallet.vp_request: signature, client id, times, a nonce this wallet has answered before)
  and builds the consent screen (wallet.consent) over the wallet's own cards;
  :func:`give` turns the holder's choice into exactly what is disclosed, marks the copies
  *before* anything is sent (a crash then leaves a copy tied to this verifier, never free
  for another) and posts the answer; :func:`decline` sends ``access_denied``. Both record the
  answer in the history, inside the vault.

Plain http is used only in the node's local mode (``Settings.local_mode``).
"""

from __future__ import annotations

import dataclasses
import secrets
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TypeVar

import anyio
import httpx

from consent import pseudonym
from consent import receipts as consent_receipts
from core import keys
from core.errors import AmanaError, InvalidInput
from core.fetch import AddressPolicy, FetchFailed, FetchRefused, guarded_client
from core.sdjwt.paths import format_path
from core.settings import Settings
from core.trust import TrustList
from core.trust.local import HeldTrustList
from core.trust.policy import issuer_may_issue
from wallet import consent, holder, ledger, ledger_view, receive
from wallet import present as presenting
from wallet.content import Contents, Copy, Refresh
from wallet.history import Controller, HistoryRecord

T = TypeVar("T")
EXCHANGE_DEADLINE_S = 30  # one offer redeemed, one request fetched or answered: a few requests
NONCE_MEMORY_S = 7 * 86400  # a request's nonce is remembered this long (requests live minutes)


class IssuerUnregistered(InvalidInput):
    code = "issuer_unregistered"
    title = "This issuer is not on the trust list"


class ConsentWarningUnheeded(InvalidInput):
    code = "consent_warning_unheeded"
    title = "This request needs your explicit agreement"


class VerifierRefusedAnswer(FetchFailed):
    code = "answer_refused"
    title = "The verifier did not take the answer"


def http_client(settings: Settings) -> httpx.AsyncClient:
    """The wallet's HTTP client: https only, except on a node in local mode (loopback); never to
    a private, link-local or reserved address (core.fetch.guarded_client: a hosted wallet must
    not let a pasted link reach the node's own network)."""

    async def https_only(request: httpx.Request) -> None:
        if request.url.scheme != "https" and not settings.local_mode:
            raise FetchRefused("the wallet uses plain http only in local mode (a node on http://127.0.0.1)")

    client = guarded_client(AddressPolicy.for_node(settings), timeout_s=settings.fetch_deadline_s)
    client.event_hooks["request"] = [https_only]
    return client


async def talk(work: Awaitable[T]) -> T:
    """One exchange with an issuer or a verifier (a few requests), within ``EXCHANGE_DEADLINE_S``
    whatever the other side does (a byte every few seconds included); a network failure as a
    typed error that names no URL (URLs carry offer and request ids)."""
    try:
        with anyio.fail_after(EXCHANGE_DEADLINE_S):
            return await work
    except httpx.HTTPError as exc:
        raise FetchFailed(f"the other side could not be reached ({type(exc).__name__})") from None
    except TimeoutError:
        raise FetchFailed(f"the other side did not answer within {EXCHANGE_DEADLINE_S} s") from None


def trust_list(ctx: holder.WalletContext) -> TrustList | None:
    """The trust list this node holds (the wallet's own verified copy, seeded from the operator's
    file); None when there is none: every issuer and verifier then shows as unknown. Verified
    once, then reused while its files stay as they were (``core.trust.local.HeldTrustList``, which
    the verifier's desk uses too): a signature check per page was a third of the wallet's own time
    in a presentation (bench.wallet)."""
    if ctx.trust_held is None:
        ctx.trust_held = HeldTrustList(ctx.settings, ctx.settings.data_dir / "wallet-trust" / "trust-list.jwt")
    try:
        return ctx.trust_held.get(ctx.now())
    except AmanaError:
        return None


def held_cards(contents: Contents) -> list[consent.HeldCard]:
    """The wallet's cards for the consent screen: one per batch (copies of one credential)."""
    return [consent.HeldCard(batch, copies[0].vct, tuple(consent.HeldCopy(c.copy_id, c.shown_to) for c in copies),
                             copies[0].claims, refreshable=batch in contents.refresh)
            for batch, copies in contents.batches().items()]


@dataclass(frozen=True, slots=True)
class Offered:
    """An offer read, not redeemed: what the holder is shown before typing the PIN."""

    offer: receive.Offer
    vct: str | None
    type_name: str
    issuer_name: str | None  # the accredited name in the holder's language; None: not accredited for this type

    @property
    def registered(self) -> bool:
        return self.issuer_name is not None


async def look_at_offer(ctx: holder.WalletContext, http: httpx.AsyncClient, link: str, lang: str) -> Offered:
    offer = await talk(receive.read_offer(http, link))
    vct = offer.vct()
    known = ctx.types.get(vct) if vct else None
    name = None
    listed = trust_list(ctx)
    if listed is not None and vct is not None:
        decision = issuer_may_issue(listed, offer.issuer, vct, ctx.now())
        if decision.refusal is None and decision.issuer is not None:
            names = decision.issuer.names
            name = names.get(lang) or names.get("en") or next(iter(names.values()), offer.issuer)
    return Offered(offer, vct, known.display_name(lang) if known else (vct or offer.issuer), name)


async def accept_offer(ctx: holder.WalletContext, opened: holder.Opened, http: httpx.AsyncClient,
                       offered: Offered, pin: str, *, copies: int, allow_unregistered: bool
                       ) -> tuple[holder.Opened, list[Copy]]:
    """Redeem the offer and keep each copy with its own key; an issuer the trust list does not
    accredit for this type needs ``allow_unregistered`` (the holder saw the warning)."""
    if not offered.registered and not allow_unregistered:
        raise IssuerUnregistered("this issuer is not on the trust list for this credential: nothing was received "
                                 "(to take it all the same, if you trust it: --allow-unregistered)")
    received, refresh_token, dpop_key = await talk(receive.redeem_batch(http, offered.offer, pin.strip(),
                                                                        copies=copies, types=ctx.types))
    batch, now = secrets.token_urlsafe(8), ctx.now()  # copies of one batch share one fate at the issuer
    new = [Copy.new(r.credential, r.holder_key.to_jwk(), r.verified.vct, r.verified.issuer, batch, now,
                    r.verified.verified.claims.get("exp"), claims=r.verified.verified.claims) for r in received]

    def keep(contents: Contents) -> None:
        contents.copies.extend(new)
        if refresh_token is not None:  # fresh copies later, when these run low (wallet.refresh)
            contents.refresh[batch] = Refresh(offered.offer.issuer, offered.offer.configuration_id,
                                              refresh_token, len(new),
                                              dpop_key=None if dpop_key is None else dpop_key.to_jwk(),
                                              authorization_server=offered.offer.authorization_server)

    opened, _ = await holder.update(ctx, opened, keep)
    return opened, new


@dataclass(frozen=True, slots=True)
class Asked:
    """A verifier's request checked, and the consent screen for it."""

    request: presenting.VerifiedRequest
    screen: consent.ConsentScreen


async def open_request(ctx: holder.WalletContext, opened: holder.Opened, http: httpx.AsyncClient, link: str,
                       lang: str) -> Asked:
    listed = trust_list(ctx)
    request = await talk(presenting.fetch_request(http, link, trust_list=listed, now=ctx.now(),
                                                  seen_nonces=opened.contents.seen_nonces))
    return Asked(request, consent.consent_screen(request, listed, held_cards(opened.contents), ctx.types, lang))


def default_choice(screen: consent.ConsentScreen) -> consent.Choice:
    """The least that answers, as the consent page's defaults: each required query with its first
    card (and the claim set ``consent.default_claim_set`` chooses), and for each required set of
    credentials they leave unanswered, its first option the cards can answer. Optional sets and
    the other options of a set stay unanswered: a set asks for one of its options (OpenID4VP 1.0
    section 6.4.2), and every query with a card, as this answered before, showed both
    alternatives of a set and every optional one (helper-66)."""
    first_cards = {q.query_id: q.cards[0].card_id for q in screen.queries if q.cards}
    sets = screen.request.query.credential_sets
    if sets is None:  # every query is asked for
        return consent.Choice(first_cards)
    chosen = {q.query_id for q in screen.queries if q.required and q.query_id in first_cards}
    for credential_set in sets:
        if credential_set.required and not any(set(o) <= chosen for o in credential_set.options):
            chosen |= next((set(o) for o in credential_set.options if set(o) <= first_cards.keys()), set())
    return consent.Choice({q: card for q, card in first_cards.items() if q in chosen})


def _record(screen: consent.ConsentScreen, event: str, now: int, plan: consent.DisclosurePlan | None,
            copies: list[Copy]) -> HistoryRecord:
    who = screen.who
    if plan is None:  # declined: the names that were asked
        names = {format_path(a.path) for q in screen.queries for a in q.attributes}
    else:
        names = {format_path(p) for item in plan.items for p in item.paths}
    first = screen.purposes[0] if screen.purposes else None
    return HistoryRecord.new(
        "given" if event == "given" else "declined", Controller(who.verifier_id or who.client_id,
                                                                None if who.unknown else who.name), now,
        purposes=tuple(p.purpose.iri for p in screen.purposes), legal_basis=first.legal_basis.iri if first else None,
        data_categories=tuple(sorted(names)), credential_types=tuple(sorted({c.vct for c in copies})),
        copy_ids=tuple(c.copy_id for c in copies))


def _remember(contents: Contents, request: presenting.VerifiedRequest, now: int) -> None:
    contents.seen_nonces = {n: t for n, t in contents.seen_nonces.items() if t > now - NONCE_MEMORY_S}
    contents.seen_nonces[request.nonce] = now


@dataclass(frozen=True, slots=True)
class Answered:
    """The wallet after an answer (or a decline), and where the verifier asked the holder's browser to
    go next (OpenID4VP §8.2 ``redirect_uri``: the page redirects there, the CLI prints it)."""

    opened: holder.Opened
    redirect_uri: str | None = None


async def give(ctx: holder.WalletContext, opened: holder.Opened, http: httpx.AsyncClient, asked: Asked,
               choice: consent.Choice, *, heeded_warning: bool) -> Answered:
    """Disclose exactly what the holder chose; a warned-about request needs ``heeded_warning``."""
    if asked.screen.needs_warning and not heeded_warning:
        raise ConsentWarningUnheeded("this verifier is unregistered or asks beyond its registration: "
                                     "confirm that you still want to answer")
    plan = consent.choices_valid(asked.screen, choice)
    request, now = asked.request, ctx.now()

    def mark(contents: Contents) -> tuple[list[Copy], ledger.Offer]:
        by_id = {c.copy_id: c for c in contents.copies}
        chosen = []
        for copy_id in plan.copies().values():
            copy = by_id.get(copy_id)
            if copy is None or copy.shown_to not in (None, request.client_id):  # another verifier got it meanwhile
                raise InvalidInput("this copy was shown to another verifier a moment ago: open the request again")
            copy.shown_to, copy.shown_at = request.client_id, now
            chosen.append(copy)
        offer = ledger.offer(contents.consent_key(), asked.screen, now)
        contents.history.append(dataclasses.replace(_record(asked.screen, "given", now, plan, chosen),
                                                    receipt=offer.pointer()))
        _remember(contents, request, now)
        return chosen, offer

    opened, (chosen, offer) = await holder.update(ctx, opened, mark)
    by_id = {c.copy_id: c for c in chosen}
    pairs = {q: (by_id[c].credential, keys.PrivateKey.from_jwk(by_id[c].holder_key)) for q, c in plan.copies().items()}
    vp = presenting.vp_token(request, pairs, int(time.time()), paths=plan.paths())
    response = await talk(presenting.answer(http, request, vp, {pseudonym.OFFER_FIELD: offer.token}))
    if response.status_code != 200:
        raise VerifierRefusedAnswer(f"the verifier did not take the answer ({response.status_code})")
    # Fresh copies are not fetched here: a call to the issuer a second after each presentation
    # would tell it when its credential was used. The holder tops up when they choose (the
    # card's page, amana wallet list / refresh); the consent screen warns before the last copy.
    return Answered(await keep_receipts(ctx, opened, http, offer.record_id), presenting.redirect_uri(response))


async def keep_receipts(ctx: holder.WalletContext, opened: holder.Opened, http: httpx.AsyncClient,
                        record_id: str) -> holder.Opened:
    """Ask the ledger for a record's receipts and keep them in its history record, with the
    holder's counter-signature on the first fetch. Best effort: a ledger that is slow, down or
    not there (a verifier elsewhere) leaves the pointer, asked again from the history page."""
    found = next((h for h in opened.contents.history if h.receipt and h.receipt.get("record_id") == record_id), None)
    if found is None or found.receipt is None or opened.contents.ledger_key is None:
        return opened
    key, pointer = opened.contents.consent_key(), found.receipt
    try:
        body = await talk(ledger.fetch(http, key, pointer, ctx.now()))
    except AmanaError:
        return opened
    if body is None:
        return opened
    # Before it is kept or counter-signed: receipts for this very record, under this holder's
    # pseudonym and key (another holder's would verify just as well, and the holder would sign for
    # a disclosure they never made); the record kept is the one the receipt carries.
    pseudonymous = pseudonym.subject_id(key, pointer["verifier_id"])
    own = consent_receipts.holders_record(body.get("receipts") or [], record_id, pseudonymous,
                                          ledger.own_key(key, pointer))
    if own is None:
        return opened
    # Receipts whose signatures hold must be of the log this wallet saw before (wallet.ledger_view).
    checked = ledger.check({**pointer, ledger_view.INCONSISTENT: False, "receipts": body["receipts"]},
                           trust_list(ctx), ledger.own_key(key, pointer))
    if pointer.get(ledger_view.CHECKED) and not checked:
        return opened  # checked receipts are never replaced by unchecked ones (helper-87): asked again later
    held = ledger_view.newest_held((h.receipt for h in opened.contents.history), pointer["ledger"])
    try:
        forked = bool(pointer.get(ledger_view.INCONSISTENT)) or (checked and not await talk(
            ledger_view.consistent(http, pointer["ledger"], held, ledger_view.heads_of(body["receipts"]))))
    except AmanaError:
        return opened  # not known now: asked again with the next receipts

    def keep(contents: Contents) -> None:
        for i, record in enumerate(contents.history):
            if record.receipt is not None and record.receipt.get("record_id") == record_id:
                if forked:  # the receipts kept are the evidence: marked, never replaced; later ones beside them
                    contents.history[i] = dataclasses.replace(record, receipt={
                        **record.receipt, ledger_view.INCONSISTENT: True, ledger_view.AFTER_FORK: body["receipts"]})
                    continue
                kept = {**record.receipt, "receipts": body["receipts"], "record": own, "notice": body.get("notice"),
                        ledger_view.CHECKED: checked}
                kept["holder_signature"] = kept.get("holder_signature") or ledger.countersign(key, kept, ctx.now())
                contents.history[i] = dataclasses.replace(record, receipt=kept)

    opened, _ = await holder.update(ctx, opened, keep)
    return opened


async def decline(ctx: holder.WalletContext, opened: holder.Opened, http: httpx.AsyncClient,
                  asked: Asked) -> Answered:
    """Say no: recorded first, then the protocol's ``access_denied`` (a verifier that cannot be
    reached still learns nothing; the refusal stays in the history)."""
    now = ctx.now()

    def refuse(contents: Contents) -> None:
        contents.history.append(_record(asked.screen, "declined", now, None, []))
        _remember(contents, asked.request, now)

    opened, _ = await holder.update(ctx, opened, refuse)
    response = await talk(presenting.decline(http, asked.request))
    return Answered(opened, presenting.redirect_uri(response))

