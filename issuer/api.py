"""The issuer's protocol endpoints: OpenID4VCI 1.0 (pre-authorized code) and the status lists.

Routes parse, call the store and the pure domain modules, and return. Errors here are the
protocol's own (``OAuthError``: RFC 6749 section 5.2, RFC 6750 section 3, OpenID4VCI
section 8.3.1.2), everything else problem+json via core.web. Each request is one
transaction; the only thing committed alongside a refusal is a wrong-PIN count.

A wallet whose credential answer was lost (a crash between commit and response, a dropped
connection) may repeat the very same credential request (byte for byte, so the same proofs
and access token) within ``RETRY_WINDOW_S`` and gets the very same credentials, kept sealed
that long and no longer; anything else with a used token is refused as before (issue 11: 1 in
300 crashes stranded an offer). The pre-authorized code stays strictly single use (section
4.1.1): a lost token answer is mended by staff replacing the offer (issuer.offer_admin).

The token endpoint also takes ``grant_type=refresh_token`` (issuer.refresh): an access token
for one more batch of the same credential, which the credential endpoint issues with new status
indexes under the same offer, only while every copy of it is valid.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request, Response
from starlette.exceptions import HTTPException

from core import digits
from core.direct_routes import direct
from core.encoding import json_loads_strict
from core.errors import AmanaError, NotDigits, NotFound, OAuthError
from core.oid4vc import PRE_AUTHORIZED_GRANT
from core.openapi_errors import oauth
from core.web import JSONResponse
from issuer import authorization_details, dpop, dpop_gate, nonces, offline, refresh, store
from issuer.context import IssuerContext, get_context
from issuer.discovery import issuer_url, known_org_id, org_id_or_404
from issuer.issuance import PROOF_ALGS, distinct_keys, proofs_of, verify_proof
from issuer.minting import mint, refill_ahead
from issuer.offers import (
    RETRY_WINDOW_S,
    OfferState,
    RedeemAttempt,
    access_token_ttl_s,
    credential_offer,
    grant_usable,
    redeem,
)
from issuer.refresh import REFRESH_GRANT

router = APIRouter()
Ctx = Annotated[IssuerContext, Depends(get_context)]
# RFC 6749 section 5.1: a response with tokens "MUST include ... Cache-Control ... no-store ... as well
# as the Pragma response header field with a value of no-cache" (for HTTP/1.0 caches on the way).
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


@router.get("/issuers/{slug}/offers/{offer_id}", tags=["OpenID4VCI"])
@direct
async def get_offer(slug: str, offer_id: str, ctx: Ctx) -> JSONResponse:
    """The Credential Offer object behind an ``openid-credential-offer://`` QR (section 4.1.3)."""
    async with ctx.read() as db:
        offer = await store.offer_at(db, slug, offer_id)
    if offer is None or offer.state != OfferState.OFFERED or ctx.now() >= offer.expires_at:
        raise NotFound("this offer is unknown, used or expired")
    body = credential_offer(issuer_url(ctx, slug), offer.config_id, store.offer_code(ctx.node, offer.id),
                            language=offer.language,
                            compact=offline.has_compact_form(ctx.types.by_name(offer.config_id).vct))
    return JSONResponse(body, headers=NO_STORE)


@router.post("/issuers/{slug}/token", tags=["OpenID4VCI"], responses={
    400: oauth("OpenID4VCI 1.0 §6.3 and RFC 6749 §5.2: `invalid_grant` (with `tx_code_tries_left` after a wrong "
               "PIN), `invalid_request`, `unsupported_grant_type`, `invalid_dpop_proof`, `use_dpop_nonce`")})
@direct
async def token(slug: str, request: Request, ctx: Ctx) -> JSONResponse:
    """Pre-authorized code + tx_code → access token (sections 6.1-6.3), with a refresh token when
    the node gives them; or a refresh token → access token and the next refresh token (RFC 6749
    section 6, issuer.refresh). Unknown parameters ignored."""
    proof = dpop_gate.presented(request, ctx, slug, "token", at_resource=False)  # before anything is counted
    async with dpop_gate.spent_even_if_refused(ctx, slug, "token", proof):  # whatever refuses it, its shape too
        try:
            form = await request.form()
        except HTTPException as exc:  # Starlette's refusal of a body it cannot read as a form (helper-69)
            if exc.status_code != 400:  # too large (core.web): refused as such
                raise
            raise OAuthError("invalid_request", "the body is not a form this endpoint reads") from exc
        return await _grant(ctx, slug, form, proof)


