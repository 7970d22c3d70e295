"""The staff console: server-rendered, phone-friendly, in every language of core/locales.

Sign-in is with the staff key (``amana issuer create-org`` prints it once), rate-limited
per client address (core.sessions), and gives a session cookie (``__Host-``, Secure,
HttpOnly, SameSite=Strict) whose digest lives in the database. Every form carries a CSRF
token (core.web). Pages hold no script but the print button's file; the
Content-Security-Policy forbids inline script and other origins.
The PIN of an offer appears on exactly one page, the one answering its creation: on screen
for staff (``no-print``), and on paper only on a slip of its own when staff tick "print PIN
separately", never on the sheet that carries the QR.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from core import digits, esco, i18n, local_forms, pictograms, qr, sessions, web, web_pages
from core.credtypes import CredentialType
from core.errors import AmanaError, Forbidden, NotDigits, Problem, SentAlready
from core.sdjwt.paths import parse_path
from core.sealing import new_token
from core.staff import Door, SignInAgain, after_sign_in, signed_in
from core.web import JSONResponse
from issuer import classes, console_lists, console_skills, console_words, forms, store
from issuer.context import IssuerContext, get_context
from issuer.issuance import BATCH_SIZE
from issuer.offers import REFERENCE_MAX
from issuer.staff_api import ClassCreate, OfferCreate, OfferPublic, allowed_type, create_class
from issuer.staff_api import create_offer as make_offer
from issuer.store.staff import SERVICE  # the console's sign-ins
from issuer.tables import Organisation, Staff

router = APIRouter(prefix="/issuer/console", include_in_schema=False)
templates = web_pages.page_templates(Path(__file__).parent / "templates")
Ctx = Annotated[IssuerContext, Depends(get_context)]
SESSION_COOKIE = sessions.cookie(SERVICE)
DEFAULT_COPIES = 3  # the forms' own value: one copy for each of three offices (console.copies_help)
LOGIN_MAX_FAILURES = sessions.MAX_FAILURES
DOOR = Door(title_key="console.title", home="/issuer/console", login="/issuer/console/login",
            key_field="api_key", key_label_key="console.api_key")


async def who_is_in(ctx: IssuerContext, request: Request) -> tuple[Staff, Organisation] | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    async with ctx.transaction() as session:
        staff_id = await sessions.subject(session, ctx.node, SERVICE, token, ctx.now())
        staff = await store.staff_in_force(session, staff_id) if staff_id else None
        org = await store.org_by_id(session, staff.org_id) if staff else None
    return (staff, org) if staff and org else None


def _lang(request: Request, form: Any = None) -> str:
    return web_pages.page_language(request, form)


def render(ctx: IssuerContext, request: Request, template: str, lang: str, status: int = 200,
            **values: Any) -> HTMLResponse:
    return web_pages.render_page(templates, request, template, lang, ctx.node.digest, status, **values)


async def home_page(ctx: IssuerContext, request: Request, lang: str, who: tuple[Staff, Organisation], *,
                message: str | None = None, status: int = 200, typed: dict[str, str] | None = None,
                field_errors: dict[str, str] | None = None) -> HTMLResponse:
    """The console's main page. ``typed`` and ``field_errors``: a refused single offer comes back
    with what was typed and each error tied to its field (issue 10 item 15)."""
    org = who[1]
    types = [ctx.types.require(vct) for vct in org.vcts]
    query = request.query_params
    after, offers_after = query.get("after") or None, query.get("offers_after") or None
    reference = query.get("reference") or None
    found = (reference or "")[:REFERENCE_MAX] or None
    try:
        listed, cursor = await console_lists.credentials(ctx, org, lang, after=after, reference=found)
        offers, offers_cursor = await console_lists.open_offers(ctx, org, lang, after=offers_after, reference=found)
    except AmanaError as exc:
        (listed, cursor), message, status = await console_lists.credentials(ctx, org, lang), exc.detail, 400
        offers, offers_cursor = await console_lists.open_offers(ctx, org, lang)
    skill_query = (query.get(console_skills.QUERY_PARAM) or "")[:esco.QUERY_MAX]
    return render(ctx, request, "home.html", lang, status, staff=who[0], message=message,
                   once=secrets.token_urlsafe(16),  # sent once: staff_api.spend_once
                   skill_query=skill_query, skill_matches=console_skills.found(skill_query),
                   types=[(t, forms.fields(t, lang)) for t in types], credentials=listed, next_cursor=cursor,
                   reference=reference or "", after=after or offers_after, open_offers=offers,
                   offers_next_cursor=offers_cursor, typed=typed or {}, field_errors=field_errors or {})


_day = console_lists.day
SHEET_WORDS = ("title", "step1", "step2", "step3", "no_wallet", "slip_keep")


def _org_name(org: Organisation, lang: str) -> str:
    names: dict[str, str] = org.names
    return names.get(lang) or names.get(i18n.DEFAULT) or next(iter(names.values()), org.slug)


def sheet(offer: OfferPublic, lang: str, ctype: CredentialType, org: Organisation,
          row: int | None = None) -> dict[str, Any]:
    """One holder's printed sheet, in the holder's language: the QR, what it is, who issued it,
    what to do. The PIN is not on it (whoever holds both can take the certificate): it goes
    on screen for staff, and on a separate slip when staff ask for one."""
    type_name = ctype.display_name(lang)
    words = {key: i18n.t(lang, f"sheet.{key}") for key in SHEET_WORDS}
    return {"lang": i18n.bcp47(lang), "dir": i18n.direction(lang), "row": row, "qr": qr.svg(offer.qr_link),
            "pin": offer.pin,
            "reference": offer.reference,  # on screen for staff only, never on the printed sheet
            "type_name": type_name, "issued_by": i18n.t_isolated(lang, "sheet.issued_by", org=_org_name(org, lang)),
            "expires": i18n.t(lang, "sheet.expires", date=local_forms.local_day(offer.expires_at, lang)),
            "slip_title": i18n.t_isolated(lang, "sheet.slip_title", type=type_name), **words,
            "pictogram": pictograms.type_pictogram(ctype),
            "steps": list(zip(pictograms.sheet_steps(), (words["step1"], words["step2"], words["step3"]), strict=True))}


def pin_slips(form: Any) -> bool:
    return bool(form.get("pin_slip") == "yes")


@router.get("", response_class=HTMLResponse)
async def console(request: Request, ctx: Ctx) -> HTMLResponse:
    lang, who = _lang(request), await who_is_in(ctx, request)
    if who is None:
        return render(ctx, request, "login.html", lang)
    return await home_page(ctx, request, lang, who)


@router.get("/skills")
async def skills(request: Request, ctx: Ctx, q: str = "") -> JSONResponse:
    """ESCO skills matching ``q`` for the console's list box (static/esco.js); staff only."""
    if await who_is_in(ctx, request) is None:
        raise Forbidden("sign in to the console first")
    return JSONResponse(console_skills.matches(q), headers={"Cache-Control": "no-store"})


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request, ctx: Ctx) -> Response:
    form = await request.form()
    lang = _lang(request, form)
    web_pages.check_csrf(request, form.get("csrf"), ctx.node.digest)
    device = request.cookies.get(sessions.device_cookie(SERVICE))
    bucket = sessions.sign_in_bucket(ctx.node, SERVICE, web.client_address(request), device)
    now, token, key = ctx.now(), new_token(), form.get("api_key")
    key = key.strip() if isinstance(key, str) else ""  # pasted with a space or a line end (helper-90)
    if not key:  # nothing typed: said at the field, and no try spent (helper-92)
        return render(ctx, request, "login.html", lang, 400, field_error=i18n.t(lang, "console.key_missing"))
    async with ctx.transaction() as session:
        if await sessions.attempt(session, bucket, now):
            return render(ctx, request, "login.html", lang, 429, field_error=i18n.t(lang, "console.too_many"))
        staff = await store.staff_by_api_key(session, ctx.node, key)
        if staff is not None:
            await sessions.succeeded(session, bucket)
            await sessions.start(session, ctx.node, SERVICE, staff.id, token, now)
    if staff is None:
        return render(ctx, request, "login.html", lang, 401, field_error=i18n.t(lang, "console.bad_key"))
    return signed_in(after_sign_in(request, form, DOOR, lang, ctx.node.digest), ctx.node, SERVICE, token, device)


