"""Showing a card when a verifier asks (OpenID4VP): paste or scan its link, read the consent
screen (who asks, why, on what legal basis, which attributes, warnings), choose, share or say no.

The request is fetched and checked twice: to build the consent screen, and again when the
holder answers (it may have expired meanwhile; a nonce answered since is refused). What the
holder saw is pinned by a digest carried in the form: if the verifier serves a different
request the second time — other claims, another answer address — nothing is sent.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from core.errors import AmanaError, InvalidInput
from core.oid4vc import PRESENTATION_SCHEME
from core.sdjwt.paths import format_path
from wallet import consent, flows, holder, page_kit

router = APIRouter(prefix="/wallet", include_in_schema=False)


class RequestChanged(InvalidInput):
    code = "request_changed"
    title = "The verifier's request changed after you saw it: nothing was sent"


def seen(request: flows.Asked) -> str:
    """What the holder agrees to, as a digest: who, where the answer goes, what is asked, the nonce."""
    r = request.request
    pinned = [r.client_id, r.response_uri, r.response_mode, r.nonce, r.state, r.payload.get("dcql_query"),
              r.payload.get("client_metadata")]  # what is asked, and where and how the answer goes
    return hashlib.sha256(json.dumps(pinned, sort_keys=True).encode()).hexdigest()


def _link(query: Any) -> str | None:
    """The request link from a page address: ``?link=openid4vp://…``, or the link's own
    parameters (``?client_id=…&request_uri=…``) as a desk's "open in the wallet" button sends them."""
    if query.get("link"):
        return str(query["link"]).strip()
    if query.get("client_id") and (query.get("request_uri") or query.get("request")):
        return PRESENTATION_SCHEME + "?" + urlencode({k: query[k] for k in ("client_id", "request_uri", "request")
                                                      if query.get(k)})
    return None


@router.get("/present", response_class=HTMLResponse)
async def present_page(request: Request) -> Response:
    lang = page_kit.language(request)
    wallet = await page_kit.opened(request)
    link = _link(request.query_params)
    if wallet is None:  # a verifier's link (its QR, its "open in the wallet" button): on to it once open
        return page_kit.locked(request, lang, return_to=str(request.url.path) + (
            "?" + request.url.query if link else ""))
    if link:
        return await _consent(request, lang, wallet, link)
    return page_kit.render(request, "present.html", lang, unlocked=True)


@router.post("/present/look", response_class=HTMLResponse)
async def look(request: Request) -> Response:
    form, lang = await page_kit.form_of(request)
    wallet = await page_kit.opened(request)
    if wallet is None:
        return page_kit.locked(request, lang)
    return await _consent(request, lang, wallet, str(form.get("link") or "").strip())


async def _consent(request: Request, lang: str, wallet: holder.Opened, link: str) -> Response:
    ctx = page_kit.context(request)
    try:
        async with flows.http_client(ctx.settings) as http:
            asked = await flows.open_request(ctx, wallet, http, link, lang)
    except AmanaError as exc:
        return page_kit.render(request, "present.html", lang, exc.status if exc.status < 500 else 502, unlocked=True,
                               field_error=page_kit.error_text(exc, lang), link=link,
                               lang_form=page_kit.again_in_another_language("present", link))
    return _consent_page(request, lang, link, asked)


def _consent_page(request: Request, lang: str, link: str, asked: flows.Asked, status: int = 200,
                  error: str | None = None) -> HTMLResponse:
    return page_kit.render(request, "consent.html", lang, status, unlocked=True, link=link, screen=asked.screen,
                           seen=seen(asked), field_error=error,
                           lang_form=page_kit.again_in_another_language("present", link))


def _choice(form: Any) -> consent.Choice:
    cards = {k[5:]: str(v) for k, v in form.multi_items() if k.startswith("card:") and isinstance(v, str)}
    sets = {}
    for k, v in form.multi_items():
        if k.startswith("set:") and isinstance(v, str) and v.isascii() and v.isdigit() and k[4:] in cards:
            sets[k[4:]] = int(v)
    return consent.Choice(cards, sets)


@router.post("/present", response_class=HTMLResponse)
async def answer(request: Request) -> Response:
    form, lang = await page_kit.form_of(request)
    wallet = await page_kit.opened(request)
    if wallet is None:
        return page_kit.locked(request, lang)
    ctx, link = page_kit.context(request), str(form.get("link") or "")
    declining = form.get("answer") == "no"
    asked: flows.Asked | None = None
    try:
        async with flows.http_client(ctx.settings) as http:
            asked = await flows.open_request(ctx, wallet, http, link, lang)
            if seen(asked) != form.get("seen"):
                raise RequestChanged("the request is not the one you saw")
            if declining:
                declined = await flows.decline(ctx, wallet, http, asked)
                return page_kit.render(request, "done.html", lang, unlocked=True, declined=True, who=asked.screen.who,
                                       **_onward(declined))
            choice = _choice(form)
            plan = consent.choices_valid(asked.screen, choice)
            answered = await flows.give(ctx, wallet, http, asked, choice, heeded_warning=bool(form.get("heeded")))
    except (flows.ConsentWarningUnheeded, consent.ConsentChoiceInvalid) as exc:
        assert asked is not None
        return _consent_page(request, lang, link, asked, 400, page_kit.error_text(exc, lang))
    except AmanaError as exc:
        return page_kit.render(request, "present.html", lang, exc.status if exc.status < 500 else 502, unlocked=True,
                               field_error=page_kit.error_text(exc, lang), link=link,
                               lang_form=page_kit.again_in_another_language("present", link))
    assert asked is not None
    label = {(q.query_id, a.path): a.label for q in asked.screen.queries for a in q.attributes}
    shared = [label.get((i.query_id, p), format_path(p)) for i in plan.items for p in i.paths]
    return page_kit.render(request, "done.html", lang, unlocked=True, declined=False, who=asked.screen.who,
                           shared=shared, **_onward(answered))


def _onward(answered: flows.Answered) -> dict[str, Any]:
    """Where the verifier asked the holder's browser to go next (OpenID4VP §8.2): the done page sends
    it there at once and shows the link, named by its host."""
    if answered.redirect_uri is None:
        return {}
    parts = urlsplit(answered.redirect_uri)  # an app's own scheme has no host: named by its scheme
    return {"continue_at": answered.redirect_uri, "continue_site": parts.hostname or parts.scheme}
