""""Who saw what" (issue 12 item 6, issue 14): each disclosure and refusal, each receipt and
whether it verifies, and consent withdrawn in one step — a single button, as giving it was."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from core import i18n, local_forms, pictograms
from core.encoding import b64url_decode
from core.errors import AmanaError
from core.trust import TrustList
from wallet import flows, holder, labels, ledger, rights
from wallet.history import HistoryRecord
from wallet.page_kit import context, error_text, form_of, language, locked, opened, render

router = APIRouter(prefix="/wallet", include_in_schema=False)


def _when(timestamp: str, lang: str) -> dict[str, Any]:
    """A record's moment as the reader reads a day, and its minute, in UTC (the server knows no
    reader's time zone); a stamp that is not ISO 8601 (an imported wallet's) is shown as it is.

    ``at`` and ``days`` let the page's script put the moment in the device's own time zone
    (wallet.js, ``localMoments``): the instant in UTC, and the day as the reader reads it for the
    UTC day and the days on either side, the only ones a time zone can reach (UTC-12 to UTC+14),
    so a day is always written here, with its calendar and digits, never by the browser. Only a
    stamp with a time and an offset is an instant: a day alone, or a time with no zone, is not
    moved (helper-88: "2024-03-10" became 19:00 the day before in New York)."""
    try:
        at = datetime.fromisoformat(timestamp)
        if at.tzinfo is not None:
            at = at.astimezone(UTC)
        day = local_forms.local_date(at.date(), lang)
    except (ValueError, OverflowError):  # not ISO 8601, or a day no calendar here writes (year 1, 9999)
        return {"day": timestamp, "time": ""}
    if at.tzinfo is None:  # a day alone, or a time in no zone: shown as written, not moved
        written = any(mark in timestamp for mark in "Tt ")
        return {"day": day, "time": local_forms.local_digits(f"{at:%H:%M}", lang) if written else ""}
    days = {}
    for shift in (-1, 0, 1):
        try:
            near = at.date() + timedelta(days=shift)
            days[near.isoformat()] = local_forms.local_date(near, lang)
        except (ValueError, OverflowError):  # past the calendar's end: that day is not shown moved
            continue
    return {"day": day, "time": local_forms.local_digits(f"{at:%H:%M}", lang), "days": days,
            "at": at.replace(tzinfo=None).isoformat(timespec="seconds") + "Z"}


def _row(ctx: holder.WalletContext, r: HistoryRecord, lang: str, trust: TrustList | None,
         ledger_key: bytes | None) -> dict[str, Any]:
    state = ledger.state(r.receipt)
    # Verified: signed for this record and made with this holder's key (receipts kept before the
    # wallet checked whose they were, session 27, are judged the same way).
    verified = (state is not None and r.receipt is not None and ledger_key is not None
                and ledger.check(r.receipt, trust, ledger.own_key(ledger_key, r.receipt)))
    return {**_when(r.timestamp, lang), "event": r.event,
            "who": r.controller.name or i18n.t(lang, "wallet.unknown_verifier"), "who_id": r.controller.id,
            "unknown": r.controller.name is None,
            "why": [(pictograms.purpose_pictogram(p), labels.purpose_words(p, lang)) for p in r.purposes],
            # a refusal kept no copy, so no type: the label from whichever type names that claim
            "what": [(labels.claim_icon_by_name(ctx.types, r.credential_types or list(ctx.types), n),
                      labels.claim_label(ctx.types, r.credential_types or list(ctx.types), n, lang))
                     for n in r.data_categories],
            "copies": len(r.copy_ids), "state": state,
            "verified": verified,
            "record_id": (r.receipt or {}).get("record_id"), "erased": bool((r.receipt or {}).get("erased")),
            "can_withdraw": ledger.withdrawable(r.receipt) and not (r.receipt or {}).get("erased"),
            # asked under a contract or a law (Art. 6(1)(b), (c)), as its verified receipt says: said,
            # rather than a button missing (helper-83; not (e), (f): the holder may object there)
            "not_withdrawable": verified and ledger.under_law_or_contract(r.receipt)
            and not (r.receipt or {}).get("erased")}


async def _page(request: Request, lang: str, wallet: holder.Opened, status: int = 200,
                message: str | None = None) -> Response:
    ctx = context(request)
    trust = flows.trust_list(ctx)
    kept = wallet.contents.ledger_key  # none yet: no record, so no receipt to verify
    ledger_key = b64url_decode(kept) if kept is not None else None
    rows = [_row(ctx, r, lang, trust, ledger_key) for r in reversed(wallet.contents.history)]
    return render(request, "history.html", lang, status, unlocked=True, rows=rows, message=message,
                  digits=local_forms.digits_of(lang))


@router.get("/history", response_class=HTMLResponse)
async def history(request: Request) -> Response:
    lang = language(request)
    wallet = await opened(request)
    if wallet is None:
        return locked(request, lang)
    ctx = context(request)
    async with flows.http_client(ctx.settings) as http:
        wallet = await rights.refresh_waiting(ctx, wallet, http)
    notice = request.query_params.get("notice")
    message = i18n.t(lang, f"wallet.notice.{notice}") if notice and i18n.has(lang, f"wallet.notice.{notice}") \
        else None
    return await _page(request, lang, wallet, message=message)


@router.post("/history/{record_id}/withdraw", response_class=HTMLResponse)
async def withdraw(record_id: str, request: Request) -> Response:
    return await _exercise(request, record_id, rights.withdraw, "withdrawn")


@router.post("/history/{record_id}/erase", response_class=HTMLResponse)
async def erase(record_id: str, request: Request) -> Response:
    return await _exercise(request, record_id, rights.erase, "erased")


async def _exercise(request: Request, record_id: str, right: Callable[..., Awaitable[object]], notice: str) -> Response:
    """A holder's right on one record (withdraw, erase): done at the ledger, then the history
    with its notice; a refusal shows on the history page in the holder's words."""
    _form, lang = await form_of(request)
    wallet = await opened(request)
    if wallet is None:
        return locked(request, lang)
    ctx = context(request)
    try:
        async with flows.http_client(ctx.settings) as http:
            await right(ctx, wallet, http, record_id)
    except AmanaError as exc:
        return await _page(request, lang, wallet, exc.status, error_text(exc, lang))
    return RedirectResponse(f"/wallet/history?lang={lang}&notice={notice}", status_code=303)


@router.get("/history/export")
async def export(request: Request) -> Response:
    """Access and portability: the 27560 records and receipts, as a JSON file."""
    wallet = await opened(request)
    if wallet is None:
        return locked(request, language(request))
    body = json.dumps(rights.export(wallet), ensure_ascii=False, indent=2)
    return Response(body, media_type="application/json", headers={
        "Content-Disposition": 'attachment; filename="consent-records.json"', "Cache-Control": "no-store"})
