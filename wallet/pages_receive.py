"""Receiving a card: paste or scan an offer link, see who offers what (and a warning for an
issuer the trust list does not accredit), type the PIN, get the card. The offer is read in
the first step and redeemed only in the second, after the holder saw the issuer.
"""

from __future__ import annotations

import hashlib
import json

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from core.errors import AmanaError, InvalidInput
from wallet import flows, labels, page_kit
from wallet.wrong_pin import PinTriesUsedUp

router = APIRouter(prefix="/wallet", include_in_schema=False)
COPIES = 3  # unlinkable copies asked for: three verifiers before the holder needs fresh ones


@router.get("/receive", response_class=HTMLResponse)
async def receive_page(request: Request) -> Response:
    lang = page_kit.language(request)
    link = request.query_params.get("link") or request.query_params.get("credential_offer_uri")
    if await page_kit.opened(request) is None:
        return page_kit.locked(request, lang, return_to=page_kit.receive_page(link) if link else None)
    if link:  # opened from an offer page's "open in the wallet" link: straight to what is offered
        return await _look(request, lang, link if "://" in link and "credential_offer_uri" in link
                           else f"openid-credential-offer://?credential_offer_uri={link}")
    return page_kit.render(request, "receive.html", lang, unlocked=True)


@router.post("/receive/look", response_class=HTMLResponse)
async def look(request: Request) -> Response:
    form, lang = await page_kit.form_of(request)
    link = str(form.get("link") or "").strip()
    if await page_kit.opened(request) is None:
        return page_kit.locked(request, lang, return_to=page_kit.receive_page(link) if link else None)
    return await _look(request, lang, link)


async def _look(request: Request, lang: str, link: str) -> Response:
    ctx = page_kit.context(request)
    try:
        async with flows.http_client(ctx.settings) as http:
            offered = await flows.look_at_offer(ctx, http, link, lang)
    except AmanaError as exc:
        return page_kit.render(request, "receive.html", lang, exc.status if exc.status < 500 else 502, unlocked=True,
                               field_error=page_kit.error_text(exc, lang), link=link,
                               lang_form=page_kit.again_in_another_language("receive", link))
    return _offer_page(request, lang, link, offered)


def _offer_page(request: Request, lang: str, link: str, offered: flows.Offered, status: int = 200,
                error: str | None = None, *, locked: bool = False) -> HTMLResponse:
    """The offer, and the PIN's field while it can be typed: ``locked`` (that was the last wrong PIN
    the offer took) leaves the sentence that says so and no field inviting another try (helper-82)."""
    tx = offered.offer.tx_code
    return page_kit.render(request, "offer.html", lang, status, unlocked=True, link=link, offered=offered,
                           seen=seen(offered), pin=tx is not None,
                           icon_name=labels.icon(page_kit.context(request).types, offered.vct or ""),
                           pin_text=tx.get("input_mode") == "text" if isinstance(tx, dict) else False,
                           field_error=error, locked=locked,
                           lang_form=page_kit.again_in_another_language("receive", link))


def seen(offered: flows.Offered) -> str:
    """What the holder saw before typing the PIN: who offers which credential, and whether the
    trust list knows them. A second read of the offer must say the same, or nothing is redeemed."""
    offer = offered.offer
    return hashlib.sha256(json.dumps([offer.issuer, offer.configuration_ids, offered.vct, offered.issuer_name],
                                     sort_keys=True).encode()).hexdigest()


class OfferChanged(InvalidInput):
    code = "offer_changed"
    title = "The offer changed after you saw it: nothing was received"


@router.post("/receive", response_class=HTMLResponse)
async def accept(request: Request) -> Response:
    form, lang = await page_kit.form_of(request)
    wallet = await page_kit.opened(request)
    if wallet is None:
        return page_kit.locked(request, lang)
    ctx, link = page_kit.context(request), str(form.get("link") or "")
    offered = None
    try:
        async with flows.http_client(ctx.settings) as http:
            offered = await flows.look_at_offer(ctx, http, link, lang)
            if seen(offered) != form.get("seen"):
                raise OfferChanged("the offer is not the one you saw")
            await flows.accept_offer(ctx, wallet, http, offered, str(form.get("pin") or ""), copies=COPIES,
                                     allow_unregistered=bool(form.get("allow_unregistered")))
    except AmanaError as exc:
        if offered is None:
            return page_kit.render(request, "receive.html", lang, 400, unlocked=True, link=link,
                                   field_error=page_kit.error_text(exc, lang),
                                   lang_form=page_kit.again_in_another_language("receive", link))
        return _offer_page(request, lang, link, offered, exc.status if exc.status < 500 else 502,
                           page_kit.error_text(exc, lang), locked=isinstance(exc, PinTriesUsedUp))
    return page_kit.home(lang, "received")

