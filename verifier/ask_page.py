"""The ask page: where a phone's camera app lands when it scans a desk's QR (issue 10 item 12).

Every desk QR carries ``https://<node>/verifier/ask?client_id=…&request_uri=…`` (verifier.
requests.ask_link says why, with OpenID4VP's "Wallet Invocation"). A wallet reads the two
parameters and never loads this page; a browser gets a page in the reader's language: who
asks, that the wallet will show exactly what and ask first, the ``openid4vp://`` link to open
or copy, and how to get a wallet.

Like the offer page, it only ever speaks of this node's own open checks: a ``request_uri``
that is not one of this verifier's request URLs, a ``client_id`` that is not the check's, or a
check answered or expired, all get the same "ask the desk for a new code" page. So the page
repeats no address and no name that someone else chose. No session, no form, no cookie.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from core import i18n, web_pages
from core.errors import AmanaError
from core.trust.model import name_in
from verifier import checks
from verifier.context import VerifierContext, get_context
from verifier.requests import ASK_PAGE, ask_link

router = APIRouter(include_in_schema=False)
templates = web_pages.page_templates(Path(__file__).parent / "templates")
Ctx = Annotated[VerifierContext, Depends(get_context)]
HEADERS = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}
_CHECK_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


@router.get(ASK_PAGE, response_class=HTMLResponse)
async def ask_page(request: Request, ctx: Ctx, client_id: Annotated[str, Query(max_length=1024)] = "",
                   request_uri: Annotated[str, Query(max_length=2048)] = "",
                   lang: Annotated[str | None, Query(max_length=35)] = None) -> HTMLResponse:
    choice = i18n.choose(lang, request.headers.get("accept-language"))
    page_lang = choice.lang
    base = ctx.settings.public_base_url.rstrip("/")
    prefix = checks.request_uri(base, "")
    check_id = request_uri.removeprefix(prefix) if request_uri.startswith(prefix) else ""
    shown = await checks.reopen(ctx, check_id) if _CHECK_ID.fullmatch(check_id) else None
    # Exactly the link this desk put in its QR: same client id (prefix included), same request.
    live = shown is not None and shown["phase"] == "pending" and shown["qr_link"] == ask_link(base, client_id,
                                                                                              request_uri)
    values: dict[str, Any] = {"live": False}
    query: dict[str, str] = {}
    if live and shown is not None:
        query = {"client_id": client_id, "request_uri": request_uri}
        values = {"live": True, "wallet_link": shown["link"],
                  "what": i18n.t_isolated(page_lang, "ask_page.what", verifier=_desk_name(ctx, page_lang))}
        if getattr(request.app.state, "wallet", None) is not None:  # this node also hosts wallets (amana serve)
            values["wallet_here"] = "/wallet/present?" + urlencode({**query, "lang": page_lang})
    values["fallback_note"] = i18n.fallback_note(choice, page_lang)
    return _render(page_lang, query, 200 if live else 404, values)


def _desk_name(ctx: VerifierContext, lang: str) -> str:
    """The name the holder's wallet will show for this desk (``name_in`` its trust-list
    registration's names), else the node's own ``verifier_name`` when unlisted."""
    try:
        registered = ctx.trust_list().verifier(ctx.settings.verifier_id)
    except AmanaError:  # no good list now: the page still says who asks, by the node's own name
        registered = None
    return name_in(registered.names, lang) if registered is not None else ctx.settings.verifier_name


def _render(lang: str, query: dict[str, str], status: int, values: dict[str, Any]) -> HTMLResponse:
    def switch(code: str) -> str:
        return "?" + urlencode({**query, "lang": code})

    context = {"lang": lang, "lang_tag": i18n.bcp47(lang), "dir": i18n.direction(lang),
               "t": lambda key, **kw: i18n.t(lang, key, **kw),
               "languages": [(code, name, switch(code)) for code, name in i18n.languages()],
               "words_link": web_pages.words_link(lang, ASK_PAGE + switch(lang)), **values}  # only what it shows
    return HTMLResponse(templates.get_template("ask.html").render(context), status_code=status, headers=HEADERS)
