"""The wallet's door and home: create, unlock, lock, restore from the recovery sheet, the cards
and "who saw what". Thin: every rule lives in wallet.holder / wallet.unlocked / wallet.flows.

Unlocking is rate-limited twice: per wallet (wallet.store, inside holder.unlock) and per
address (here, the staff sign-in's backoff under a bucket of its own), both counted before
the Argon2id run. A wallet code is remembered in a cookie only when the holder says this
device is their own; on a shared computer nothing of the wallet stays in the browser after
it locks.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from core import i18n, local_forms, qr, sessions, web, web_pages
from core.errors import AmanaError, InvalidInput, VaultBusy
from core.fetch import Fetcher
from core.sdjwt.paths import format_path
from wallet import copies, flows, holder, labels, page_kit, refresh, status, unlocked
from wallet.content import Contents
from wallet.page_kit import (
    DEVICE_COOKIE,
    HOME,
    LANG_COOKIE,
    context,
    error_text,
    form_of,
    home,
    language,
    locked,
    opened,
    render,
    wallet_page,
)

router = APIRouter(prefix="/wallet", include_in_schema=False)
MIN_PASSPHRASE = 8
RECOVERY_PREFIX = "AMANA-RECOVERY"


async def _set_session(request: Request, response: Response, wallet: holder.Opened) -> None:
    """A new session for ``wallet`` in this browser; the one it had before (another wallet,
    or this one) ends first, so no row keeps a key nobody can reach any more."""
    ctx = context(request)
    await unlocked.end(ctx, request.cookies.get(unlocked.COOKIE))
    response.set_cookie(unlocked.COOKIE, await unlocked.start(ctx, wallet), **web_pages.COOKIE_FLAGS)  # session cookie


async def _rate_limited(request: Request, work: Callable[[], Awaitable[holder.Opened]]) -> holder.Opened:
    """``work`` (an unlock) counted against this address first, and uncounted if it was right
    (``sessions.refund``). A success does *not* clear the address's count: else one guess at
    someone's wallet and one unlock of one's own, in turn, would never meet the limit. So the
    count is of wrong tries alone: holders sharing an NGO's computer, each with their right
    passphrase, are never held back by each other. The count ages out (core.sessions.WINDOW_S)."""
    ctx = context(request)
    bucket = sessions.bucket(ctx.node, "wallet-unlock-from", web.client_address(request))
    async with ctx.transaction() as session:
        wait = await sessions.attempt(session, bucket, ctx.now())
    if wait:
        raise VaultBusy(f"too many tries from here: try again in {wait} s")
    opened = await work()
    async with ctx.transaction() as session:
        await sessions.refund(session, bucket)
    return opened


def _passphrase(form: Any, lang: str, field: str = "passphrase") -> str:
    """A new passphrase typed twice (``field`` and ``field_again``), long enough."""
    first, again = str(form.get(field) or ""), str(form.get(f"{field}_again") or "")
    if len(first) < MIN_PASSPHRASE:
        raise _FieldError(field, i18n.t(lang, "wallet.passphrase_short", n=MIN_PASSPHRASE))
    if first != again:
        raise _FieldError(f"{field}_again", i18n.t(lang, "wallet.passphrase_differs"))
    return first


class _FieldError(InvalidInput):
    """A new passphrase refused (too short, or the two differ): shown next to its field."""

    code = "passphrase_unacceptable"
    title = "Choose another passphrase"

    def __init__(self, field: str, text: str) -> None:
        super().__init__(text)
        self.field, self.text = field, text


@router.get("", response_class=HTMLResponse)
async def wallet_home(request: Request) -> Response:
    lang = language(request)
    wallet = await opened(request)
    notice = request.query_params.get("notice")
    message = i18n.t(lang, f"wallet.notice.{notice}") if notice and i18n.has(lang, f"wallet.notice.{notice}") \
        else None
    if wallet is None:
        remembered = request.cookies.get(DEVICE_COOKIE)
        return render(request, "unlock.html", lang, remembered=remembered, own_device=bool(remembered),
                      message=message)
    ctx = context(request)
    listed = cards(ctx, wallet.contents, lang)
    held = wallet.contents.batches()
    found = await status.of_cards(status_lists(ctx), [(held[c["id"]][0].issuer, held[c["id"]][0].claims)
                                                      for c in listed], flows.trust_list(ctx), ctx.now())
    for card, said in zip(listed, found, strict=True):
        card["status"] = said
    return render(request, "home.html", lang, unlocked=True, name=wallet.contents.name, wallet_id=wallet.wallet_id,
                  cards=listed, message=message)


def cards(ctx: holder.WalletContext, contents: Contents, lang: str) -> list[dict[str, Any]]:
    """Each batch as a card: type and issuer names in ``lang``, validity, unused copies."""
    listed = flows.trust_list(ctx)
    out = []
    for batch, held in contents.batches().items():
        first = held[0]
        known = ctx.types.get(first.vct)
        issuer = listed.issuer(first.issuer) if listed is not None else None
        names = issuer.names if issuer is not None else {}
        left = sum(c.shown_to is None for c in held)
        out.append({"id": batch, "type": known.display_name(lang) if known else first.vct, "vct": first.vct,
                    "issuer": names.get(lang) or names.get("en") or first.issuer, "registered": issuer is not None,
                    "until": _date(first.valid_until, lang), "expired": bool(first.valid_until and
                                                                        first.valid_until <= ctx.now()),
                    "left": left, "copies": len(held), "icon": labels.icon(ctx.types, first.vct),
                    "refreshable": batch in contents.refresh})
    return out


def status_lists(ctx: holder.WalletContext) -> Fetcher:
    """The node's fetcher for the cards' status lists, made once: shared by every holder's card list
    (a whole list is read, never one card's entry: no holder is singled out by it)."""
    if ctx.status_lists is None:
        ctx.status_lists = status.new_fetcher(ctx.settings)
    return ctx.status_lists


def _date(when: int | None, lang: str) -> str | None:
    return local_forms.local_day(when, lang) if when else None


@router.get("/new", response_class=HTMLResponse)
async def new_page(request: Request) -> Response:
    return render(request, "new.html", language(request),
                  return_to=wallet_page(request.query_params.get("return_to")))


@router.post("/new", response_class=HTMLResponse)
async def create(request: Request) -> Response:
    form, lang = await form_of(request)
    ctx = context(request)
    try:
        passphrase = _passphrase(form, lang)
    except _FieldError as exc:
        return render(request, "new.html", lang, 400, field=exc.field, field_error=exc.text,
                      name=form.get("name") or "", own_device=bool(form.get("own_device")),
                      return_to=wallet_page(form.get("return_to")))
    name = str(form.get("name") or "").strip()[:80] or None
    wallet, code = await holder.create_open(ctx, passphrase, name)
    wallet_id = wallet.wallet_id
    response = _recovery_sheet(request, lang, wallet_id, code, wallet_page(form.get("return_to")))
    await _set_session(request, response, wallet)
    if form.get("own_device"):
        response.set_cookie(DEVICE_COOKIE, wallet_id, max_age=365 * 86400, **web_pages.COOKIE_FLAGS)
    elif request.cookies.get(DEVICE_COOKIE):  # someone else's code, or not this holder's own device
        page_kit.forget_device(response)
    return response


def _recovery_sheet(request: Request, lang: str, wallet_id: str, code: str, then: str | None) -> HTMLResponse:
    """Shown once, never stored: the wallet code and recovery code, written and as one QR; ``then``:
    the wallet page its button goes on to (the offer the new wallet was made for), else home."""
    text = f"{RECOVERY_PREFIX}:{wallet_id}:{code}"
    return render(request, "recovery.html", lang, unlocked=True, wallet_id=wallet_id, code=code, qr=qr.svg(text),
                  qr_text=text, then=then or f"{HOME}?lang={lang}")


@router.post("/unlock", response_class=HTMLResponse)
async def unlock(request: Request) -> Response:
    form, lang = await form_of(request)
    ctx = context(request)
    typed = str(form.get("wallet_code") or "")
    try:
        wallet_id = holder.wallet_code(typed)
        passphrase = str(form.get("passphrase") or "")
        wallet = await _rate_limited(request, lambda: holder.unlock(ctx, wallet_id, passphrase))
    except AmanaError as exc:
        return render(request, "unlock.html", lang, exc.status, field_error=error_text(exc, lang), remembered=typed,
                      own_device=bool(form.get("own_device")), return_to=wallet_page(form.get("return_to")))
    back = wallet_page(form.get("return_to"))
    response = RedirectResponse(back, status_code=303) if back else home(lang)
    await _set_session(request, response, wallet)
    remembered = request.cookies.get(DEVICE_COOKIE)
    if remembered and remembered != wallet_id:
        # Two holders on one device: it is nobody's own. The box came ticked for the one whose code
        # was remembered, so the other is not taken at their word either (helper-87).
        page_kit.forget_device(response)
    elif form.get("own_device"):
        response.set_cookie(DEVICE_COOKIE, wallet_id, max_age=365 * 86400, **web_pages.COOKIE_FLAGS)
    elif remembered:  # no longer this holder's own device: forget the code
        page_kit.forget_device(response)
    return response


@router.post("/lock", response_class=HTMLResponse)
async def lock(request: Request) -> Response:
    form, lang = await form_of(request)
    await unlocked.end(context(request), request.cookies.get(unlocked.COOKIE))
    remembered = request.cookies.get(DEVICE_COOKIE)
    response = render(request, "unlock.html", lang, message=i18n.t(lang, "wallet.locked_done"), remembered=remembered,
                      own_device=bool(remembered))
    response.delete_cookie(unlocked.COOKIE, path="/", secure=True, httponly=True, samesite="strict")
    if form.get("forget_device"):
        response.delete_cookie(DEVICE_COOKIE, path="/", secure=True, httponly=True, samesite="strict")
        response.delete_cookie(LANG_COOKIE, path="/", secure=True, httponly=True, samesite="strict")
    return response


@router.post("/stay")
async def stay(request: Request) -> Response:
    """"Keep it open": the idle timer restarts (WCAG 2.2.1, a timer the holder can extend)."""
    form, lang = await form_of(request)
    if await opened(request) is None:
        return locked(request, lang)
    target = wallet_page(form.get("return_to")) or "/wallet"
    return RedirectResponse(f"{target.partition('?')[0]}?lang={lang}", status_code=303)


@router.get("/recover", response_class=HTMLResponse)
async def recover_page(request: Request) -> Response:
    return render(request, "recover.html", language(request),
                  return_to=wallet_page(request.query_params.get("return_to")))


@router.post("/recover", response_class=HTMLResponse)
async def recover(request: Request) -> Response:
    form, lang = await form_of(request)
    ctx = context(request)
    typed = {k: str(form.get(k) or "") for k in ("wallet_code", "recovery_code")}
    back = wallet_page(form.get("return_to"))
    try:
        passphrase = _passphrase(form, lang)
        wallet_id = holder.wallet_code(typed["wallet_code"])
        wallet = await _rate_limited(request, lambda: holder.recover(ctx, wallet_id, typed["recovery_code"],
                                                                     passphrase))
    except _FieldError as exc:
        return render(request, "recover.html", lang, 400, field=exc.field, field_error=exc.text, return_to=back,
                      **typed)
    except AmanaError as exc:
        return render(request, "recover.html", lang, exc.status, field_error=error_text(exc, lang), return_to=back,
                      **typed)
    response = RedirectResponse(back, status_code=303) if back else home(lang, "recovered")
    await _set_session(request, response, wallet)
    page_kit.forget_anothers_device(request, response, wallet.wallet_id)
    return response


@router.get("/cards/{card_id}", response_class=HTMLResponse)
async def card(card_id: str, request: Request) -> Response:
    lang = language(request)
    wallet = await opened(request)
    if wallet is None:
        return locked(request, lang)
    return await _card_page(request, lang, wallet, card_id)


async def _card_page(request: Request, lang: str, wallet: holder.Opened, card_id: str,
                     message: str | None = None) -> Response:
    ctx = context(request)
    shown = next((c for c in cards(ctx, wallet.contents, lang) if c["id"] == card_id), None)
    if shown is None:
        return render(request, "home.html", lang, 404, unlocked=True, cards=cards(ctx, wallet.contents, lang),
                      message=i18n.t(lang, "wallet.err.not_found"), wallet_id=wallet.wallet_id)
    first = wallet.contents.batches()[card_id][0]
    known = ctx.types.get(first.vct)
    claims = [(labels.claim_icon(known, path), known.label(path, lang) if known else format_path(path), value)
              for path, value in labels.shown_claims(first.claims or {}, known, lang)]
    live = await status.card_status(ctx.settings, first.issuer, first.claims, flows.trust_list(ctx), ctx.now(),
                                    status_lists(ctx))
    can_refresh = card_id in wallet.contents.refresh and shown["left"] <= copies.LOW
    return render(request, "card.html", lang, unlocked=True, card=shown, claims=claims, card_status=live,
                  can_refresh=can_refresh, message=message,
                  can_keep_offline=card_id in wallet.contents.refresh,  # the issuer is asked via its refresh token
                  # A kept copy outlives the lock (it is shown with no network): offered only on a
                  # device its holder called their own, never on an NGO's shared computer (helper-83).
                  own_device=page_kit.own_device(request, wallet.wallet_id))


@router.post("/cards/{card_id}/refresh", response_class=HTMLResponse)
async def refresh_card(card_id: str, request: Request) -> Response:
    """Fresh copies now, because the holder asked (never behind their back: see wallet.copies)."""
    _form, lang = await form_of(request)
    wallet = await opened(request)
    if wallet is None:
        return locked(request, lang)
    ctx = context(request)
    async with flows.http_client(ctx.settings) as http:
        wallet, [outcome] = await refresh.top_up(ctx, wallet, http, [card_id])
    done = i18n.t(lang, "wallet.notice.refreshed", n=outcome.fetched) if outcome.fetched else \
        i18n.t(lang, "wallet.refresh_failed")
    return await _card_page(request, lang, wallet, card_id, done)
