"""The desk page: a clerk signs in with the desk key, taps what to ask, shows the QR, and sees
a green or red answer with only the requested claims — once; nothing of it is kept.

The result key of a check lives in an HttpOnly ``__Host-`` cookie of the clerk's browser,
so the sealed result can be opened only there. The page's one script polls a state URL
that reveals nothing but "pending" or "answered" and then submits the page's own form.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from core import i18n, pictograms, sessions, staff, web, web_pages
from core.encoding import b64url_decode, b64url_encode
from core.errors import AmanaError, NotFound, UnknownEscoSkill
from core.oid4vc import OFFER_SCHEME, PRESENTATION_SCHEME
from core.sealing import new_token
from core.trust import TrustList
from core.web import JSONResponse
from verifier import checks, desk_skills, display, results, store
from verifier.context import VerifierContext, get_context
from verifier.offline import CHECK_NAME as OFFLINE_CHECK
from verifier.queries import NamedQuery, availability, named, why_refused
from verifier.requests import Prefix

OFFLINE_PREFIX = "AO1:"  # core.offline's QR text (specs/formats/offline-presentation.md)

router = APIRouter(prefix="/verifier/desk", include_in_schema=False)
templates = web_pages.page_templates(Path(__file__).parent / "templates")
Ctx = Annotated[VerifierContext, Depends(get_context)]
SERVICE = store.SERVICE
SESSION_COOKIE = sessions.cookie(SERVICE)
RESULT_COOKIE = "__Host-amana_result"
DOOR = staff.Door(title_key="desk.title", home="/verifier/desk", login="/verifier/desk/login", key_field="desk_key",
                  key_label_key="desk.key")
SHOWN_S = 600  # how long a shown result can be re-shown in another language, by the page that holds it


def render(ctx: VerifierContext, request: Request, template: str, lang: str, status: int = 200,
            **values: Any) -> HTMLResponse:
    return web_pages.render_page(templates, request, template, lang, ctx.node.digest, status, **values)


async def desk_of(ctx: VerifierContext, request: Request) -> str | None:
    """The digest of the desk key this browser signed in with, while the session and the key hold
    (a session begun as its key was revoked ends here); else None."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    async with ctx.transaction() as session:
        desk = await sessions.subject(session, ctx.node, SERVICE, token, ctx.now())
        return desk if desk is not None and await store.desk_active(session, desk) else None


async def signed_in(ctx: VerifierContext, request: Request) -> bool:
    return await desk_of(ctx, request) is not None


async def _home(ctx: VerifierContext, request: Request, lang: str, message: str | None = None,
                status: int = 200) -> HTMLResponse:
    async with ctx.transaction() as session:
        entries = await store.audit_entries(session, 20)
    try:
        trust_list: TrustList | None = ctx.trust_list()
    except AmanaError:
        trust_list = None
    audit = [{**e, "when": time.strftime("%Y-%m-%d %H:%M", time.gmtime(e["at"])),
              "names": display.claim_names(e["disclosed_names"], ctx.types.get(e["vct"] or ""), lang),
              "question": _asked(ctx, e["check"], lang), "issuer_named": _issuer_named(trust_list, e["issuer"], lang),
              "no_answer": e["reason"] in (store.UNANSWERED, store.HINT_ONLY)}
             for e in entries]
    offered = availability(ctx.queries, trust_list, ctx.settings.verifier_id, ctx.now())
    return render(ctx, request, "home.html", lang, status, signed_in=True, message=message,
                   queries=[{**_question(q, lang), **desk_skills.picker(q, request.query_params)}
                            for q, why in offered if why is None],
                   unavailable=[(_question(q, lang), i18n.t(lang, f"desk.unavailable.{why}"))
                                for q, why in offered if why is not None], audit=audit)


def _question(query: NamedQuery, lang: str) -> dict[str, Any]:
    """A question's name and its description in ``lang`` (or English, marked as such)."""
    text = query.description.get(lang)
    return {"name": query.name, "text": text or query.description["en"], "lang": None if text else "en",
            "pictogram": pictograms.purpose_pictogram(query.purpose)}


