"""The offer page: where a phone's camera app lands when it scans an offer QR.

Every offer QR carries ``https://<node>/issuers/<slug>/offer?credential_offer_uri=<offer URL>``
(issuer.offers explains why, with OpenID4VCI 1.0 section 4.1). A wallet reads
``credential_offer_uri`` from that link and never loads this page; a browser gets a page in
the holder's language (the one staff recorded with the offer, unless the reader picks
another): what this is, how to get a wallet, and the ``openid-credential-offer://`` link to
open or copy.

The page only ever shows this node's own offers: a ``credential_offer_uri`` that is not
one of this issuer's offer URLs, or an offer that is used or expired, gets the same "ask
for a new one" page, so the page repeats no address that someone else chose and tells a
prober nothing the offer URL does not. It holds no PIN, no claim and no form.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from core import i18n, local_forms, pictograms, web_pages
from issuer import metadata, store
from issuer.context import IssuerContext, get_context
from issuer.offers import OFFER_PAGE, OfferState, offer_id_of, offer_link, offer_uri

router = APIRouter(include_in_schema=False)
templates = web_pages.page_templates(Path(__file__).parent / "templates")
Ctx = Annotated[IssuerContext, Depends(get_context)]
HEADERS = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}


@router.get(f"/issuers/{{slug}}/{OFFER_PAGE}", response_class=HTMLResponse)
async def offer_page(slug: str, request: Request, ctx: Ctx,
                     credential_offer_uri: Annotated[str, Query(max_length=2048)] = "",
                     lang: Annotated[str | None, Query(max_length=35)] = None) -> HTMLResponse:
    url = metadata.issuer_url(ctx.settings.public_base_url, slug)
    offer_id = offer_id_of(url, credential_offer_uri)
    async with ctx.transaction() as session:
        org = await store.org_by_slug(session, slug)
        offer = await store.offer_by_id(session, offer_id) if offer_id and org else None
    live = (offer is not None and org is not None and offer.org_id == org.id
            and offer.state == OfferState.OFFERED and ctx.now() < offer.expires_at)
    chosen = lang or (offer.language if offer is not None else None)
    choice = i18n.choose(chosen, request.headers.get("accept-language"))
    page_lang = choice.lang
    values: dict[str, Any] = {"live": False}
    if live and offer is not None and org is not None:
        names: dict[str, str] = org.names
        org_name = names.get(page_lang) or names.get(i18n.DEFAULT) or next(iter(names.values()), slug)
        ctype = ctx.types.by_name(offer.config_id)
        type_name = ctype.display_name(page_lang)
        values = {"live": True, "wallet_link": offer_link(offer_uri(url, offer.id)),
                  "type_pictogram": pictograms.type_pictogram(ctype),
                  "what": i18n.t_isolated(page_lang, "offer_page.what", org=org_name, type=type_name),
                  "expires": i18n.t(page_lang, "sheet.expires",
                                    date=local_forms.local_day(offer.expires_at, page_lang))}
        if getattr(request.app.state, "wallet", None) is not None:  # this node also hosts wallets (amana serve)
            values["wallet_here"] = "/wallet/receive?" + urlencode({"link": values["wallet_link"], "lang": page_lang})
    values["fallback_note"] = i18n.fallback_note(choice, page_lang)
    return _render(request.url.path, page_lang, credential_offer_uri if live else "", 200 if live else 404, values)


def _render(path: str, lang: str, credential_offer_uri: str, status: int, values: dict[str, Any]) -> HTMLResponse:
    """No session, no form, no cookie: the page is a notice for whoever holds the paper."""

    def switch(code: str) -> str:
        query = {"credential_offer_uri": credential_offer_uri} if credential_offer_uri else {}
        return "?" + urlencode({**query, "lang": code})

    context = {"lang": lang, "lang_tag": i18n.bcp47(lang), "dir": i18n.direction(lang),
               "t": lambda key, **kw: i18n.t(lang, key, **kw),
               "languages": [(code, name, switch(code)) for code, name in i18n.languages()],
               "words_link": web_pages.words_link(lang, path + switch(lang)), **values}  # only what it shows
    html = templates.get_template("offer.html").render(context)
    return HTMLResponse(html, status_code=status, headers=HEADERS)
