"""The console's changes to what was issued or offered: revoke, suspend, reinstate, cancel an
offer — each only after a confirmation page that names what will change — and a new sheet
for an offer not yet collected (issue 10: Revoke acted at once, on a row no one could tell
from its neighbours; a lost sheet could not be cancelled).

The first POST (the list's button) shows the confirmation page and changes nothing; only its
Confirm button, a POST carrying ``confirm=yes`` and a fresh CSRF token, acts. The same use
cases as the staff API and ``amana issuer`` do the work (staff_api.change_status,
offer_admin.cancel / reoffer).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from core import i18n
from core.errors import AmanaError
from issuer import console_lists, offer_admin
from issuer.context import IssuerContext, get_context
from issuer.pages import home_page, pin_slips, render, sheet, signed_in_form
from issuer.revocation import Action
from issuer.staff_api import allowed_type, change_status

router = APIRouter(prefix="/issuer/console", include_in_schema=False)
Ctx = Annotated[IssuerContext, Depends(get_context)]


@router.post("/credentials/{credential_id}/{action}", response_class=HTMLResponse)
async def credential_action(credential_id: str, action: Action, request: Request, ctx: Ctx) -> HTMLResponse:
    form, lang, who = await signed_in_form(request, ctx)
    try:
        if form.get("confirm") != "yes":
            named = await console_lists.credential(ctx, who[1], lang, credential_id)
            return render(ctx, request, "confirm.html", lang, staff=who[0], credential=named, action=action,
                          action_url=f"/issuer/console/credentials/{credential_id}/{action.value}")
        changed = await change_status(ctx, who[1], credential_id, action)
        # every copy of a batch takes the status together: said, as the confirmation warned
        message = i18n.t(lang, "console.done_copies", n=changed.copies) if changed.copies > 1 else i18n.t(
            lang, "console.done")
    except AmanaError as exc:
        message = exc.detail
    return await home_page(ctx, request, lang, who, message=message)


@router.post("/offers/{offer_id}/cancel", response_class=HTMLResponse)
async def cancel_offer(offer_id: str, request: Request, ctx: Ctx) -> HTMLResponse:
    form, lang, who = await signed_in_form(request, ctx)
    try:
        if form.get("confirm") != "yes":
            named = await console_lists.open_offer(ctx, who[1], lang, offer_id)
            return render(ctx, request, "confirm.html", lang, staff=who[0], offer=named, action="cancel_offer",
                          action_url=f"/issuer/console/offers/{offer_id}/cancel")
        await offer_admin.cancel(ctx, who[1], offer_id)
        message = i18n.t(lang, "console.offer_cancelled")
    except AmanaError as exc:
        message = exc.detail
    return await home_page(ctx, request, lang, who, message=message)


@router.post("/offers/{offer_id}/reoffer", response_class=HTMLResponse)
async def new_sheet(offer_id: str, request: Request, ctx: Ctx) -> HTMLResponse:
    """A new QR and PIN for the same claims; the old sheet stops working. Shown exactly as a new offer."""
    form, lang, who = await signed_in_form(request, ctx)
    try:
        old = await console_lists.open_offer(ctx, who[1], lang, offer_id)
        if form.get("confirm") != "yes":  # the sheet the person may hold stops working: asked first (helper-90)
            return render(ctx, request, "confirm.html", lang, staff=who[0], offer=old, action="reoffer",
                          action_url=f"/issuer/console/offers/{offer_id}/reoffer")
        ctype = allowed_type(ctx, who[1], old["type"])
        created = await offer_admin.reoffer(ctx, who[0], who[1], offer_id)
    except AmanaError as exc:
        return await home_page(ctx, request, lang, who, message=exc.detail)
    return render(ctx, request, "sheets.html", lang, staff=who[0], sheets=[sheet(created, old["language"], ctype,
                                                                                   who[1])],
                  errors=[], summary_key="console.new_sheet_done", pin_slips=pin_slips(form))
