"""What every staff page (issuer console, verifier desk) shares beyond rendering: a language
change or a reload never meets a ``405``, and an ended session never loses a form.

- A page reached by a form post (an offer sheet, a refused sign-in) has an address that takes
  only posts. A link to it — a language link (``?lang=ar``), a reload, a bookmark — is
  answered by the nearest page above it that can be opened (``/issuer/console/offer`` →
  ``/issuer/console``), in the language asked for, instead of a raw ``405``.
- A staff form posted after the session ended raises ``SignInAgain``: the answer is a
  sign-in page in the form's language that carries what was typed (never the CSRF token
  nor a file). After signing in, ``after_sign_in`` offers one button that posts it again to
  where it was going — the person sees and confirms it, nothing is replayed behind their
  back; a form with nothing typed (a "show the result" button) returns to its page.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from core import i18n, sessions, web, web_pages
from core.errors import AmanaError
from core.sealing import NodeKey

TEMPLATES = web_pages.page_templates(Path(__file__).parent / "templates")
NOT_KEPT = frozenset({"csrf", "lang", "return_to"})
MAX_KEPT_FIELDS, MAX_KEPT_CHARS = 100, 20_000


@dataclass(frozen=True, slots=True)
class Door:
    """How staff of one service sign in: the page title, the sign-in action, the key's field."""

    title_key: str
    home: str  # the service's staff home, also the prefix every return address must keep
    login: str
    key_field: str
    key_label_key: str


class SignInAgain(AmanaError):
    """A staff form arrived without a live session; answered with a sign-in page, not JSON."""

    code = "sign_in_again"
    title = "Please sign in again"
    status = 401

    def __init__(self, door: Door, lang: str, form: Any, action: str, digest: Callable[[str, str], str]) -> None:
        super().__init__()
        self.door, self.lang, self.action, self.digest = door, lang, action, digest
        self.kept = kept_fields(form, door)


def kept_fields(form: Any, door: Door) -> list[tuple[str, str]]:
    """What the person typed, as (name, value): text only, without the token, key or files."""
    kept: list[tuple[str, str]] = []
    for name, value in form.multi_items() if form is not None else ():
        if name in NOT_KEPT or name == door.key_field or not isinstance(value, str):
            continue
        if len(kept) >= MAX_KEPT_FIELDS or len(value) > MAX_KEPT_CHARS:
            break
        kept.append((name, value))
    return kept


def safe_return(door: Door, target: object) -> str | None:
    """``target`` when it is a path inside this service's staff pages, else None (no open redirect)."""
    if not isinstance(target, str) or not target.startswith(door.home) or "//" in target or "\\" in target:
        return None
    return target if all(c.isprintable() and not c.isspace() for c in target) else None


def sign_in_page(request: Request, error: SignInAgain) -> HTMLResponse:
    return web_pages.render_page(TEMPLATES, request, "sign_in.html", error.lang, error.digest, 401, door=error.door,
                                 title_key=error.door.title_key, message=i18n.t(error.lang, "console.session_ended"),
                                 return_to=error.action, kept=error.kept)


def after_sign_in(request: Request, form: Any, door: Door, lang: str, digest: Callable[[str, str], str]) -> Response:
    """Where a successful sign-in leads: the staff home, or back to the interrupted form."""
    target = safe_return(door, form.get("return_to"))
    kept = [(name[5:], value) for name, value in form.multi_items()
            if name.startswith("keep:") and isinstance(value, str)][:MAX_KEPT_FIELDS]
    if target is not None and kept:
        return web_pages.render_page(TEMPLATES, request, "resume.html", lang, digest, door=door,
                                     title_key=door.title_key, return_to=target, kept=kept, signed_in=True)
    page = nearest_page(request.app, target) if target else None
    return RedirectResponse(f"{page or door.home}?{urlencode({'lang': lang})}", status_code=303)


def nearest_page(app: FastAPI, path: str) -> str | None:
    """The closest address at or above ``path`` that is a page one can open (a GET HTML route).

    Page routers carry their prefix themselves (``APIRouter(prefix=…)``), so their routes'
    paths are whole; FastAPI wraps an included router, which we look through."""
    pages = [r for r in _routes(app.router.routes)
             if "GET" in (r.methods or ()) and r.response_class is HTMLResponse]
    parts = path.rstrip("/").split("/")
    while len(parts) > 1:
        candidate = "/".join(parts)
        scope = {"type": "http", "path": candidate, "method": "GET", "root_path": ""}
        if any(route.matches(scope)[0] is Match.FULL for route in pages):
            return candidate
        parts.pop()
    return None


def _routes(routes: Iterable[Any]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        inner = getattr(route, "original_router", None)  # FastAPI's wrapper of an included router
        if inner is not None:
            yield from _routes(inner.routes)


async def _post_only_page(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 405 and request.method == "GET" and "text/html" in request.headers.get("accept", ""):
        page = nearest_page(request.app, request.url.path)
        if page is not None:
            query = f"?{request.url.query}" if request.url.query else ""
            return RedirectResponse(page + query, status_code=303)
    return await web.http_error(request, exc)


async def _form_expired(request: Request, exc: Exception) -> Response:
    """A staff member's browser posting a form whose CSRF token no longer holds (a page left open
    past the browser's session) is sent back to the page, fresh, where it got a problem+json body;
    nothing was done. A program gets the 403 problem. The form is not kept to post again: a form
    whose token failed may come from another site."""
    assert isinstance(exc, web_pages.CsrfFailed)
    if request.method == "POST" and "text/html" in request.headers.get("accept", ""):
        page = nearest_page(request.app, request.url.path)
        if page is not None:
            return RedirectResponse(f"{page}?lang={web_pages.page_language(request)}", status_code=303)
    return await web.amana_error(request, exc)


async def _sign_in_again(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInAgain)
    return sign_in_page(request, exc)


def install(app: FastAPI) -> None:
    """Called by ``core.service.build_app`` after ``web.install``: these handlers refine its own."""
    handlers: Mapping[Any, Any] = {StarletteHTTPException: _post_only_page, SignInAgain: _sign_in_again,
                                   web_pages.CsrfFailed: _form_expired}
    for exc_type, handler in handlers.items():
        app.add_exception_handler(exc_type, handler)


def signed_in(response: Response, node: NodeKey, service: str, token: str, device: str | None) -> Response:
    """The cookies of a right sign-in: the session, and a device cookie unless the browser
    already holds a good one (core.sessions: its attempts then count apart from its address)."""
    response.set_cookie(sessions.cookie(service), token, max_age=sessions.TTL_S, **web_pages.COOKIE_FLAGS)
    if sessions.known_device(node, service, device) is None:
        response.set_cookie(sessions.device_cookie(service), sessions.new_device(node, service),
                            max_age=sessions.DEVICE_TTL_S, **web_pages.COOKIE_FLAGS)
    return response
