"""The verifier's endpoints: the desk API (``/api/verifier``, ``Authorization: Bearer`` desk key)
and the two OpenID4VP endpoints a wallet calls (request object, ``direct_post`` response)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from core import web
from core.direct_routes import direct
from core.errors import NotFound, OAuthError
from core.oid4vc import REQUEST_TYP
from core.openapi_errors import KEY_REFUSED, oauth, problem
from core.web import JSONResponse
from verifier import checks, consent_records, results, store
from verifier.context import VerifierContext, get_context
from verifier.requests import Prefix

router = APIRouter()
Ctx = Annotated[VerifierContext, Depends(get_context)]
NO_STORE = {"Cache-Control": "no-store"}


async def desk(ctx: Ctx, authorization: Annotated[str | None, Header()] = None) -> str:
    """The desk key in force that asks, by its digest (what a check records as its desk)."""
    digest = store.desk_digest(ctx.node, web.bearer_token(authorization, "a desk key"))
    async with ctx.read() as db:
        known = await store.desk_active(db, digest)
    if not known:
        raise OAuthError("invalid_token", "unknown or revoked desk key", status=401)
    return digest


class CheckCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str | None = Field(default=None, description="a named query from specs/queries, e.g. right-to-work")
    dcql_query: web.JsonObject | None = Field(default=None, description="or a DCQL query of your own")
    purpose: str | None = Field(default=None, description="DPV purpose (required with dcql_query)")
    parameters: dict[str, str] = Field(default_factory=dict, description=(
        "values for the named query's parameters, e.g. skill-check's {\"skill\": an ESCO skill URI}: only a "
        "credential with that value answers (a DCQL claims values filter)"))
    client_id_prefix: Prefix = Prefix.X509_HASH
    response_mode: Literal["direct_post", "direct_post.jwt"] | None = Field(
        default=None, description="direct_post.jwt: the answer encrypted to a key made for this check "
        "(OpenID4VP 1.0 section 8.3); absent: the named query's choice, else direct_post.jwt under x509_hash "
        "(the HAIP profile) and direct_post under decentralized_identifier")
    accept_unknown_status: bool = False


class CheckPublic(BaseModel):
    id: str
    link: str = Field(description="openid4vp:// link carrying only client_id and request_uri")
    qr_link: str = Field(description="what the QR code carries: an https page of this node with the same two "
                         "parameters, which a wallet reads and a phone's camera app opens (OpenID4VP, "
                         "Wallet Invocation)")
    qr_svg: str = Field(description="where its QR code is drawn, as an SVG (GET with the desk key)")
    qr_png: str = Field(description="where the same QR code is drawn, as a PNG")
    expires_at: int
    result_key: str = Field(description="keep it: the result is sealed to it and shown once")


class ResultRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    result_key: str
    close: bool = False  # take a hint (a decline, an answer in which nothing held) as the result now


@router.post("/api/verifier/checks", status_code=201, response_model=CheckPublic, tags=["desk"], responses=KEY_REFUSED)
@direct
async def create_check(body: CheckCreate, ctx: Ctx, asking: Annotated[str, Depends(desk)]) -> JSONResponse:
    created = await checks.create(ctx, query_name=body.query, custom=body.dcql_query, purpose=body.purpose,
                                  prefix=body.client_id_prefix, accept_unknown_status=body.accept_unknown_status,
                                  response_mode=body.response_mode, parameters=body.parameters, desk=asking)
    api = f"{ctx.settings.public_base_url.rstrip('/')}/api/verifier/checks/{created['id']}"
    public = CheckPublic(**created, qr_svg=f"{api}/qr.svg", qr_png=f"{api}/qr.png")
    return JSONResponse(public.model_dump(mode="json"), status_code=201)


@router.get("/api/verifier/checks/{check_id}/qr.{kind}", response_class=Response, dependencies=[Depends(desk)],
            tags=["desk"], responses={200: {"content": {"image/svg+xml": {}, "image/png": {}}},
                                      **KEY_REFUSED, 404: problem("no such check, or it is no longer open")})
async def check_qr(check_id: str, kind: Literal["svg", "png"], ctx: Ctx) -> Response:
    """The check's QR code, while the check is open (the holder scans it off the desk's screen)."""
    shown = await checks.reopen(ctx, check_id)
    if shown is None or shown["phase"] != "pending":  # answered or taken: its code leads nowhere now (helper-74)
        raise NotFound("no open check with this id")
    if kind == "svg":
        return Response(checks.qr_svg(shown, standalone=True), media_type="image/svg+xml", headers=NO_STORE)
    return Response(checks.qr_png(shown), media_type="image/png", headers=NO_STORE)


@router.post("/api/verifier/checks/{check_id}/result", dependencies=[Depends(desk)], tags=["desk"],
             responses=KEY_REFUSED)
@direct
async def check_result(check_id: str, body: ResultRequest, ctx: Ctx) -> JSONResponse:
    result = await results.take_result(ctx, check_id, body.result_key, close=body.close)
    if result is None:  # "declined": a hint came (checks.respond); a presentation may still come
        declined = await results.declined(ctx, check_id, body.result_key)
        return JSONResponse({"phase": "pending", "declined": declined}, status_code=202, headers=NO_STORE)
    return JSONResponse({"phase": "done", **result}, headers=NO_STORE)


@router.get("/api/verifier/audit", dependencies=[Depends(desk)], tags=["desk"], responses=KEY_REFUSED)
async def audit(ctx: Ctx) -> list[dict[str, Any]]:
    async with ctx.transaction() as session:
        return await store.audit_entries(session)


@router.get("/verifier/requests/{check_id}", response_class=Response, tags=["OpenID4VP"],
            responses={200: {"content": {f"application/{REQUEST_TYP}": {}}}})
@direct
async def request_object(check_id: str, ctx: Ctx) -> Response:
    """The signed Request Object behind the QR (RFC 9101 request_uri, GET)."""
    token = await checks.request_object(ctx, check_id)
    return Response(token, media_type=f"application/{REQUEST_TYP}", headers=NO_STORE)


@router.post("/verifier/responses/{check_id}", tags=["OpenID4VP"],
             responses={400: oauth("`invalid_request`: not pending, answered already, state or encryption wrong")})
@direct
async def direct_post(check_id: str, request: Request, ctx: Ctx) -> JSONResponse:
    """Response Mode direct_post (section 8.2): form-encoded vp_token and state, unknown fields ignored;
    or direct_post.jwt (section 8.3.1): the same inside a JWE in ``response``, to this check's key."""
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    await checks.respond(ctx, check_id, fields)
    return JSONResponse({}, headers=NO_STORE)


class Withdrawal(BaseModel):
    record_id: str = Field(max_length=64)


@router.post("/verifier/consent-withdrawals", status_code=202, tags=["consent"])
async def consent_withdrawal(body: Withdrawal, ctx: Ctx) -> dict[str, Any]:
    """The consent ledger's webhook: a holder withdrew; the verifier deletes and confirms."""
    return {"record_id": body.record_id, "confirmed": await consent_records.withdrawn(ctx, body.record_id)}
