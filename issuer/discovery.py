"""Where a wallet finds the issuer's metadata (issuer.metadata builds the documents).

Two ways of forming a well-known address exist, and wallets in the field use both:

- **inserted** (``https://node/.well-known/<suffix>/issuers/<slug>``): what the specs require.
  OpenID4VCI 1.0 section 12.2.2 for ``openid-credential-issuer``, RFC 8414 section 3.1 for
  ``oauth-authorization-server`` and SD-JWT VC section 5 for ``jwt-vc-issuer`` all insert the
  suffix between host and path (RFC 8615 keeps ``/.well-known/`` at the root of the origin).
- **appended** (``https://node/issuers/<slug>/.well-known/<suffix>``): what OpenID Connect
  Discovery 1.0 section 4 defines for ``openid-configuration``, and what many clients do for
  every suffix: Sphereon's ``@sphereon/oid4vci-client`` and the Italian IT-Wallet's
  ``@pagopa/io-wallet-oid4vci`` both append, and got 404 (issue 18). RFC 8414 section 5 itself
  notes that deployments serve the appended ``openid-configuration`` beside the inserted form.

Being reachable matters more than being strict here: both forms answer with the very same
document (one function per document, so they cannot drift apart), and an unknown slug is 404
problem+json on every form. ``openid-configuration`` carries the authorization server's RFC 8414
metadata, which is what a wallet reads there (OpenID4VCI section 12.2.4).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from sqlalchemy import Row

from core.errors import NotFound
from issuer import metadata, store
from issuer.context import IssuerContext, get_context

router = APIRouter()
Ctx = Annotated[IssuerContext, Depends(get_context)]


async def org_or_404(ctx: IssuerContext, slug: str) -> Row[Any]:
    """The organisation at ``slug`` (read-only), or 404 problem+json (the same answer on every route)."""
    async with ctx.read() as db:
        org = await store.org_at(db, slug)
    if org is None:
        raise NotFound("no issuer at this address")
    return org


async def known_org_id(ctx: IssuerContext, slug: str) -> str | None:
    """The id of the organisation at ``slug``, None if there is none. Organisations are never
    deleted or renamed, so a slug names one id for good and a found one is remembered for the
    process (only found ones: a probe of made-up slugs fills nothing). The nonce endpoint then
    touches no database, and a credential request reads no organisation (issue 15)."""
    known = ctx.org_ids.get(slug)
    if known is None:
        async with ctx.read() as db:
            org = await store.org_at(db, slug)
        if org is None:
            return None
        known = ctx.org_ids[slug] = org.id
    return known


async def org_id_or_404(ctx: IssuerContext, slug: str) -> str:
    """``known_org_id``, or 404 as ``org_or_404``."""
    known = await known_org_id(ctx, slug)
    if known is None:
        raise NotFound("no issuer at this address")
    return known


def issuer_url(ctx: IssuerContext, slug: str) -> str:
    return metadata.issuer_url(ctx.settings.public_base_url, slug)


@router.get("/.well-known/openid-credential-issuer/issuers/{slug}", tags=["metadata"])
@router.get("/issuers/{slug}/.well-known/openid-credential-issuer", tags=["metadata"])
async def credential_issuer_metadata(slug: str, ctx: Ctx) -> dict[str, Any]:
    org = await org_or_404(ctx, slug)
    types = [ctx.types.require(vct) for vct in org.vcts]
    return metadata.credential_issuer(issuer_url(ctx, slug), org.names, types)


@router.get("/.well-known/oauth-authorization-server/issuers/{slug}", tags=["metadata"])
@router.get("/issuers/{slug}/.well-known/oauth-authorization-server", tags=["metadata"])
@router.get("/issuers/{slug}/.well-known/openid-configuration", tags=["metadata"])
async def authorization_server_metadata(slug: str, ctx: Ctx) -> dict[str, Any]:
    await org_or_404(ctx, slug)
    return metadata.authorization_server(issuer_url(ctx, slug), refresh=ctx.settings.refresh_token_days > 0)


@router.get("/.well-known/jwt-vc-issuer/issuers/{slug}", tags=["metadata"])
@router.get("/issuers/{slug}/.well-known/jwt-vc-issuer", tags=["metadata"])
async def jwt_vc_issuer_metadata(slug: str, ctx: Ctx) -> dict[str, Any]:
    org = await org_or_404(ctx, slug)
    async with ctx.transaction() as session:
        jwks = await store.published_keys(session, org.id, ctx.now())
    return metadata.jwt_vc_issuer(issuer_url(ctx, slug), jwks)
