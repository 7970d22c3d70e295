"""Staff's hold on offers not yet collected: list them, cancel one, or replace one with a new
code and PIN (issue 10: a lost sheet could not be cancelled; issue 11: a holder stranded by a
lock or a lost answer had no way back). Shared by the staff API, the console and ``amana issuer``.

Replacing (``reoffer``) cancels the old offer — its QR and PIN stop working at once — and makes
a new one with the same claims, type, batch size, language and reference. It is possible while
the claims are still held: before the credentials were issued. After that, the holder has them,
or a retry of the same request within a minute gets them again (issuer.api); past that, staff
revoke and make a fresh offer.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel

from core.errors import NotFound
from core.openapi_errors import KEY_REFUSED
from issuer import store
from issuer.context import IssuerContext, get_context
from issuer.offers import REFERENCE_MAX, OfferState
from issuer.staff_api import OfferPublic, StaffDep, new_offer, page_cursor
from issuer.tables import Offer, Organisation, Staff

router = APIRouter(prefix="/api/issuer", tags=["staff"], responses=KEY_REFUSED)
Ctx = Annotated[IssuerContext, Depends(get_context)]


class OpenOffer(BaseModel):
    offer_id: str
    type: str
    reference: str | None
    state: OfferState
    language: str
    created_at: int
    expires_at: int


def _public(ctx: IssuerContext, o: Offer) -> OpenOffer:
    return OpenOffer(offer_id=o.id, type=o.config_id, reference=store.offer_reference(ctx.node, o.id,
                                                                                     o.sealed_reference),
                     state=OfferState(o.state), language=o.language, created_at=o.created_at,
                     expires_at=o.expires_at)


async def open_offers(ctx: IssuerContext, org: Organisation, *, after: str | None = None, limit: int = 100,
                      reference: str | None = None) -> tuple[list[OpenOffer], str | None]:
    """One page of the open offers, newest first, and the next page's cursor (None: the last
    page); ``reference`` finds one person's. Shared by the API, the console and ``amana issuer``."""
    digest = None if reference is None else store.reference_digest(ctx.node, org.id, reference)
    async with ctx.transaction() as session:
        offers = await store.open_offers(session, org.id, ctx.now(), after=page_cursor(after), limit=limit,
                                         reference_digest=digest)
    next_cursor = f"{offers[-1].created_at}.{offers[-1].id}" if len(offers) == limit else None
    return [_public(ctx, o) for o in offers], next_cursor


async def open_offer(ctx: IssuerContext, org: Organisation, offer_id: str) -> OpenOffer:
    """One open offer by its id, wherever it falls in the list."""
    async with ctx.transaction() as session:
        offer = await store.open_offer(session, org.id, offer_id, ctx.now())
    if offer is None:
        raise NotFound("no open offer with this id")
    return _public(ctx, offer)


async def cancel(ctx: IssuerContext, org: Organisation, offer_id: str) -> None:
    async with ctx.transaction() as session:
        if await store.cancel_offer(session, org.id, offer_id, ctx.now()) is None:
            raise NotFound("no open offer with this id")


async def reoffer(ctx: IssuerContext, staff: Staff, org: Organisation, offer_id: str) -> OfferPublic:
    """Cancel ``offer_id`` and make its replacement, in one transaction: both or neither."""
    now = ctx.now()
    async with ctx.transaction() as session:
        old = await store.offer_by_id(session, offer_id)
        if old is None or old.org_id != org.id or old.sealed_claims is None or now >= old.expires_at:
            raise NotFound("no open offer with this id")
        claims: dict[str, Any] = store.offer_claims(ctx.node, old)
        reference = store.offer_reference(ctx.node, old.id, old.sealed_reference)
        if await store.cancel_offer(session, org.id, offer_id, now) is None:
            raise NotFound("no open offer with this id")  # issued meanwhile: nothing to replace
        ctype = ctx.types.by_name(old.config_id)  # the replacement gets a full lifetime, as any new offer
        return await new_offer(ctx, session, staff, org, ctype, claims, old.batch_size, old.language, now,
                            old.valid_days, reference)


@router.get("/offers")
async def list_open_offers(
    ctx: Ctx, who: StaffDep, response: Response,
    after: Annotated[str | None, Query(max_length=64, description="the previous page's next cursor")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    reference: Annotated[str | None, Query(max_length=REFERENCE_MAX, description="the offer's staff reference")] = None,
) -> list[OpenOffer]:
    """Offers not yet collected (offered, redeemed without credentials, or locked by wrong PINs),
    newest first, page by page: a ``Link: <…>; rel="next"`` header names the next page while
    there is one. ``reference`` finds one person's."""
    listed, next_cursor = await open_offers(ctx, who[1], after=after, limit=limit, reference=reference)
    if next_cursor is not None:
        query = urlencode({k: v for k, v in (("after", next_cursor), ("limit", limit), ("reference", reference))
                           if v is not None})
        response.headers["Link"] = f'</api/issuer/offers?{query}>; rel="next"'
    return listed


@router.post("/offers/{offer_id}/cancel", status_code=204, response_class=Response)
async def post_cancel(offer_id: str, ctx: Ctx, who: StaffDep) -> Response:
    await cancel(ctx, who[1], offer_id)
    return Response(status_code=204)


@router.post("/offers/{offer_id}/reoffer", status_code=201)
async def post_reoffer(offer_id: str, ctx: Ctx, who: StaffDep, response: Response) -> OfferPublic:
    response.headers["Cache-Control"] = "no-store"  # a new PIN
    return await reoffer(ctx, who[0], who[1], offer_id)
