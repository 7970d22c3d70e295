"""The staff API (JSON, ``Authorization: Bearer <API key>``): create offers, list and change credentials.

Every query is scoped to the caller's organisation: staff of organisation A asking for a
credential of organisation B get 404, exactly as if it did not exist. Claims are checked
against the credential type before an offer exists; the PIN is returned once, here, and
never again.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Header, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from core import esco, qr, web
from core.credtypes import CredentialType
from core.direct_routes import direct
from core.errors import Forbidden, InvalidInput, NotFound, OAuthError, SentAlready
from core.openapi_errors import KEY_REFUSED
from core.web import JSONResponse
from issuer import classes, metadata, store
from issuer.context import IssuerContext, get_context
from issuer.issuance import BATCH_SIZE
from issuer.offers import DEFAULT_OFFER_TTL_S, REFERENCE_MAX, OfferState, offer_link, offer_page_link, offer_uri
from issuer.revocation import STATUS_NAMES, Action, StatusChangeRefused, StatusName
from issuer.tables import Organisation, Staff

router = APIRouter(prefix="/api/issuer", tags=["staff"], responses=KEY_REFUSED)
Ctx = Annotated[IssuerContext, Depends(get_context)]


async def current_staff(ctx: Ctx, authorization: Annotated[str | None, Header()] = None) -> tuple[Staff, Organisation]:
    key = web.bearer_token(authorization, "a staff API key")
    async with ctx.read() as db:
        found = await store.staff_and_org(db, ctx.node, key)
    if found is None:
        raise OAuthError("invalid_token", "unknown or revoked API key", status=401)
    return found


StaffDep = Annotated[tuple[Staff, Organisation], Depends(current_staff)]


class OfferCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str = Field(description="credential type name (SkillCertificate) or vct")
    claims: web.JsonObject
    batch_size: int = Field(default=1, ge=1, le=BATCH_SIZE, description="credentials the holder may fetch")
    language: str = Field(default="en", pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
    valid_days: int | None = Field(default=None, ge=1, le=3650,
                                   description="lifetime of the credentials (default: the node's setting)")
    reference: str | None = Field(default=None, min_length=1, max_length=REFERENCE_MAX,
                                  description="staff's own reference (a name, a case number): sealed at rest, "
                                              "shown in the credentials list, searchable")


class OfferPublic(BaseModel):
    offer_id: str
    offer_uri: str
    link: str = Field(description="openid-credential-offer:// link, for a wallet on the same device")
    qr_link: str = Field(description="the https link every QR of this offer carries (at qr_svg / qr_png): a camera "
                                     "app opens the offer page, a wallet reads its credential_offer_uri")
    pin: str = Field(description="the transaction code: show it to the holder once, apart from the QR")
    qr_svg: str
    qr_png: str
    expires_at: int
    reference: str | None = Field(default=None, description="staff's own reference, if the offer has one")


class CredentialPublic(BaseModel):
    id: str
    offer_id: str | None = Field(description="copies of one batch share it, and share their fate")
    reference: str | None
    vct: str
    status: StatusName
    issued_at: int
    expires_at: int
    holder_key_thumbprint: str


class StatusChanged(BaseModel):
    id: str
    status: StatusName
    copies: int = Field(description="the copies of its batch that took the status, this one included")


def allowed_type(ctx: IssuerContext, org: Organisation, name_or_vct: str) -> CredentialType:
    ctype = ctx.types.require(name_or_vct) if ":" in name_or_vct else ctx.types.by_name(name_or_vct)
    if ctype.vct not in org.vcts:
        raise Forbidden("this organisation may not issue that credential type")
    return ctype


async def new_offer(ctx: IssuerContext, session: Any, staff: Staff, org: Organisation, ctype: CredentialType,
                 claims: dict[str, Any], batch_size: int, language: str, now: int,
                 valid_days: int | None = None, reference: str | None = None) -> OfferPublic:
    offer, pin = await store.create_offer(
        session, ctx.node, org_id=org.id, config_id=ctype.name, claims=claims, batch_size=batch_size,
        language=language, staff_id=staff.id, now=now, ttl_s=DEFAULT_OFFER_TTL_S, valid_days=valid_days,
        reference=reference)
    url = metadata.issuer_url(ctx.settings.public_base_url, org.slug)
    uri = offer_uri(url, offer.id)
    api = f"{ctx.settings.public_base_url.rstrip('/')}/api/issuer/offers/{offer.id}"
    return OfferPublic(offer_id=offer.id, offer_uri=uri, link=offer_link(uri), qr_link=offer_page_link(url, offer.id),
                       pin=pin, qr_svg=f"{api}/qr.svg", qr_png=f"{api}/qr.png", expires_at=offer.expires_at,
                       reference=reference)


async def create_offer(ctx: IssuerContext, staff: Staff, org: Organisation, request: OfferCreate,
                       once: str | None = None) -> OfferPublic:
    """Shared by the API, the console and ``amana issuer offer``. ``once``: the console page's one-time
    value, spent in the same transaction as the offer is made (``spend_once``)."""
    ctype = allowed_type(ctx, org, request.type)
    ctype.check_issuance(request.claims)
    esco.check_claims(request.claims)  # a made-up skill URI is refused before anything is written
    if ctx.purge_due(ctx.now()):  # retention runs as staff work, no scheduler needed (issuer.context)
        async with ctx.transaction() as session:
            await store.purge_expired(session, ctx.now())
    async with ctx.unit() as db:
        await spend_once(ctx, db, staff, once)
        return await new_offer(ctx, db, staff, org, ctype, request.claims, request.batch_size, request.language,
                               ctx.now(), request.valid_days, request.reference)


FORM_KEPT_S = 86400  # how long a console page's one-time value is remembered: a reload a day later makes anew


async def spend_once(ctx: IssuerContext, db: Any, staff: Staff, once: str | None) -> None:
    """Spend a console page's one-time value inside the transaction that makes the offers: a page sent
    twice (a reload, a click after the first arrived) makes nothing the second time (helper-90), and a
    sending that failed (a refused row, a crash) spent nothing, so sending it again works (helper-93).
    Of two sendings at once, the second waits on the first's row and then finds it spent."""
    if once is not None and not await store.spend_form(db, ctx.node, staff.id, once, ctx.now() + FORM_KEPT_S):
        raise SentAlready()


class ClassCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str
    csv: str = Field(description="one row per trainee; the first row names the columns by claim path")
    defaults: web.JsonObject = Field(default_factory=dict, description="claims the same for the whole class")
    batch_size: int = Field(default=1, ge=1, le=BATCH_SIZE)
    language: str = Field(default="en", pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
    reference: str | None = Field(default=None, min_length=1, max_length=REFERENCE_MAX - 12,
                                  description="staff's reference for the class: a row without a 'reference' "
                                              "column of its own gets '<reference> #<N>' (the row's number)")


class ClassRowOffer(OfferPublic):
    row: int
    language: str


class RowProblem(BaseModel):
    """One thing to mend in a row, never its value: a client can word it in its own language."""

    where: str = Field(description="the claim path or column, empty for the row as a whole")
    rule: str = Field(description="what the cell breaks: required, one_of, date, integer, number, boolean, "
                                  "at_most_chars, esco, more_cells, ... (the console's console.rule.<rule>)")
    bound: str = Field(default="", description="the rule's limit, codes or kinds, as text")


class ClassRowError(BaseModel):
    row: int
    error: str = Field(description="the same in English")
    problems: list[RowProblem] = Field(default_factory=list)


class ClassPublic(BaseModel):
    offers: list[ClassRowOffer]
    errors: list[ClassRowError]


async def create_class(ctx: IssuerContext, staff: Staff, org: Organisation, request: ClassCreate,
                       once: str | None = None) -> ClassPublic:
    """Good rows become offers, all in one transaction; bad rows are reported and create nothing."""
    ctype = allowed_type(ctx, org, request.type)
    rows = classes.parse(request.csv, ctype, request.defaults, request.language)
    offers, errors, now = [], [], ctx.now()
    async with ctx.transaction() as session:
        await spend_once(ctx, session, staff, once)
        base = await _class_reference(ctx, session, org, request.reference, [r.number for r in rows if not r.reference])
        for row in rows:
            if row.claims is None:
                errors.append(ClassRowError(row=row.number, error=row.error or "invalid", problems=[
                    RowProblem(where=p.where, rule=p.rule, bound=p.bound) for p in row.problems]))
                continue
            reference = row.reference or (f"{base} #{row.number}" if base else None)
            offer = await new_offer(ctx, session, staff, org, ctype, row.claims, request.batch_size, row.language, now,
                                    reference=reference)
            offers.append(ClassRowOffer(**offer.model_dump(), row=row.number, language=row.language))
    return ClassPublic(offers=offers, errors=errors)


async def _class_reference(ctx: IssuerContext, session: Any, org: Organisation, reference: str | None,
                           numbers: list[int]) -> str | None:
    """The class's reference, made unique: a second class under the same reference (the refused rows
    of the first, mended and sent again, as the console advises) is "<reference> (2)", so that its
    "#2" is not another trainee's "#2" (helper-94: two people under one reference, and a revoke or a
    new sheet could take the wrong one). References are sealed, so each is found by its digest."""
    if not reference or not numbers:
        return reference
    for tried in (reference, *(f"{reference} ({n})" for n in range(2, 21))):
        if not await store.references_taken(session, ctx.node, org.id, [f"{tried} #{n}" for n in numbers]):
            return tried
    return reference  # twenty classes under one name: told apart by their dates


@router.post("/classes", status_code=201)
async def post_class(body: ClassCreate, ctx: Ctx, who: StaffDep, response: Response) -> ClassPublic:
    response.headers["Cache-Control"] = "no-store"  # it carries every row's PIN
    return await create_class(ctx, who[0], who[1], body)


@router.post("/offers", status_code=201, response_model=OfferPublic)
@direct
async def post_offer(body: OfferCreate, ctx: Ctx, who: StaffDep) -> JSONResponse:
    made = await create_offer(ctx, who[0], who[1], body)
    # it carries the PIN, shown once: no cache may keep it
    return JSONResponse(made.model_dump(mode="json"), status_code=201, headers={"Cache-Control": "no-store"})


@router.get("/offers/{offer_id}/qr.{kind}", response_class=Response,
            responses={200: {"content": {"image/svg+xml": {}, "image/png": {}}}})
async def offer_qr(offer_id: str, kind: Literal["svg", "png"], ctx: Ctx, who: StaffDep) -> Response:
    async with ctx.transaction() as session:
        offer = await store.offer_by_id(session, offer_id)
    if offer is None or offer.org_id != who[1].id or offer.state != OfferState.OFFERED:
        raise NotFound("no open offer with this id")
    link = offer_page_link(metadata.issuer_url(ctx.settings.public_base_url, who[1].slug), offer.id)
    headers = {"Cache-Control": "no-store"}
    if kind == "svg":
        return Response(qr.svg(link, standalone=True), media_type="image/svg+xml", headers=headers)
    return Response(qr.png(link), media_type="image/png", headers=headers)


def page_cursor(text: str | None) -> tuple[int, str] | None:
    """A page's ``next`` cursor (``<time>.<id>``, the last row shown) back to its parts."""
    if text is None:
        return None
    issued_at, _, last_id = text.partition(".")
    if not (issued_at.isascii() and issued_at.isdigit()) or not 0 < len(last_id) <= 36 or len(issued_at) > 12:
        raise InvalidInput("after must be the 'next' cursor of a previous page")
    return int(issued_at), last_id


async def credentials_listing(ctx: IssuerContext, org: Organisation, *, after: str | None = None, limit: int = 100,
                              reference: str | None = None,
                              first_of_batch: bool = False) -> tuple[list[CredentialPublic], str | None]:
    """One page of the organisation's credentials and the cursor of the next page (None: the
    last page). Shared by the API and the console, so both page and search the same way (the
    console by batch: ``first_of_batch``)."""
    async with ctx.transaction() as session:
        offer_ids = None
        if reference is not None:
            offer_ids = [o.id for o in await store.offers_by_reference(session, ctx.node, org.id, reference)]
        rows = await store.credentials_page(session, org.id, after=page_cursor(after), limit=limit, offer_ids=offer_ids,
                                            first_of_batch=first_of_batch)
    cursor = f"{rows[-1][0].issued_at}.{rows[-1][0].id}" if len(rows) == limit else None
    return [CredentialPublic(id=r.id, offer_id=r.offer_id, reference=store.offer_reference(ctx.node, r.offer_id or "",
                                                                                          sealed),
                             vct=r.vct, status=STATUS_NAMES[r.status],
                             issued_at=r.issued_at, expires_at=r.expires_at, holder_key_thumbprint=r.holder_thumbprint)
            for r, sealed in rows], cursor


@router.get("/credentials")
async def list_credentials(
    ctx: Ctx, who: StaffDep, response: Response,
    after: Annotated[str | None, Query(max_length=64, description="the previous page's next cursor")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    reference: Annotated[str | None, Query(max_length=REFERENCE_MAX, description="the offer's staff reference")] = None,
) -> list[CredentialPublic]:
    """Every credential of the organisation, newest first, page by page: a ``Link: <…>; rel="next"``
    header (RFC 8288) names the next page while there is one. ``reference`` finds one person's."""
    listed, cursor = await credentials_listing(ctx, who[1], after=after, limit=limit, reference=reference)
    if cursor is not None:
        query = urlencode({k: v for k, v in (("after", cursor), ("limit", limit), ("reference", reference))
                           if v is not None})
        response.headers["Link"] = f'</api/issuer/credentials?{query}>; rel="next"'
    return listed


async def change_status(ctx: IssuerContext, org: Organisation, credential_id: str, action: Action) -> StatusChanged:
    """The credential and every copy of its batch (``copies`` counts them: staff see the batch went too)."""
    try:
        async with ctx.transaction() as session:
            status, copies = await store.change_status(session, org.id, credential_id, action, ctx.now())
    except LookupError:
        raise NotFound("no credential with this id") from None
    except StatusChangeRefused:
        raise
    return StatusChanged(id=credential_id, status=STATUS_NAMES[status], copies=copies)


@router.post("/credentials/{credential_id}/{action}")
async def post_status(credential_id: str, action: Action, ctx: Ctx, who: StaffDep) -> StatusChanged:
    return await change_status(ctx, who[1], credential_id, action)
