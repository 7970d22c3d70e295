"""The glossary a holder can open from any holder page: the few technical words that remain
after the plain-words rewrite (#17 item 4), explained in each language at ``/help/words``.

Every service's app serves it (``core.service.build_app`` installs it once), so a holder
who meets a word on the issuer's offer page, the verifier's ask page or the wallet finds
the same page on the same host. Each word has a stable fragment id (``/help/words#pin``)
for a page to link a single word; the words and explanations are the ``help.<id>.term``
and ``help.<id>.text`` keys of every catalogue.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import FastAPI, Query, Request
from fastapi.responses import HTMLResponse

from core import i18n, web_pages

PATH = "/help/words"
TERMS: tuple[str, ...] = ("pin", "qr", "certificate", "wallet", "verifier", "consent", "passphrase")

_templates = web_pages.page_templates(Path(__file__).parent / "templates")


def link(lang: str, term: str | None = None) -> str:
    """The glossary's address in ``lang``, at one word when ``term`` is given."""
    if term is not None and term not in TERMS:
        raise ValueError(f"no glossary entry {term!r}")
    return f"{PATH}?lang={lang}" + (f"#{term}" if term else "")


def render(choice: i18n.Choice) -> HTMLResponse:
    """The page in the chosen language: no session, no form, no cookie, the same for everyone.
    A reader whose language the node lacks is told which one the page is in instead."""
    html = _templates.get_template("words.html").render(web_pages.open_page_context(choice) | {"terms": TERMS})
    return HTMLResponse(html, headers={"Cache-Control": "public, max-age=3600", "Vary": "Accept-Language"})


def install(app: FastAPI) -> None:
    """Add ``/help/words`` (and the shared stylesheet it uses) to ``app``, once."""
    if any(getattr(route, "path", None) == PATH for route in app.routes):
        return
    web_pages.mount_shared_static(app)

    @app.get(PATH, include_in_schema=False, response_class=HTMLResponse)
    async def words(request: Request, lang: Annotated[str | None, Query(max_length=35)] = None) -> HTMLResponse:
        return render(i18n.choose(lang, request.headers.get("accept-language")))