def _asked(ctx: VerifierContext, check_name: str, lang: str) -> display.Text:
    """An audit line's question as the desk's buttons say it, in ``lang``; an offline scan as such;
    a query of the desk's own (a DCQL query through the API) by its name."""
    query = ctx.queries.get(check_name)
    if query is not None:
        asked = _question(query, lang)
        return display.Text(asked["text"], asked["lang"])
    return display.Text(i18n.t(lang, "desk.offline")) if check_name == OFFLINE_CHECK else display.Text(check_name)


def _issuer_named(trust_list: TrustList | None, issuer: str | None, lang: str) -> display.Text | None:
    """The issuer by the name the trust list accredits it under, in ``lang``; else its id (a clerk
    read a URL broken over five lines of a phone's screen: helper-79)."""
    if issuer is None:
        return None
    accredited = trust_list.issuer(issuer) if trust_list is not None else None
    return display.localized(accredited.names, lang, issuer) if accredited is not None else display.Text(issuer)


def _refusal(exc: AmanaError, lang: str) -> str:
    """A refused check in the page's language: the registration's reason, or a general sentence."""
    why = why_refused(exc)
    if isinstance(exc, UnknownEscoSkill):
        return i18n.t(lang, "console.esco_unknown")
    return i18n.t(lang, f"desk.unavailable.{why}" if why else "desk.error")


@router.get("", response_class=HTMLResponse)
async def desk(request: Request, ctx: Ctx) -> HTMLResponse:
    lang = web_pages.page_language(request)
    if not await signed_in(ctx, request):
        return render(ctx, request, "login.html", lang, return_to=request.url.path)
    return await _home(ctx, request, lang)


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request, ctx: Ctx) -> Response:
    form = await request.form()
    lang = web_pages.page_language(request, form)
    web_pages.check_csrf(request, form.get("csrf"), ctx.node.digest)
    device = request.cookies.get(sessions.device_cookie(SERVICE))
    bucket = sessions.sign_in_bucket(ctx.node, SERVICE, web.client_address(request), device)
    now, token, key = ctx.now(), new_token(), form.get("desk_key")
    key = key.strip() if isinstance(key, str) else ""  # pasted with a space or a line end (helper-90)
    if not key:  # nothing typed: said as such, and no try spent (helper-92)
        return render(ctx, request, "login.html", lang, 400, field_error=i18n.t(lang, "console.key_missing"))
    async with ctx.transaction() as session:
        if await sessions.attempt(session, bucket, now):
            return render(ctx, request, "login.html", lang, 429, field_error=i18n.t(lang, "console.too_many"))
        known = await store.desk_key_known(session, ctx.node, key)
        if known:
            await sessions.succeeded(session, bucket)
            await sessions.start(session, ctx.node, SERVICE, store.desk_digest(ctx.node, key), token, now)
    if not known:
        return render(ctx, request, "login.html", lang, 401, field_error=i18n.t(lang, "console.bad_key"))
    return staff.signed_in(staff.after_sign_in(request, form, DOOR, lang, ctx.node.digest), ctx.node, SERVICE, token,
                           device)


@router.post("/logout")
async def logout(request: Request, ctx: Ctx) -> Response:
    form = await request.form()
    web_pages.check_csrf(request, form.get("csrf"), ctx.node.digest)
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        async with ctx.transaction() as session:
            await sessions.end(session, ctx.node, token)
    response = RedirectResponse(f"/verifier/desk?lang={web_pages.page_language(request, form)}", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True, samesite="strict")
    return response


async def _form(request: Request, ctx: VerifierContext) -> tuple[Any, str]:
    form, lang, _desk = await form_of_desk(request, ctx)
    return form, lang


async def form_of_desk(request: Request, ctx: VerifierContext) -> tuple[Any, str, str]:
    """A desk form (CSRF checked), its language, and the desk that posts it (``SignInAgain`` if none)."""
    form = await request.form()
    web_pages.check_csrf(request, form.get("csrf"), ctx.node.digest)
    lang = web_pages.page_language(request, form)
    desk = await desk_of(ctx, request)
    if desk is None:
        raise staff.SignInAgain(DOOR, lang, form, request.url.path, ctx.node.digest)
    return form, lang, desk


