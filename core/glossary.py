"""The glossary a holder can open from any holder page: the few technical words that remain
after the plain-words rewrite (#17 item 4), explained in each language at ``/help/words``.

Every service's app serves it (``core.service.build_app`` installs it once), so a holder
who meets a word on the issuer's offer page, the verifier's ask page or the wallet finds
the same page on the same host. Each word has a stable fragment id (``/help/words#pin``)
for a page to link a single word; the words and explanations are the ``help.<id>.term``
and ``help.<id>.text`` keys of every catalogue.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import FastAPI, Query, Request
from fastapi.responses import HTMLResponse

from core import i18n, web_pages

PATH = "/help/words"
TERMS: tuple[str, ...] = ("pin", "qr", "certificate", "wallet", "verifier", "consent", "passphrase", "trust_list")

_templates = web_pages.page_templates(Path(__file__).parent / "templates")


def link(lang: str, term: str | None = None) -> str:
    """The glossary's address in ``lang``, at one word when ``term`` is given."""
    if term is not None and term not in TERMS:
        raise ValueError(f"no glossary entry {term!r}")
    return f"{PATH}?lang={lang}" + (f"#{term}" if term else "")


# A path on this host and its query: no scheme, no host, not "//" or "/\\" (which a browser reads as
# another host), no space or control character (which a browser drops, joining what is around it).
_PATH_HERE = re.compile(r"/(?![/\\])[A-Za-z0-9._~!$&'()*+,;=:@/%?-]{0,500}")


def way_back(back: str | None, lang: str) -> str | None:
    """Where the glossary was opened from (``web_pages.words_link``), in the language the reader now
    reads: the page's "Back" link (helper-83: a holder who opened it had no way back but the
    browser's own). Anything but a path on this host is dropped, so no link can send a reader on to
    another site from here."""
    if back is None or _PATH_HERE.fullmatch(back) is None:
        return None
    parts = urlsplit(back)
    # not the notice the page showed when it was left ("card received"): it would say it again (helper-89)
    query = [(name, value) for name, value in parse_qsl(parts.query, keep_blank_values=True)
             if name not in ("lang", "notice")]
    return f"{parts.path}?{urlencode([*query, ('lang', lang)])}"


def render(choice: i18n.Choice, back: str | None = None, beside: bool = False) -> HTMLResponse:
    """The page in the chosen language: no session, no form, no cookie, the same for everyone.
    A reader whose language the node lacks is told which one the page is in instead. ``beside``:
    opened in a tab of its own from a page with no address (``web_pages.words_link``), which
    closing this tab goes back to, and the page says so (helper-89)."""
    shown = way_back(back, choice.lang)
    # the language links keep the way back (a reader may switch language before going back)
    kept = {"back": back} if shown is not None else {"beside": "1"} if beside else {}
    context = web_pages.open_page_context(choice) | {"terms": TERMS, "back": shown, "beside": shown is None and beside,
                                                      "keep_query": f"&{urlencode(kept)}" if kept else ""}
    html = _templates.get_template("words.html").render(context)
    # A way back may name an offer or a request (the page it was opened from): kept by no cache then
    # (helper-88), as that page itself is not; the glossary alone is the same for everyone.
    cache = "public, max-age=3600" if shown is None else "no-store"
    return HTMLResponse(html, headers={"Cache-Control": cache, "Vary": "Accept-Language"})


def install(app: FastAPI) -> None:
    """Add ``/help/words`` (and the shared stylesheet it uses) to ``app``, once."""
    if any(getattr(route, "path", None) == PATH for route in app.routes):
        return
    web_pages.mount_shared_static(app)

    @app.get(PATH, include_in_schema=False, response_class=HTMLResponse)
    async def words(request: Request, lang: Annotated[str | None, Query(max_length=35)] = None,
                    back: str | None = None,  # too long or not a path here: dropped (way_back)
                    beside: str | None = None) -> HTMLResponse:
        return render(i18n.choose(lang, request.headers.get("accept-language")), back, beside == "1")
