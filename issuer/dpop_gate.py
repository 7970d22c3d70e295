"""The DPoP door of the token and credential endpoints: reads the ``DPoP`` header, has issuer.dpop
check the proof against the endpoint's public address, spends its ``jti`` through the store, and
compares the key with the token's binding. The routes in issuer.api call these three steps; the
rules themselves are in issuer.dpop (pure), the one write in store.spend_dpop_jti.

The endpoint's address is the one the metadata publishes (``public_base_url``), not the address
the request arrived at: behind a proxy the two differ, and the proof names what the wallet was
told. Nothing here logs: proofs, tokens, nonces and ``jti`` values are never written anywhere
but as keyed digests in the store.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Request

from core.db import Db
from issuer import dpop, store
from issuer.context import IssuerContext
from issuer.discovery import issuer_url


def endpoint(ctx: IssuerContext, slug: str, name: str) -> str:
    return f"{issuer_url(ctx, slug)}/{name}"


def next_nonce(ctx: IssuerContext, slug: str) -> str:
    return dpop.mint_nonce(ctx.node.digest, issuer_url(ctx, slug), ctx.now())


def presented(request: Request, ctx: IssuerContext, slug: str, name: str, *, access_token: str | None = None,
              at_resource: bool) -> dpop.Proof | None:
    """The checked proof of this request, None when it carries no ``DPoP`` header; more than one
    header is refused (RFC 9449 section 4.3, step 1)."""
    values = request.headers.getlist("dpop")
    if not values:
        return None
    scope, now, digest = issuer_url(ctx, slug), ctx.now(), ctx.node.digest
    nonce = dpop.mint_nonce(digest, scope, now)
    if len(values) > 1:
        raise dpop.refusal("invalid_dpop_proof", "one DPoP header per request", at_resource=at_resource, nonce=nonce)
    return dpop.check(values[0], method=request.method, uri=endpoint(ctx, slug, name), now=now,
                      nonce_fresh=lambda n: dpop.nonce_is_fresh(digest, scope, n, now), next_nonce=nonce,
                      access_token=access_token, at_resource=at_resource, clock_skew_s=ctx.settings.clock_skew_s)


async def spend(db: Db, ctx: IssuerContext, slug: str, name: str, proof: dpop.Proof, *,
                at_resource: bool) -> None:
    """Each proof once (section 11.1), in the request's transaction: a refusal later rolls it back."""
    if not await store.spend_dpop_jti(db, ctx.node, proof.jkt, endpoint(ctx, slug, name), proof.jti,
                                      proof.remember_until, ctx.now()):
        raise dpop.refusal("invalid_dpop_proof", "this DPoP proof was used already: make a new one",
                           at_resource=at_resource, nonce=next_nonce(ctx, slug))


@asynccontextmanager
async def spent_even_if_refused(ctx: IssuerContext, slug: str, name: str,
                                proof: dpop.Proof | None) -> AsyncIterator[None]:
    """Around a request whose transaction spends ``proof`` (``spend``): if the request is refused,
    the rollback takes the spend back, so the proof is spent again in a transaction of its own.
    RFC 9449 section 11.1 declines a ``jti`` seen before, whatever became of its request, and DPoP
    signs no body: a proof refused for a stale ``c_nonce`` and replayed with another body and key
    proof was answered with credentials bound to the replayer's key (helper-67). Only a refusal
    pays for the second transaction."""
    try:
        yield
    except Exception:
        if proof is not None:
            async with ctx.unit() as db:
                await store.spend_dpop_jti(db, ctx.node, proof.jkt, endpoint(ctx, slug, name), proof.jti,
                                           proof.remember_until, ctx.now())
        raise