@router.post("/logout")
async def logout(request: Request, ctx: Ctx) -> Response:
    form = await request.form()
    web_pages.check_csrf(request, form.get("csrf"), ctx.node.digest)
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        async with ctx.transaction() as session:
            await sessions.end(session, ctx.node, token)
    response = RedirectResponse(f"/issuer/console?lang={_lang(request, form)}", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True, samesite="strict")
    return response


async def signed_in_form(request: Request, ctx: IssuerContext) -> tuple[Any, str, tuple[Staff, Organisation]]:
    form = await request.form()
    web_pages.check_csrf(request, form.get("csrf"), ctx.node.digest)
    who = await who_is_in(ctx, request)
    if who is None:
        raise SignInAgain(DOOR, _lang(request, form), form, request.url.path, ctx.node.digest)
    return form, _lang(request, form), who


def _cells(ctype: CredentialType, form: Any, prefix: str = "") -> list[tuple[Any, str]]:
    cells = [(parse_path(f.name), str(form.get(prefix + f.name) or "")) for f in forms.fields(ctype, "en")]
    return console_skills.fill_labels(ctype, cells)


def _copies(form: Any) -> int:
    """The copies asked for: 3 when left empty (the form's own value), else 1 to 10 in any digits,
    refused at the field otherwise (helper-92: 0, 11 and "trois" became 1 or 10 without a word)."""
    typed = str(form.get("copies") or "").strip()
    if not typed:
        return DEFAULT_COPIES
    try:
        text = digits.ascii_digits(typed)
    except NotDigits:
        text = ""
    if not text or not 1 <= int(text) <= BATCH_SIZE:
        raise classes.refused(f"copies must be a number from 1 to {BATCH_SIZE}", "copies", "copies", BATCH_SIZE)
    return int(text)