@router.post("/checks", response_class=HTMLResponse)
async def new_check(request: Request, ctx: Ctx) -> Response:
    form, lang, desk = await form_of_desk(request, ctx)
    try:
        query = named(ctx.queries, str(form.get("query") or ""))
        created = await checks.create(ctx, query_name=query.name, custom=None, purpose=None,
                                      prefix=Prefix.X509_HASH, accept_unknown_status=False,
                                      parameters=desk_skills.parameters(query, form), desk=desk)
    except AmanaError as exc:
        return await _home(ctx, request, lang, _refusal(exc, lang), 400)
    earlier_id, _, earlier_key = (request.cookies.get(RESULT_COOKIE) or "").partition(".")
    if earlier_id and earlier_key:  # the cookie's one check is this one now: the earlier one ends (check.html says so)
        await results.withdraw(ctx, earlier_id, earlier_key)
    # Post, then redirect to the check's own address: reloading it, changing its language or
    # coming back after "not yet" shows the same QR instead of asking again.
    response = RedirectResponse(f"/verifier/desk/checks/{created['id']}?lang={lang}", status_code=303)
    response.set_cookie(RESULT_COOKIE, f"{created['id']}.{created['result_key']}", max_age=600,
                        **web_pages.COOKIE_FLAGS)
    return response


def _requester(request: Request, check_id: str) -> str | None:
    """The result key, when this browser is the one that asked for ``check_id``."""
    cookie_id, _, key = (request.cookies.get(RESULT_COOKIE) or "").partition(".")
    return key if cookie_id == check_id and key else None


@router.get("/checks/{check_id}", response_class=HTMLResponse)
async def check_page(check_id: str, request: Request, ctx: Ctx) -> HTMLResponse:
    """The check with its QR, for as long as it is open, in the browser that asked for it."""
    lang = web_pages.page_language(request)
    if not await signed_in(ctx, request):
        return render(ctx, request, "login.html", lang, return_to=request.url.path)
    shown = await checks.reopen(ctx, check_id) if _requester(request, check_id) else None
    if shown is None:
        return await _home(ctx, request, lang, i18n.t(lang, "desk.check_gone"), 404)
    query = ctx.queries.get(shown["name"])
    question = _question(query, lang) if query else {"text": "", "lang": None}
    async with ctx.read() as db:  # a decline on record shows without the page's script (helper-83)
        found = await store.phase(db, check_id)
    declined = found is not None and found[1]
    message = i18n.t(lang, "desk.not_yet") if request.query_params.get("not_yet") and not declined else None
    return render(ctx, request, "check.html", lang, signed_in=True, check_id=check_id, qr=checks.qr_svg(shown),
                   link=shown["link"], question=question, message=message, declined=declined,
                   skills_asked=desk_skills.asked_labels(query, shown["dcql"]))


@router.get("/checks/{check_id}/state")
async def state(check_id: str, request: Request, ctx: Ctx) -> JSONResponse:
    if not await signed_in(ctx, request):
        raise NotFound("no such check")
    async with ctx.read() as db:  # polled every 1.5 s by every open desk: no transaction, no lock
        found = await store.phase(db, check_id)
    if found is None:
        raise NotFound("no such check")
    phase, declined = found
    answer = {"phase": "pending" if phase == "pending" else "answered", "declined": declined}
    return JSONResponse(answer, headers={"Cache-Control": "no-store"})


