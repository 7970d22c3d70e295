"""What the staff console lists: issued credentials (page by page, found by reference, a batch's
copies as one row) and offers not yet collected. Built on the same use cases as the staff
API (staff_api.credentials_listing, offer_admin.open_offers), so the two never disagree.

Issue 10: the list showed identical rows (type, dates, status), so staff could not tell whose
credential they were revoking, and offers not yet collected were not listed at all. helper-90: a
batch's copies (one per office the holder shows it to) were a row each, "copy 2 of 3" with its own
Revoke button, when a status change acts on the whole batch; now the batch is one row.
"""

from __future__ import annotations

import time
from typing import Any

from core.errors import NotFound
from issuer import offer_admin, store
from issuer.context import IssuerContext
from issuer.revocation import STATUS_NAMES
from issuer.staff_api import credentials_listing
from issuer.tables import Organisation

PAGE_SIZE = 50
ACTIONS = {"valid": ("suspend", "revoke"), "suspended": ("reinstate", "revoke"), "revoked": ()}


def day(epoch: int) -> str:
    """YYYY-MM-DD for now (a later issue localises dates); templates wrap it in ``<bdi dir="ltr">``."""
    return time.strftime("%Y-%m-%d", time.gmtime(epoch))


Span = tuple[int, int, int]  # a batch's copies, first issue and last expiry (store.batch_spans)


async def _spans(ctx: IssuerContext, org: Organisation, offer_ids: set[str]) -> dict[str, Span]:
    async with ctx.transaction() as session:
        return await store.batch_spans(session, org.id, sorted(offer_ids))


def _row(ctx: IssuerContext, lang: str, cid: str, vct: str, status: str, issued: int, expires: int,
         reference: str | None, span: Span | None) -> dict[str, Any]:
    """A credential's row, for its whole batch: the copies share one status (``store.change_status``
    changes them all), the batch's first issue and last expiry."""
    copies, first, last = span or (1, issued, expires)
    return {"id": cid, "type_name": ctx.types.require(vct).display_name(lang), "reference": reference,
            "copies": copies, "issued": day(first), "expires": day(last), "status": status,
            "actions": ACTIONS[status]}


async def credentials(ctx: IssuerContext, org: Organisation, lang: str, *, after: str | None = None,
                      reference: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
    """One page of rows for the table and the cursor of the next page (None: no more): a batch once,
    by its first copy (the store pages by batch, so a page is never a batch's later copies only)."""
    listed, cursor = await credentials_listing(ctx, org, after=after, limit=PAGE_SIZE, reference=reference,
                                               first_of_batch=True)
    spans = await _spans(ctx, org, {c.offer_id for c in listed if c.offer_id})
    return [_row(ctx, lang, c.id, c.vct, c.status, c.issued_at, c.expires_at, c.reference,
                 spans.get(c.offer_id or "")) for c in listed], cursor


async def credential(ctx: IssuerContext, org: Organisation, lang: str, credential_id: str) -> dict[str, Any]:
    """One credential as the confirmation page names it; another organisation's is not found."""
    async with ctx.transaction() as session:
        found = await store.credential_with_reference(session, org.id, credential_id)
    if found is None:
        raise NotFound("no credential with this id")
    row, sealed = found
    spans = await _spans(ctx, org, {row.offer_id} if row.offer_id else set())
    return _row(ctx, lang, row.id, row.vct, STATUS_NAMES[row.status], row.issued_at, row.expires_at,
                store.offer_reference(ctx.node, row.offer_id or "", sealed), spans.get(row.offer_id or ""))


def _offer_row(ctx: IssuerContext, lang: str, o: offer_admin.OpenOffer) -> dict[str, Any]:
    return {"id": o.offer_id, "type": o.type, "type_name": ctx.types.by_name(o.type).display_name(lang),
            "reference": o.reference, "state": o.state.value, "language": o.language,
            "created": day(o.created_at), "expires": day(o.expires_at)}


async def open_offers(ctx: IssuerContext, org: Organisation, lang: str, *, after: str | None = None,
                      reference: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the offers not yet collected (offered, redeemed, locked; not expired), newest
    first, and the next page's cursor; ``reference`` (the find box) finds one person's."""
    listed, cursor = await offer_admin.open_offers(ctx, org, after=after, limit=PAGE_SIZE, reference=reference)
    return [_offer_row(ctx, lang, o) for o in listed], cursor


async def open_offer(ctx: IssuerContext, org: Organisation, lang: str, offer_id: str) -> dict[str, Any]:
    """Any open offer by its id (the confirmation and new-sheet pages), wherever it is listed."""
    return _offer_row(ctx, lang, await offer_admin.open_offer(ctx, org, offer_id))
