"""The desk's offline QR (issue 13): the nonce screen, and the result of an ``AO1:`` code.

- ``GET /verifier/desk/offline``: the scan page with a nonce QR (``AON1:``) above it. The
  holder's wallet scans it and signs it into the QR it then shows; the nonce is kept (as a
  keyed digest) for ``NONCE_TTL_S`` and spent by the first code that signs it.
- A scanned ``AO1:`` text (posted by the scan page to verifier.pages.scanned) is checked from
  what this node holds alone (verifier.offline) and shown with the desk's result page, in the
  page's language; the audit keeps claim names, never values.
- ``POST /verifier/desk/sync``: a result whose status could not be read from what the desk holds
  offers the clerk to fetch the status lists now, while there is a connection (what ``amana
  verifier sync`` does, without a shell), then the scan page again (``?synced=1``: it says how it
  went). Before, a desk on a node that had never synced refused every first offline code, and
  only someone at the shell could mend it (helper-83).
"""

from __future__ import annotations

import secrets
import time

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from core import i18n, qr, web_pages
from core.sealing import new_public_id
from verifier import checks, offline, pages, store
from verifier.context import VerifierContext
from verifier.pages import Ctx

router = APIRouter(prefix="/verifier/desk", include_in_schema=False)
NONCE_TTL_S = 600  # the holder scans, picks what to show, shows: minutes, not hours


@router.get("/offline", response_class=HTMLResponse)
async def offline_screen(request: Request, ctx: Ctx) -> HTMLResponse:
    lang = web_pages.page_language(request)
    if not await pages.signed_in(ctx, request):
        return pages.render(ctx, request, "login.html", lang, return_to=request.url.path)
    synced = request.query_params.get("synced")  # after "get the status lists now": how it went
    said = {"1": "desk.synced", "0": "desk.sync_failed"}.get(synced or "")
    return await _scan_page(ctx, request, lang, i18n.t(lang, said) if said else None)


SYNC_AGAIN_S = 30  # a press within this of the last fetch reuses it


@router.post("/sync", response_class=HTMLResponse)
async def sync_now(request: Request, ctx: Ctx) -> Response:
    """The status lists this desk has met, fetched now (or a moment ago: presses a clerk repeats,
    or several desks at once, fetch them once); then the scan page, saying how it went."""
    _form, lang, _desk = await pages.form_of_desk(request, ctx)
    async with ctx.syncing:
        # A fetch that brought lists is reused for a moment; one that brought none is tried again at
        # once (the connection may be back: helper-87).
        if ctx.last_sync is None or not ctx.last_sync[1] or time.monotonic() - ctx.last_sync[0] >= SYNC_AGAIN_S:
            report = await checks.sync(ctx, None)
            ctx.last_sync = (time.monotonic(), report["status_lists"]["refreshed"])
        refreshed = ctx.last_sync[1]
    # Some list fetched: the clerk scans again and the result says what is still unknown, if anything.
    # Then the scan page by its address (a reload must not post the form again: helper-86).
    return RedirectResponse(f"/verifier/desk/offline?lang={lang}&synced={1 if refreshed else 0}", status_code=303)


async def _scan_page(ctx: VerifierContext, request: Request, lang: str, message: str | None = None) -> HTMLResponse:
    nonce, now = secrets.token_bytes(offline.NONCE_BYTES), ctx.now()
    async with ctx.transaction() as session:
        await store.add_offline_nonce(session, ctx.node, nonce, now + NONCE_TTL_S, now)
    response = pages.render(ctx, request, "scan.html", lang, signed_in=True, scanned_kind=None, message=message,
                            nonce_qr=qr.svg(offline.nonce_text(nonce), scale=8))
    response.headers.update(pages.SCAN_HEADERS)
    response.headers["Cache-Control"] = "no-store"
    return response


async def show(ctx: VerifierContext, request: Request, lang: str, text: str, desk: str) -> HTMLResponse:
    """Check an ``AO1:`` text for ``desk`` (its key's digest) and render the result page (refusals
    included: they are results)."""
    shown = await offline.check(ctx, text, desk)
    return pages.result_page(ctx, request, lang, "offline-" + new_public_id(), shown, ctx.now() + pages.SHOWN_S)
