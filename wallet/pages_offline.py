"""The offline wallet (issue 13 item 6): an installable web app under /wallet that shows a card
as a QR with no network — the holder's phone offline as much as the verifier's desk.

- ``/wallet/offline``: the page. It needs no unlocked wallet and carries no personal data from
  the server: the cards it lists are in the browser's IndexedDB (wallet/static/offline.js), so
  the service worker may keep the page itself in its cache;
- ``/wallet/sw.js``: the service worker (scope /wallet/), served from here rather than from
  /static so that its scope can be /wallet/ (a worker's scope is at most its own folder);
- ``/wallet/manifest.webmanifest``: what makes the page installable (names in the holder's
  language);
- ``/wallet/cards/{id}/offline/start`` and ``…/finish``: "Keep this card for offline use". The
  browser made a P-256 key that never leaves it, so the wallet server cannot sign the key proof:
  ``start`` gets a c_nonce and an access token (with the card's refresh token, wallet.refresh) and
  hands the browser the nonce and the issuer to sign for, with the access token sealed in a
  ticket only this node can open; ``finish`` sends the browser's proof in the credential request
  and returns the compact credential and its disclosures to the browser. The server keeps no copy.
  Both are posts with the page's CSRF token, for an unlocked wallet only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

from core import i18n
from core.errors import AmanaError
from core.web import JSONResponse
from wallet import flows, offline_keep, page_kit

router = APIRouter(prefix="/wallet", include_in_schema=False)
WORKER = Path(__file__).parent / "static" / "offline-sw.js"


@router.get("/offline")
async def offline_page(request: Request) -> Response:
    lang = page_kit.language(request)
    return page_kit.render(request, "offline.html", lang)


@router.get("/sw.js")
async def service_worker() -> Response:
    """The worker script: JavaScript, revalidated on every update check (a new worker must reach
    the phones that installed the old one), allowed the scope /wallet/."""
    return FileResponse(WORKER, media_type="text/javascript",
                        headers={"Service-Worker-Allowed": "/wallet/", "Cache-Control": "no-cache"})


@router.get("/manifest.webmanifest")
async def manifest(request: Request) -> Response:
    lang = page_kit.language(request)
    body = {
        "name": i18n.t(lang, "wallet.offline.app_name"), "short_name": i18n.t(lang, "wallet.offline.short_name"),
        "lang": i18n.bcp47(lang), "dir": i18n.direction(lang), "start_url": "/wallet/offline", "scope": "/wallet/",
        "display": "standalone", "background_color": "#ffffff", "theme_color": "#0b5c4b",
        "icons": [{"src": "/static/wallet/icon.svg", "sizes": "any", "type": "image/svg+xml"},
                  {"src": "/static/wallet/icon-192.png", "sizes": "192x192", "type": "image/png"},
                  {"src": "/static/wallet/icon-512.png", "sizes": "512x512", "type": "image/png"}],
    }
    return JSONResponse(body, media_type="application/manifest+json", headers={"Cache-Control": "no-cache"})


def _refused(exc: AmanaError, lang: str) -> JSONResponse:
    status = exc.status if exc.status < 500 else 502
    return JSONResponse({"code": exc.code, "message": page_kit.error_text(exc, lang)}, status_code=status,
                        headers={"Cache-Control": "no-store"})


def _locked(lang: str) -> JSONResponse:
    return JSONResponse({"code": "locked", "message": i18n.t(lang, "wallet.locked_now")}, status_code=401)


def _not_own_device(lang: str) -> JSONResponse:
    return JSONResponse({"code": "not_own_device", "message": i18n.t(lang, "wallet.offline.own_phone_only")},
                        status_code=403)


@router.post("/cards/{card_id}/offline/start")
async def keep_start(card_id: str, request: Request) -> Response:
    _form, lang = await page_kit.form_of(request)
    wallet = await page_kit.opened(request)
    if wallet is None:
        return _locked(lang)
    if not page_kit.own_device(request, wallet.wallet_id):  # a kept copy outlives the lock: own devices only
        return _not_own_device(lang)
    ctx = page_kit.context(request)
    try:
        async with flows.http_client(ctx.settings) as http:
            started: dict[str, Any] = await offline_keep.start(ctx, wallet, http, card_id)
    except AmanaError as exc:
        return _refused(exc, lang)
    return JSONResponse(started, headers={"Cache-Control": "no-store"})


@router.post("/cards/{card_id}/offline/finish")
async def keep_finish(card_id: str, request: Request) -> Response:
    form, lang = await page_kit.form_of(request)
    wallet = await page_kit.opened(request)
    if wallet is None:
        return _locked(lang)
    if not page_kit.own_device(request, wallet.wallet_id):  # a kept copy outlives the lock: own devices only
        return _not_own_device(lang)
    ctx = page_kit.context(request)
    try:
        async with flows.http_client(ctx.settings) as http:
            card = await offline_keep.finish(ctx, wallet, http, card_id, str(form.get("ticket") or ""),
                                             str(form.get("proof") or ""))
    except AmanaError as exc:
        return _refused(exc, lang)
    return JSONResponse({"card": card}, headers={"Cache-Control": "no-store"})
