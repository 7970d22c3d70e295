"""What every wallet page shares: the unlocked wallet of this browser, the holder's language
(chosen once, remembered in a cookie), rendering, and errors said in the holder's words.

Pages never show an error's English ``detail`` (it may name a protocol rule): each error
code has a sentence in every language (``wallet.err.<code>`` in core/locales), looked up
along the error's class hierarchy, so a new subtype of a known error still gets its
family's sentence and nothing falls through to a stack trace or a JSON body.
"""

from __future__ import annotations

import posixpath
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from core import i18n, web, web_pages
from core.errors import AmanaError
from wallet import holder, unlocked

templates = web_pages.page_templates(Path(__file__).parent / "templates")
LANG_COOKIE = "__Host-amana_lang"
LANG_COOKIE_S = 365 * 86400
HOME = "/wallet"


def context(request: Request) -> holder.WalletContext:
    ctx: holder.WalletContext = request.app.state.wallet
    return ctx


def language(request: Request, form: Any = None) -> str:
    """An explicit choice (form or link), else the remembered one, else the browser's."""
    return web_pages.page_language(request, form, request.cookies.get(LANG_COOKIE))


def render(request: Request, template: str, lang: str, status: int = 200, **values: Any) -> HTMLResponse:
    ctx = context(request)
    response = web_pages.render_page(templates, request, template, lang, ctx.node.digest, status,
                                     idle_lock_min=max(1, ctx.settings.wallet_idle_lock_s // 60), **values)
    remember_language(request, response, lang)
    return response


def again_in_another_language(step: str, link: str) -> dict[str, Any] | None:
    """The language switch of a page reached by posting a link (a consent screen, an offer, or the
    refusal of either): the link posted again with the language chosen, so the holder sees the same
    screen in it. As links, the languages opened an empty page and the holder lost the request,
    on the very page they most need their own language for (helper-79)."""
    return {"action": f"/wallet/{step}/look", "fields": [("link", link)]} if link else None


def remember_language(request: Request, response: Any, lang: str) -> None:
    """Remember the reader's own language, not the one shown in its place: a Urdu reader shown
    English keeps being told so on every page, not on the first one only."""
    choice = getattr(request.state, "language", None)
    wanted = choice.wanted if choice is not None and choice.lang == lang and choice.wanted else lang
    if request.cookies.get(LANG_COOKIE) != wanted:
        response.set_cookie(LANG_COOKIE, wanted, max_age=LANG_COOKIE_S, **web_pages.COOKIE_FLAGS)


def home(lang: str, notice: str | None = None) -> RedirectResponse:
    return RedirectResponse(f"{HOME}?lang={lang}" + (f"&notice={notice}" if notice else ""), status_code=303)


def error_text(exc: AmanaError, lang: str) -> str:
    said = getattr(exc, "holder_text", None)  # an error that says more than its code (wallet.wrong_pin)
    if said is not None:
        key, values = said()
        return i18n.t(lang, key, **values)
    for cls in type(exc).__mro__:
        code = getattr(cls, "code", None)
        if isinstance(code, str) and i18n.has(lang, f"wallet.err.{code}"):
            return i18n.t(lang, f"wallet.err.{code}")
    return i18n.t(lang, "wallet.err.other")


class FormExpired(Exception):
    """A wallet form whose CSRF token does not hold (``web_pages.CsrfFailed``): most often a page left
    open past the browser's session, the cookie gone with it. ``form_expired`` answers it. Not an
    ``AmanaError`` of its own: on the wire it is ``csrf_failed``, one code for one error."""


async def form_of(request: Request) -> tuple[Any, str]:
    """The posted form (CSRF checked) and the holder's language."""
    form = await request.form()
    try:
        web_pages.check_csrf(request, form.get("csrf"), context(request).node.digest)
    except web_pages.CsrfFailed:
        raise FormExpired() from None
    return form, language(request, form)


async def form_expired(request: Request, exc: Exception) -> Response:
    """A form sent by the browser (it accepts HTML) goes back to the wallet's home, which says
    the page was open too long and nothing changed (303: the post is not repeated); the pages'
    own scripts, which take JSON, get the 403 problem as before."""
    if "text/html" not in request.headers.get("accept", ""):
        return await web.amana_error(request, web_pages.CsrfFailed())
    return home(language(request), "form_expired")


async def current(request: Request) -> unlocked.Unlocked | None:
    return await unlocked.current(context(request), request.cookies.get(unlocked.COOKIE))


async def opened(request: Request) -> holder.Opened | None:
    """This browser's open wallet, read afresh; None when locked (or the wallet is gone)."""
    state = await current(request)
    if state is None:
        return None
    try:
        wallet = await holder.reopen(context(request), state.wallet_id, state.key)
    except AmanaError:
        wallet = None
    if wallet is None or wallet.contents.epoch != state.epoch:  # gone, or its passphrase changed since
        await unlocked.end(context(request), request.cookies.get(unlocked.COOKIE))
        return None
    return wallet


def locked(request: Request, lang: str, return_to: str | None = None) -> HTMLResponse:
    """The unlock page, said to be needed (the wallet locked itself, or was never open here);
    ``return_to``: the wallet page to go on to once it is open (a verifier's request)."""
    remembered = request.cookies.get(DEVICE_COOKIE)
    # No wallet code remembered and no session ever begun in this browser: maybe someone with no
    # wallet yet (an offer scanned first), whom "your wallet is locked" would mislead (helper-83).
    said = "wallet.locked_now" if remembered or request.cookies.get(unlocked.COOKIE) else "wallet.open_first"
    return render(request, "unlock.html", lang, 401, message=i18n.t(lang, said),
                  remembered=remembered, own_device=bool(remembered), return_to=return_to)


def receive_page(link: str) -> str:
    """The receive page of offer ``link``: where a locked wallet goes on to once open (helper-83:
    unlocking, or making a wallet, from an offer page lost the offer)."""
    return f"/wallet/receive?link={quote(link, safe='')}"


def wallet_page(target: object) -> str | None:
    """``target`` if it is a path of this wallet's pages (no other site, no scheme)."""
    if not isinstance(target, str) or not target.startswith("/wallet") or len(target) > 4096:
        return None
    # The path as a browser resolves it (%2e%2e is "..", a fragment hides what follows): /wallet/../issuer,
    # /wallet/%2e%2e/issuer or /wallet/..#x are this site but not the wallet (helper-87).
    path = posixpath.normpath(unquote(target.partition("?")[0].partition("#")[0]))
    if path != "/wallet" and not path.startswith("/wallet/"):
        return None
    return target if "//" not in target and "\\" not in target and target.isascii() else None


DEVICE_COOKIE = "__Host-amana_wallet_code"  # only when the holder says this device is their own


def own_device(request: Request, wallet_id: str) -> bool:
    """Whether the holder of ``wallet_id`` called this browser their own: the remembered code names
    this very wallet (another holder's, left on a shared computer, does not count: helper-85)."""
    return request.cookies.get(DEVICE_COOKIE) == wallet_id


def forget_device(response: Response) -> None:
    response.delete_cookie(DEVICE_COOKIE, path="/", secure=True, httponly=True, samesite="strict")


def forget_anothers_device(request: Request, response: Response, wallet_id: str) -> None:
    """A wallet opened here by recovery or import: a code remembered for another wallet is forgotten
    (one device is not the own device of two holders)."""
    if request.cookies.get(DEVICE_COOKIE) and not own_device(request, wallet_id):
        forget_device(response)