@router.post("/checks/{check_id}/result", response_class=HTMLResponse)
async def result(check_id: str, request: Request, ctx: Ctx) -> Response:
    form_data, lang = await _form(request, ctx)
    key = _requester(request, check_id)
    if key is None:  # shown already (its cookie gone), or a newer check of this browser holds the cookie
        gone = "desk.check_gone" if request.cookies.get(RESULT_COOKIE) else "desk.once"
        return await _home(ctx, request, lang, i18n.t(lang, gone), 404)
    try:  # "close": the clerk takes the hint that came as the result (results.take_result)
        shown = await results.take_result(ctx, check_id, key, close=form_data.get("close") == "1")
    except AmanaError:
        return await _home(ctx, request, lang, i18n.t(lang, "desk.check_gone"), 404)
    if shown is None:  # not yet: back to the same check, QR and all
        return RedirectResponse(f"/verifier/desk/checks/{check_id}?lang={lang}&not_yet=1", status_code=303)
    response = result_page(ctx, request, lang, check_id, shown, ctx.now() + SHOWN_S)
    response.delete_cookie(RESULT_COOKIE, path="/", secure=True, httponly=True, samesite="strict")
    return response


def result_page(ctx: VerifierContext, request: Request, lang: str, check_id: str, shown: dict[str, Any],
                until: int) -> HTMLResponse:
    """The result, with a language switch that posts it back sealed to this node: the server
    keeps nothing, and the page that holds it can show it again in another language. An offline
    code whose status this desk could not read offers to fetch the lists (verifier.offline_pages)."""
    sealed = ctx.node.seal(json.dumps({"until": until, "result": shown}).encode(), f"desk-shown:{check_id}")
    switch = {"action": f"/verifier/desk/checks/{check_id}/shown", "fields": [("shown", b64url_encode(sealed))]}
    return render(ctx, request, "result.html", lang, signed_in=True, lang_form=switch,
                  view=display.result_view(shown, ctx.types, lang), proof_of_check=shown.get("proof_of_check"),
                  offline=shown.get("offline"),
                  offer_sync=bool(shown.get("offline")) and shown.get("reason") == "status_unknown")


@router.post("/checks/{check_id}/shown", response_class=HTMLResponse)
async def shown_again(check_id: str, request: Request, ctx: Ctx) -> HTMLResponse:
    """The result already shown, again in the language just chosen (for ``SHOWN_S`` at most)."""
    form, lang = await _form(request, ctx)
    try:
        opened = json.loads(ctx.node.open(b64url_decode(str(form.get("shown") or ""), "shown"),
                                          f"desk-shown:{check_id}"))
    except (AmanaError, ValueError):
        opened = None
    if not isinstance(opened, dict) or not isinstance(opened.get("until"), int) or ctx.now() >= opened["until"]:
        return await _home(ctx, request, lang, i18n.t(lang, "desk.once"), 404)
    return result_page(ctx, request, lang, check_id, opened["result"], opened["until"])


# The scan page alone uses the camera (its QR reader's WebAssembly: web_pages.render_page).
SCAN_HEADERS = {"Permissions-Policy": "camera=(self), geolocation=(), microphone=()"}


def scanned_kind(text: str) -> str:
    """What a scanned holder code is. The text is neither stored nor logged."""
    if text.startswith(OFFLINE_PREFIX):
        return "offline"
    if text.startswith(PRESENTATION_SCHEME):
        return "verifier"
    if text.startswith(OFFER_SCHEME):
        return "offer"
    return "unsupported"


async def _scan_page(ctx: VerifierContext, request: Request, lang: str, kind: str | None) -> HTMLResponse:
    response = render(ctx, request, "scan.html", lang, signed_in=True, scanned_kind=kind)
    response.headers.update(SCAN_HEADERS)
    return response


@router.get("/scan", response_class=HTMLResponse)
async def scan(request: Request, ctx: Ctx) -> HTMLResponse:
    lang = web_pages.page_language(request)
    if not await signed_in(ctx, request):
        return render(ctx, request, "login.html", lang, return_to=request.url.path)
    return await _scan_page(ctx, request, lang, None)


@router.post("/scan", response_class=HTMLResponse)
async def scanned(request: Request, ctx: Ctx) -> HTMLResponse:
    form, lang, desk = await form_of_desk(request, ctx)
    text = str(form.get("text") or "")
    kind = scanned_kind(text)
    if kind == "offline":  # an offline QR: checked here, from what the node holds (issue 13)
        from verifier import offline_pages  # here: offline_pages builds on this module's helpers
        return await offline_pages.show(ctx, request, lang, text, desk)
    return await _scan_page(ctx, request, lang, kind)