async def _grant(ctx: IssuerContext, slug: str, form: Any, proof: dpop.Proof | None) -> JSONResponse:
    client_id = form.get("client_id")
    client_id = client_id if isinstance(client_id, str) and client_id else None
    if form.get("grant_type") == REFRESH_GRANT:
        presented = form.get("refresh_token")
        if not isinstance(presented, str) or not presented:
            raise OAuthError("invalid_request", "refresh_token is required")
        return await _refresh(ctx, slug, presented, client_id, proof)
    if not form.get("grant_type"):  # RFC 6749 section 5.2: a required parameter missing (or a body not a form)
        raise OAuthError("invalid_request", "grant_type is required, in an application/x-www-form-urlencoded body")
    if form.get("grant_type") != PRE_AUTHORIZED_GRANT:
        raise OAuthError("unsupported_grant_type", "only the pre-authorized code and refresh token grants")
    code, pin = form.get("pre-authorized_code"), form.get("tx_code")
    if not isinstance(code, str) or not code or (pin is not None and not isinstance(pin, str)):
        raise OAuthError("invalid_request", "pre-authorized_code is required")
    asked = authorization_details.requested(form.get("authorization_details"))
    now, days, jkt = ctx.now(), ctx.settings.refresh_token_days, None if proof is None else proof.jkt
    async with ctx.unit() as db:
        if proof is not None:
            await dpop_gate.spend(db, ctx, slug, "token", proof, at_resource=False)
        offer = await store.offer_by_code(db, ctx.node, code, slug)
        # Before the PIN is judged: a request naming a configuration not offered counts nothing.
        details = None if asked is None or offer is None else authorization_details.granted(
            asked, _offered(ctx, offer.config_id))
        attempt = None if offer is None else RedeemAttempt(
            OfferState(offer.state), offer.expires_at, offer.pin_digest, offer.pin_failures)
        pin_digest = None if pin is None or offer is None else store.pin_digest(ctx.node, offer.id, _typed_pin(pin))
        outcome = redeem(attempt, pin_digest, now)
        if offer is not None:
            await store.redeemed(db, offer, outcome.state, outcome.pin_failures)
        body: dict[str, Any] = {}
        if outcome.error is None and offer is not None:
            claims = json.dumps(store.offer_claims(ctx.node, offer)).encode()
            ttl = access_token_ttl_s(proof is not None)
            body = {"access_token": await store.new_access_token(db, ctx.node, offer.id, now, ttl,
                                                                 offline_claims=claims, dpop_jkt=jkt),
                    "token_type": _token_type(proof), "expires_in": ttl}
            if details is not None:
                body["authorization_details"] = details
            if days:
                body["refresh_token"] = await store.new_refresh_family(
                    db, ctx.node, offer=offer, client_id=client_id, now=now,
                    expires_at=refresh.family_expiry(now, days), dpop_jkt=jkt)
    if outcome.error is not None:
        raise outcome.error  # after the commit: a wrong PIN is counted
    return JSONResponse(body, headers=_headers(ctx, slug, proof))


def _offered(ctx: IssuerContext, config_id: str) -> list[str]:
    """The configuration ids an offer's Credential Offer lists (issuer.offers.credential_offer)."""
    compact = offline.has_compact_form(ctx.types.by_name(config_id).vct)
    return [config_id, *([offline.config_id(config_id)] if compact else [])]


def _token_type(proof: dpop.Proof | None) -> str:
    """RFC 9449 section 5: bound to the proof's key when the client sent one, else Bearer."""
    return "Bearer" if proof is None else "DPoP"


def _headers(ctx: IssuerContext, slug: str, proof: dpop.Proof | None) -> dict[str, str]:
    """``no-store``, and for a DPoP client the next nonce (RFC 9449 section 8.2), saving it a retry."""
    return NO_STORE if proof is None else {**NO_STORE, "DPoP-Nonce": dpop_gate.next_nonce(ctx, slug)}


