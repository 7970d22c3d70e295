"""Moving a wallet (GDPR Art. 20): export it to a file under a passphrase of its own, bring it
into a wallet here from such a file, and destroy the old copy with a receipt saying so.

Destroying needs an export made in this same session (wallet.unlocked keeps its digest) and
the passphrase again: a borrowed unlocked phone cannot erase a wallet that was never saved.
The receipt names the export it relied on (its SHA-256), so the holder can show that the
file they hold is the wallet that was destroyed.
"""

from __future__ import annotations

import hashlib
import time

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from core import i18n
from core.errors import AmanaError, InvalidInput
from wallet import export, holder, page_kit, unlocked
from wallet.history import iso
from wallet.pages import _FieldError, _passphrase, _recovery_sheet, _set_session

router = APIRouter(prefix="/wallet", include_in_schema=False)
MAX_EXPORT_BYTES = 1024 * 1024


@router.get("/move", response_class=HTMLResponse)
async def move_page(request: Request) -> Response:
    lang = page_kit.language(request)
    if await page_kit.opened(request) is None:
        return page_kit.locked(request, lang)
    state = await page_kit.current(request)
    return page_kit.render(request, "move.html", lang, unlocked=True, exported=state.exported if state else None)


@router.post("/export")
async def export_file(request: Request) -> Response:
    form, lang = await page_kit.form_of(request)
    wallet = await page_kit.opened(request)
    state = await page_kit.current(request)
    if wallet is None or state is None:
        return page_kit.locked(request, lang)
    try:
        secret = _passphrase(form, lang, "export_passphrase")
    except _FieldError as exc:
        return page_kit.render(request, "move.html", lang, 400, unlocked=True, field=exc.field,
                               field_error=exc.text, exported=state.exported)
    ctx = page_kit.context(request)
    try:  # the holder, not someone who found the phone unlocked: the passphrase again (rate-limited)
        wallet = await holder.unlock(ctx, wallet.wallet_id, str(form.get("passphrase") or ""))
    except AmanaError as exc:
        return page_kit.render(request, "move.html", lang, exc.status, unlocked=True, field="passphrase",
                               field_error=page_kit.error_text(exc, lang), exported=state.exported)
    data = await ctx.off_loop(export.dump, wallet.wallet_id, wallet.contents.to_bytes(), secret, ctx.now())
    await unlocked.note_export(ctx, request.cookies.get(unlocked.COOKIE) or "", state, hashlib.sha256(data).hexdigest())
    name = f"amana-wallet-{time.strftime('%Y-%m-%d', time.gmtime(ctx.now()))}.json"
    return Response(data, media_type="application/json", headers={
        "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


@router.post("/destroy", response_class=HTMLResponse)
async def destroy(request: Request) -> Response:
    form, lang = await page_kit.form_of(request)
    wallet = await page_kit.opened(request)
    state = await page_kit.current(request)
    if wallet is None or state is None:
        return page_kit.locked(request, lang)
    ctx = page_kit.context(request)
    try:
        if not state.exported:
            raise InvalidInput("export the wallet first")
        if not form.get("sure"):
            raise InvalidInput("tick the box to say you are sure")
        wallet = await holder.unlock(ctx, wallet.wallet_id, str(form.get("passphrase") or ""))  # not a borrower
        await holder.destroy(ctx, wallet)
    except AmanaError as exc:
        return page_kit.render(request, "move.html", lang, exc.status, unlocked=True, exported=state.exported,
                               destroy_error=i18n.t(lang, "wallet.destroy_needs") if type(exc) is InvalidInput
                               else page_kit.error_text(exc, lang))
    await unlocked.end(ctx, request.cookies.get(unlocked.COOKIE))
    receipt = {"wallet_id": wallet.wallet_id, "destroyed_at": iso(ctx.now()), "node": ctx.settings.public_base_url,
               "export_sha256": state.exported["sha256"], "exported_at": iso(int(str(state.exported["at"])))}
    response = page_kit.render(request, "receipt.html", lang, receipt=receipt)
    response.delete_cookie(unlocked.COOKIE, path="/", secure=True, httponly=True, samesite="strict")
    response.delete_cookie(page_kit.DEVICE_COOKIE, path="/", secure=True, httponly=True, samesite="strict")
    return response


@router.get("/import", response_class=HTMLResponse)
async def import_page(request: Request) -> Response:
    return page_kit.render(request, "import.html", page_kit.language(request),
                           return_to=page_kit.wallet_page(request.query_params.get("return_to")))


@router.post("/import", response_class=HTMLResponse)
async def import_wallet(request: Request) -> Response:
    form, lang = await page_kit.form_of(request)
    ctx = page_kit.context(request)
    upload, back = form.get("file"), page_kit.wallet_page(form.get("return_to"))
    try:
        data = await upload.read(MAX_EXPORT_BYTES + 1) if upload is not None and hasattr(upload, "read") else b""
        if not data:  # the page's first field first: said at the field (helper-89: only the passphrase was)
            raise _FieldError("file", i18n.t(lang, "wallet.err.no_file"))
        if len(data) > MAX_EXPORT_BYTES:
            raise InvalidInput("the export file is too large")
        passphrase = _passphrase(form, lang)
        export.header(data)
        opened, code = await holder.import_wallet(ctx, data, str(form.get("export_passphrase") or ""), passphrase)
    except _FieldError as exc:
        return page_kit.render(request, "import.html", lang, 400, field=exc.field, field_error=exc.text,
                               return_to=back)
    except AmanaError as exc:
        return page_kit.render(request, "import.html", lang, exc.status, field_error=page_kit.error_text(exc, lang),
                               return_to=back)
    response = _recovery_sheet(request, lang, opened.wallet_id, code, back)
    await _set_session(request, response, opened)
    page_kit.forget_anothers_device(request, response, opened.wallet_id)
    return response