def _reference(form: Any) -> str | None:
    return " ".join(str(form.get("reference") or "").split())[:REFERENCE_MAX] or None


def _once(form: Any) -> str | None:
    """The page's one-time value (``staff_api.spend_once``); None for a form without one (an older page)."""
    once = form.get("once")
    return once if isinstance(once, str) and 16 <= len(once) <= 64 else None


async def _spent(ctx: IssuerContext, who: tuple[Staff, Organisation], once: str | None) -> bool:
    """Whether this page was sent already, asked before its fields and its file are read: a page sent
    again without its file was told "the file is empty" and answered with a fresh page (helper-94)."""
    if once is None:
        return False
    async with ctx.read() as db:
        return await store.form_spent(db, ctx.node, who[0].id, once)


async def _sent_already(ctx: IssuerContext, request: Request, lang: str,
                        who: tuple[Staff, Organisation]) -> HTMLResponse:
    """This very page was sent already: the browser's reload of the sheets, or its "send again", made a
    second offer with its own PIN (helper-90). Said, with where the first one's offers are."""
    return await home_page(ctx, request, lang, who, message=i18n.t(lang, "console.sent_already"), status=409)


def _field_errors(ctype: CredentialType, detail: str, lang: str) -> dict[str, str]:
    """The fields an error names (it names claim paths, never values), each with its own message."""
    named = {f.name for f in forms.fields(ctype, "en") if re.search(rf"(?<![\w.]){re.escape(f.name)}(?![\w.])",
                                                                    detail)}
    return {name: i18n.t(lang, "console.field_error") for name in named}