async def _refresh(ctx: IssuerContext, slug: str, presented: str, client_id: str | None,
                   proof: dpop.Proof | None) -> JSONResponse:
    """One refresh grant, one transaction; a family revoked for reuse stays revoked (committed
    before the refusal is raised). With a DPoP proof the new access token is bound to its key; a
    family whose code was redeemed with one is bound to that key, and a refresh without a proof by
    it is refused (RFC 9449 section 5, issuer.refresh.judge)."""
    now = ctx.now()
    client_digest = None if client_id is None else ctx.node.digest("client-id", client_id)
    async with ctx.transaction() as session:
        org = await store.org_by_slug(session, slug)
        if proof is not None:
            await dpop_gate.spend(session, ctx, slug, "token", proof, at_resource=False)
        found = None if org is None else await store.refresh_family(session, ctx.node, org.id, presented)
        decision = refresh.judge(None if found is None else found[1], client_digest, now,
                                 None if proof is None else proof.jkt)
        rotated = None
        if found is not None and decision.verdict is refresh.Verdict.REVOKE:
            await store.revoke_families(session, now, family_id=found[0].id)
        elif found is not None and decision.verdict is refresh.Verdict.GRANT:
            rotated = await store.rotate_refresh(session, ctx.node, found[0], presented, now)
            if rotated is None:  # spent by a request that raced this one: a second use after all
                await store.revoke_families(session, now, family_id=found[0].id)
        body: dict[str, Any] = {}
        if found is not None and rotated is not None:
            successor, claims = rotated
            ttl = access_token_ttl_s(proof is not None)
            access = await store.new_access_token(session, ctx.node, found[0].offer_id, now, ttl,
                                                  family_id=found[0].id, claims=claims, offline_claims=claims,
                                                  dpop_jkt=None if proof is None else proof.jkt)
            body = {"access_token": access, "token_type": _token_type(proof), "expires_in": ttl,
                    "refresh_token": successor}
    if decision.error is not None:
        raise decision.error
    if not body:
        raise OAuthError("invalid_grant", refresh.UNKNOWN)
    return JSONResponse(body, headers=_headers(ctx, slug, proof))


def _typed_pin(tx_code: str) -> str:
    """The PIN as the holder typed it into a wallet that sends what was typed: native digits
    (``۹۶۶ ۲۶۴``) become ASCII, spaces go. Our PINs are digits (``input_mode`` numeric), so
    anything else cannot be the PIN: it is compared as it came and counts as a wrong one."""
    try:
        return digits.ascii_digits(tx_code)
    except NotDigits:
        return tx_code


@router.post("/issuers/{slug}/nonce", tags=["OpenID4VCI"])
@direct
async def nonce(slug: str, ctx: Ctx) -> JSONResponse:
    """Section 7: a fresh ``c_nonce``, bound to this organisation, stored nowhere (issuer.nonces)."""
    org_id = await org_id_or_404(ctx, slug)
    return JSONResponse({"c_nonce": nonces.mint(ctx.node.digest, org_id, ctx.now())}, headers=NO_STORE)


@router.post("/issuers/{slug}/credential", tags=["OpenID4VCI"], responses={
    400: oauth("OpenID4VCI 1.0 §8.3.1.2: `invalid_credential_request`, `invalid_proof`, `invalid_nonce`, "
               "`unknown_credential_configuration`, `unknown_credential_identifier`, `credential_request_denied`"),
    401: oauth("RFC 6750 §3 and RFC 9449 §7.1: `invalid_token`, `invalid_dpop_proof`, `use_dpop_nonce`")})
