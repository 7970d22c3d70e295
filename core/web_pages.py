"""What every server-rendered page shares: its forms' CSRF token (a signed double-submit cookie),
its reader's language, its rendering (with the scanning pages' Content-Security-Policy, never
cached), the templates' shared frame, and the static files and vendored QR tools behind them.

The errors, headers and middleware every app shares, pages or not, are in core.web.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request, Response
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from core.encoding import same_text
from core.errors import AmanaError
from core.web import QR_READER_PAGES, SCANNING_CONTENT_SECURITY_POLICY

# --- forms: cookies and CSRF (signed double-submit) ------------------------------------

CSRF_COOKIE = "__Host-amana_csrf"
COOKIE_FLAGS: dict[str, Any] = {"secure": True, "httponly": True, "samesite": "strict", "path": "/"}


class CsrfFailed(AmanaError):
    code = "csrf_failed"
    title = "The form expired or did not come from this site; reload the page and try again"
    status = 403


def csrf_token(request: Request, response: Response, digest: Callable[[str, str], str]) -> str:
    """The token for forms on this page: a keyed digest of the per-browser CSRF cookie.

    A site that is not ours cannot read the cookie (HttpOnly, SameSite=Strict, __Host-) nor
    compute the digest without the node key, so it cannot forge a form post.
    """
    seed = request.cookies.get(CSRF_COOKIE)
    if not seed:
        seed = secrets.token_urlsafe(24)
        response.set_cookie(CSRF_COOKIE, seed, **COOKIE_FLAGS)
    return digest("csrf", seed)


def check_csrf(request: Request, submitted: object, digest: Callable[[str, str], str]) -> None:
    seed = request.cookies.get(CSRF_COOKIE)
    if not seed or not isinstance(submitted, str) or not same_text(submitted, digest("csrf", seed)):
        raise CsrfFailed()


def render_page(templates: Any, request: Request, template: str, lang: str, digest: Callable[[str, str], str],
                status: int = 200, **values: Any) -> HTMLResponse:
    """A server-rendered page in ``lang`` (with its direction), a CSRF token for its forms, never cached."""
    from core import i18n

    response = HTMLResponse("", status_code=status)
    context = {
        "lang": lang, "lang_tag": i18n.bcp47(lang), "dir": i18n.direction(lang),
        "t": lambda key, **kw: i18n.t(lang, key, **kw), "languages": i18n.languages(),
        "t_isolated": lambda key, **kw: i18n.t_isolated(lang, key, **kw),  # each value in its own <bdi>
        "fallback_note": i18n.fallback_note(getattr(request.state, "language", None), lang),
        "csrf": csrf_token(request, response, digest), **_words(lang, address(request)), **values,
    }
    response.body = response.render(templates.get_template(template).render(context))
    response.headers["content-length"] = str(len(response.body))
    if template in QR_READER_PAGES:
        response.headers["Content-Security-Policy"] = SCANNING_CONTENT_SECURITY_POLICY
    response.headers["Cache-Control"] = "no-store"
    return response


def open_page_context(choice: Any, request: Request | None = None) -> dict[str, Any]:
    """What a page with no session, no form and no cookie (the glossary, the front page) is
    rendered with, in the ``i18n.Choice`` made for its reader."""
    from core import i18n

    lang = choice.lang
    return {"lang": lang, "lang_tag": i18n.bcp47(lang), "dir": i18n.direction(lang),
            "t": lambda key, **kw: i18n.t(lang, key, **kw), "languages": i18n.languages(),
            "fallback_note": i18n.fallback_note(choice, lang), **_words(lang, address(request))}


def words_link(lang: str, here: str | None, term: str | None = None) -> str:
    """The glossary's address in ``lang`` (core.glossary), at ``term`` if given, with the way back to
    ``here``, this page's path and query when a link can open it again: the glossary shows it as
    its "Back" link."""
    from core import glossary

    link, _, fragment = glossary.link(lang, term).partition("#")
    if here is None:  # it opens in a tab of its own (``_words``), which says to close it to go back
        link += "&beside=1"
    elif glossary.way_back(here, lang) is not None:  # else (too long, say) the browser's own
        link += f"&{urlencode({'back': here})}"
    return link + (f"#{fragment}" if fragment else "")


def _words(lang: str, here: str | None) -> dict[str, Any]:
    """What a page's glossary links need. A page with no address to come back to (a form's answer:
    a consent screen, an offer's PIN) opens the glossary in a new tab, so that reading a word
    does not lose the page (helper-88: the browser's back button then asks to send the form again)."""
    return {"words_link": words_link(lang, here), "words_link_at": lambda term: words_link(lang, here, term),
            "words_elsewhere": here is None}


def address(request: Request | None) -> str | None:
    """A page's own path and query, when a link can open it again (a GET); a page a form posted to
    (a consent screen) has none, and the glossary then opens beside it (``_words``)."""
    if request is None or request.method != "GET":
        return None
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


def page_language(request: Request, form: Any = None, remembered: str | None = None) -> str:
    """An explicit ``lang`` (form or query), else ``remembered``, else Accept-Language, else English.

    The choice is kept on the request, so that the page says so when the reader's language is
    one the node lacks (``i18n.fallback_note``)."""
    from core import i18n

    chosen = (form.get("lang") if form is not None else None) or request.query_params.get("lang") or remembered
    choice = i18n.choose(chosen if isinstance(chosen, str) else None, request.headers.get("accept-language"))
    request.state.language = choice
    return choice.lang


STATIC = Path(__file__).parent / "static"
VENDOR = STATIC / "vendor"
QR_TOOLS = ("barcode-detector.js", "zxing_reader.wasm", "qrcode-generator.js")  # scripts/vendor-qr-reader


def vendored(name: str) -> bool:
    """The QR reader or encoder ``name`` is in ``core/static/vendor``: ``make setup`` vendors them from
    npm, ``make demo`` does not (it needs no npm). A page without them says so, where its camera
    button did nothing and the offline QR stayed blank (helper-79)."""
    return (VENDOR / name).is_file()


def page_templates(service_dir: Path) -> Any:
    """A service's templates, able to extend core's ``page.html`` (the shared frame of every page)."""
    from fastapi.templating import Jinja2Templates
    from jinja2 import ChoiceLoader, FileSystemLoader

    from core.pictograms import pictogram

    templates = Jinja2Templates(directory=service_dir)
    templates.env.globals["pictogram"] = pictogram
    templates.env.globals["vendored"] = vendored
    templates.env.loader = ChoiceLoader([FileSystemLoader(service_dir), FileSystemLoader(Path(__file__).parent /
                                                                                          "templates")])
    return templates


def mount_shared_static(app: FastAPI) -> None:
    """``/static/amana``: the stylesheet every page uses (mounted once, whichever service comes first)."""
    if not any(getattr(route, "path", None) == "/static/amana" for route in app.routes):
        app.mount("/static/amana", StaticFiles(directory=STATIC), name="amana-static")
