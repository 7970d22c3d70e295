"""The desk page: a clerk signs in with the desk key, taps what to ask, shows the QR, and sees
a green or red answer with only the requested claims — once; nothing of it is kept.

The result key of a check lives in an HttpOnly ``__Host-`` cookie of the clerk's browser,
so the sealed result can be opened only there. The page's one script polls a state URL
that reveals nothing but "pending" or "answered" and then submits the page's own form.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

from core import i18n, sessions, web
from core.errors import AmanaError, InvalidInput, NotFound
from core.oid4vc import OFFER_SCHEME, PRESENTATION_SCHEME
from core.sealing import new_token
from verifier import checks, store
from verifier.context import VerifierContext, get_context
from verifier.queries import named
from verifier.requests import Prefix

router = APIRouter(prefix="/verifier/desk", include_in_schema=False)
templates = web.page_templates(Path(__file__).parent / "templates")
Ctx = Annotated[VerifierContext, Depends(get_context)]
SERVICE = "verifier"
RESULT_COOKIE = "__Host-amana_result"


def _render(ctx: VerifierContext, request: Request, template: str, lang: str, status: int = 200,
            **values: Any) -> HTMLResponse:
    return web.render_page(templates, request, template, lang, ctx.node.digest, status, **values)


async def _signed_in(ctx: VerifierContext, request: Request) -> bool:
    token = request.cookies.get(sessions.COOKIE)
    if not token:
        return False
    async with ctx.transaction() as session:
        return await sessions.subject(session, ctx.node, SERVICE, token, ctx.now()) is not None


async def _home(ctx: VerifierContext, request: Request, lang: str, message: str | None = None,
                status: int = 200) -> HTMLResponse:
    async with ctx.transaction() as session:
        entries = await store.audit_entries(session, 20)
    audit = [{**e, "when": time.strftime("%Y-%m-%d %H:%M", time.gmtime(e["at"])),
              "names": ", ".join(e["disclosed_names"])} for e in entries]
    return _render(ctx, request, "home.html", lang, status, signed_in=True, message=message,
                   queries=list(ctx.queries.values()), audit=audit)


@router.get("", response_class=HTMLResponse)
async def desk(request: Request, ctx: Ctx) -> HTMLResponse:
    lang = web.page_language(request)
    if not await _signed_in(ctx, request):
        return _render(ctx, request, "login.html", lang)
    return await _home(ctx, request, lang)


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request, ctx: Ctx) -> Response:
    form = await request.form()
    lang = web.page_language(request, form)
    web.check_csrf(request, form.get("csrf"), ctx.node.digest)
    bucket = sessions.bucket(ctx.node, SERVICE, web.client_address(request))
    now, token, key = ctx.now(), new_token(), form.get("desk_key")
    async with ctx.transaction() as session:
        if await sessions.attempt(session, bucket, now):
            return _render(ctx, request, "login.html", lang, 429, message=i18n.t(lang, "console.too_many"))
        known = isinstance(key, str) and bool(key) and await store.desk_key_known(session, ctx.node, str(key))
        if known:
            await sessions.succeeded(session, bucket)
            await sessions.start(session, ctx.node, SERVICE, ctx.node.digest("desk-key", str(key)), token, now)
    if not known:
        return _render(ctx, request, "login.html", lang, 401, message=i18n.t(lang, "console.bad_key"))
    response = RedirectResponse(f"/verifier/desk?lang={lang}", status_code=303)
    response.set_cookie(sessions.COOKIE, token, max_age=sessions.TTL_S, **web.COOKIE_FLAGS)
    return response


@router.post("/logout")
async def logout(request: Request, ctx: Ctx) -> Response:
    form = await request.form()
    web.check_csrf(request, form.get("csrf"), ctx.node.digest)
    token = request.cookies.get(sessions.COOKIE)
    if token:
        async with ctx.transaction() as session:
            await sessions.end(session, ctx.node, token)
    response = RedirectResponse(f"/verifier/desk?lang={web.page_language(request, form)}", status_code=303)
    response.delete_cookie(sessions.COOKIE, path="/", secure=True, httponly=True, samesite="strict")
    return response


async def _form(request: Request, ctx: VerifierContext) -> tuple[Any, str]:
    form = await request.form()
    web.check_csrf(request, form.get("csrf"), ctx.node.digest)
    if not await _signed_in(ctx, request):
        raise InvalidInput("please sign in again")
    return form, web.page_language(request, form)


@router.post("/checks", response_class=HTMLResponse)
async def new_check(request: Request, ctx: Ctx) -> HTMLResponse:
    form, lang = await _form(request, ctx)
    try:
        query = named(ctx.queries, str(form.get("query") or ""))
        created = await checks.create(ctx, query_name=query.name, custom=None, purpose=None,
                                      prefix=Prefix.X509_HASH, accept_unknown_status=False)
    except AmanaError as exc:
        return await _home(ctx, request, lang, exc.detail, 400)
    response = _render(ctx, request, "check.html", lang, signed_in=True, check_id=created["id"],
                       qr=created["qr_svg"], link=created["link"],
                       description=query.description.get(lang) or query.description["en"])
    response.set_cookie(RESULT_COOKIE, f"{created['id']}.{created['result_key']}", max_age=600, **web.COOKIE_FLAGS)
    return response


@router.get("/checks/{check_id}/state")
async def state(check_id: str, request: Request, ctx: Ctx) -> JSONResponse:
    if not await _signed_in(ctx, request):
        raise NotFound("no such check")
    async with ctx.transaction() as session:
        phase = await store.phase(session, check_id)
    if phase is None:
        raise NotFound("no such check")
    answer = {"phase": "pending" if phase == "pending" else "answered"}
    return JSONResponse(answer, headers={"Cache-Control": "no-store"})


@router.post("/checks/{check_id}/result", response_class=HTMLResponse)
async def result(check_id: str, request: Request, ctx: Ctx) -> HTMLResponse:
    _form_data, lang = await _form(request, ctx)
    cookie_id, _, key = (request.cookies.get(RESULT_COOKIE) or "").partition(".")
    if cookie_id != check_id or not key:
        return await _home(ctx, request, lang, i18n.t(lang, "desk.once"), 404)
    try:
        shown = await checks.take_result(ctx, check_id, key)
    except AmanaError as exc:
        return await _home(ctx, request, lang, exc.detail, 404)
    if shown is None:
        return _render(ctx, request, "check.html", lang, 202, signed_in=True, check_id=check_id, qr="",
                       description=i18n.t(lang, "desk.waiting"))
    response = _render(ctx, request, "result.html", lang, signed_in=True, result=shown)
    response.delete_cookie(RESULT_COOKIE, path="/", secure=True, httponly=True, samesite="strict")
    return response


# The scan page alone may compile WebAssembly (the QR reader) and use the camera.
SCAN_HEADERS = {
    "Content-Security-Policy": web.CONTENT_SECURITY_POLICY.replace("script-src 'self'",
                                                                   "script-src 'self' 'wasm-unsafe-eval'"),
    "Permissions-Policy": "camera=(self), geolocation=(), microphone=()",
}


def scanned_kind(text: str) -> str:
    """What a scanned holder code is. The text is neither stored nor logged."""
    if text.startswith(PRESENTATION_SCHEME):
        return "verifier"
    if text.startswith(OFFER_SCHEME):
        return "offer"
    return "unsupported"  # the offline presentation format arrives with the wallet (issue 5, point 5)


async def _scan_page(ctx: VerifierContext, request: Request, lang: str, kind: str | None) -> HTMLResponse:
    response = _render(ctx, request, "scan.html", lang, signed_in=True, scanned_kind=kind)
    response.headers.update(SCAN_HEADERS)
    return response


@router.get("/scan", response_class=HTMLResponse)
async def scan(request: Request, ctx: Ctx) -> HTMLResponse:
    lang = web.page_language(request)
    if not await _signed_in(ctx, request):
        return _render(ctx, request, "login.html", lang)
    return await _scan_page(ctx, request, lang, None)


@router.post("/scan", response_class=HTMLResponse)
async def scanned(request: Request, ctx: Ctx) -> HTMLResponse:
    form, lang = await _form(request, ctx)
    return await _scan_page(ctx, request, lang, scanned_kind(str(form.get("text") or "")))