@router.post("/offer", response_class=HTMLResponse)
async def offer(request: Request, ctx: Ctx) -> HTMLResponse:
    form, lang, who = await signed_in_form(request, ctx)
    if await _spent(ctx, who, _once(form)):
        return await _sent_already(ctx, request, lang, who)
    holder_lang = i18n.pick(str(form.get("holder_language") or lang))
    ctype: CredentialType | None = None
    try:
        ctype = allowed_type(ctx, who[1], str(form.get("type") or ""))
        claims = classes.claims_from_cells(ctype, _cells(ctype, form), {})
        created = await make_offer(ctx, who[0], who[1], OfferCreate(
            type=ctype.name, claims=claims, batch_size=_copies(form), language=i18n.bcp47(holder_lang),
            reference=_reference(form)), once=_once(form))
    except SentAlready:
        return await _sent_already(ctx, request, lang, who)
    except AmanaError as exc:
        typed = {k: str(v) for k, v in form.items() if isinstance(v, str) and k not in ("csrf", "lang")}
        errors: dict[str, Any] = {}
        if ctype is not None:  # at each field it names, what to mend there; else "check this field"
            errors = (console_words.fields_named(exc.problems, ctype, lang) if exc.problems
                      else _field_errors(ctype, exc.detail, lang))
        return await home_page(ctx, request, lang, who, message=console_words.refusal(exc, ctype, lang), status=400,
                               typed=typed, field_errors=errors)
    sheets = [sheet(created, holder_lang, ctype, who[1])]
    return render(ctx, request, "sheets.html", lang, staff=who[0], sheets=sheets, errors=[],
                  summary_key="console.done", pin_slips=pin_slips(form))


@router.post("/class", response_class=HTMLResponse)
async def class_batch(request: Request, ctx: Ctx) -> HTMLResponse:
    form, lang, who = await signed_in_form(request, ctx)
    if await _spent(ctx, who, _once(form)):
        return await _sent_already(ctx, request, lang, who)
    upload = form.get("csv")
    ctype: CredentialType | None = None
    try:
        ctype = allowed_type(ctx, who[1], str(form.get("type") or ""))
        copies, defaults = _copies(form), classes.partial_claims(ctype, _cells(ctype, form, "default:"), lang)
        if not hasattr(upload, "read") or not getattr(upload, "filename", ""):  # nothing picked (helper-94)
            raise classes.refused("no CSV file was chosen", "", "no_file")
        raw = await upload.read(classes.MAX_BYTES + 1)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise classes.refused("the CSV file must be saved as UTF-8", "", "not_utf8") from None
        reference = _reference(form) or classes.file_stem(str(upload.filename))
        result = await create_class(ctx, who[0], who[1], ClassCreate(
            type=ctype.name, csv=text, defaults=defaults, batch_size=copies, language=i18n.bcp47(lang),
            reference=reference[:REFERENCE_MAX - 12] or None), once=_once(form))
    except SentAlready:
        return await _sent_already(ctx, request, lang, who)
    except AmanaError as exc:  # said where it is mended too, and the class-wide values typed kept (helper-92)
        return await home_page(ctx, request, lang, who, message=console_words.refusal(exc, ctype, lang, in_file=True),
                               status=400, typed=_class_typed(form, ctype),
                               field_errors=console_words.class_field_errors(exc, ctype, lang))
    sheets = [sheet(o, i18n.pick(o.language), ctype, who[1], o.row) for o in result.offers]
    errors = [{"row": e.row, "error": console_words.said(tuple(Problem(**p.model_dump()) for p in e.problems), ctype,
                                                         lang, in_file=True) if e.problems else e.error}
              for e in result.errors]
    # under refused rows, the class form again, as it was filled: to send the mended rows (helper-94)
    return render(ctx, request, "sheets.html", lang, staff=who[0], sheets=sheets, errors=errors,
                  summary_key="console.rows_ok", pin_slips=pin_slips(form), typed=_class_typed(form, ctype),
                  field_errors={}, once=secrets.token_urlsafe(16),
                  class_form=(ctype, forms.fields(ctype, lang)) if errors else None)


def _class_typed(form: Any, ctype: CredentialType | None) -> dict[str, str]:
    """What the class form had, to fill it again (never the file, never a row)."""
    typed = {k: str(v) for k, v in form.items() if isinstance(v, str) and k not in ("csrf", "lang", "once", "type")}
    typed["class_type"] = ctype.name if ctype else ""
    return typed