@direct
async def credential(
    slug: str, request: Request, ctx: Ctx, authorization: Annotated[str | None, Header()] = None
) -> Response:
    """One credential per key proof (sections 8.1-8.3), all in one transaction; a DPoP-bound
    token with its proof (RFC 9449 section 7, issuer.dpop), a Bearer token as such."""
    scheme, access_token = dpop.authorization(authorization)
    proof = None if scheme == "bearer" else dpop_gate.presented(request, ctx, slug, "credential",
                                                                access_token=access_token, at_resource=True)
    if scheme == "dpop" and proof is None:
        raise dpop.refusal("invalid_dpop_proof", "a DPoP token needs a DPoP proof", at_resource=True,
                           nonce=dpop_gate.next_nonce(ctx, slug))
    async with dpop_gate.spent_even_if_refused(ctx, slug, "credential", proof):  # its refusals too
        raw = await request.body()
        try:
            body = json_loads_strict(raw, "Credential Request")
        except AmanaError as exc:
            raise OAuthError("invalid_credential_request", exc.detail) from exc
        if not isinstance(body, dict):
            raise OAuthError("invalid_credential_request", "the Credential Request must be a JSON object")
        now, url, request_digest = ctx.now(), issuer_url(ctx, slug), hashlib.sha256(raw).hexdigest()
        compact_of = offline.base_of(_asked(body))
        purpose = store.SD_JWT_GRANT if compact_of is None else store.OFFLINE_GRANT
        if ctx.forget_due(now):  # in its own transaction: a refused request must not take it back
            async with ctx.transaction() as session:
                await store.forget_responses(session, now)
                await store.forget_spent_nonces(session, now)
        org_id = await known_org_id(ctx, slug)  # before the unit: its own read (None: an unknown slug)
        with ctx.statuses.refill() as refill:  # issuer.status_reserve
            async with ctx.unit() as db:
                if proof is not None:
                    await dpop_gate.spend(db, ctx, slug, "credential", proof, at_resource=True)
                granted = await store.use_access_token(db, ctx.node, access_token, now, purpose)
                if granted is None:  # used already: by this very request, whose answer was lost?
                    kept = await store.kept_response(db, ctx.node, access_token, request_digest, now,
                                                     RETRY_WINDOW_S, purpose,
                                                     dpop_jkt=None if proof is None else proof.jkt)
                    if kept is not None:
                        return Response(kept, media_type="application/json", headers=_headers(ctx, slug, proof))
                offer = None if granted is None else granted.offer
                if granted is None or offer is None or offer.org_id != org_id or not grant_usable(
                        OfferState(offer.state), offline=granted.offline, refresh=granted.family_id is not None):
                    raise OAuthError("invalid_token", "the access token is unknown, used or expired", status=401,
                                     scheme="Bearer" if proof is None else "DPoP")
                dpop.check_binding(granted.dpop_jkt, proof, next_nonce=lambda: dpop_gate.next_nonce(ctx, slug))
                _check_configuration(body, compact_of, offer.config_id)
                algs = offline.PROOF_ALGS if granted.offline else PROOF_ALGS
                skew = ctx.settings.clock_skew_s
                proofs = [verify_proof(p, audience=url, now=now, clock_skew_s=skew, algs=algs) for p in proofs_of(body)]
                distinct_keys(proofs)
                for nonce_value in {p.nonce for p in proofs}:
                    expires_at = nonces.expiry_if_genuine(ctx.node.digest, offer.org_id, nonce_value, now)
                    if expires_at is None or not await store.spend_nonce(db, ctx.node, nonce_value, expires_at):
                        raise OAuthError("invalid_nonce", "c_nonce unknown, used or expired: fetch a new one")
                # Section 8.3: an issuer may issue fewer credentials than keys; the offer says how many.
                credentials = await mint(ctx, db, granted, proofs[: offer.batch_size], now, url, refill)
                answer = JSONResponse({"credentials": [{"credential": c} for c in credentials]},
                                      headers=_headers(ctx, slug, proof))
                await store.keep_response(db, ctx.node, access_token, request_digest, bytes(answer.body),
                                          purpose)
            refill.committed()  # committed: the spare status indices taken may be handed out
    await refill_ahead(ctx, org_id)
    return answer


def _asked(body: dict[str, Any]) -> object:
    """What the Credential Request asks for: a ``credential_identifier`` (the Token Response's
    ``authorization_details`` named each dataset by its configuration id: issuer.authorization_details),
    else its ``credential_configuration_id``."""
    identifier = body.get("credential_identifier")
    return identifier if identifier is not None else body.get("credential_configuration_id")


def _check_configuration(body: dict[str, Any], compact_of: str | None, offered: str) -> None:
    """The Credential Request names the configuration offered, by its id or its identifier, not
    both (section 8.2)."""
    by_identifier = body.get("credential_identifier") is not None
    if by_identifier and "credential_configuration_id" in body:
        raise OAuthError("invalid_credential_request",
                         "credential_identifier and credential_configuration_id exclude each other")
    asked = _asked(body)
    if not isinstance(asked, str):  # 8.3.1.2: a required parameter missing
        raise OAuthError("invalid_credential_request", "credential_configuration_id is required")
    if (compact_of or asked) != offered:
        raise OAuthError("unknown_credential_identifier" if by_identifier else "unknown_credential_configuration",
                         "not the credential configuration offered")
