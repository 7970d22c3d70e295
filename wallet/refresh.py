"""Fresh copies of a card with its issuer's refresh token (OpenID4VCI 1.0 "Refreshing Issued
Credentials"; RFC 6749 section 6). The decisions are in wallet.copies; this is the client.

Each step is its own vault write, so a crash never loses a live token:

1. the card's grant is claimed in the vault (``copies.claim``): two refreshes of one card at once
   would spend one token twice, and the issuer then revokes the whole family (RFC 9700 section
   4.14.2 — it cannot tell a second wallet from a thief);
2. ``grant_type=refresh_token`` gives an access token and the next refresh token, kept at once
   (the old one is dead from that moment);
3. a ``c_nonce`` and the batch, one new holder key per copy, each copy verified as on receipt
   (wallet.receive.fetch_batch) and checked to be one more copy of *this* card;
4. the new copies join the card.

An issuer that refuses the token (``invalid_grant``: expired, revoked, reused) ends the grant;
the card then warns like one that never had a token. An unreachable issuer changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

import httpx

from core import keys
from core.encoding import json_object_or_none
from core.errors import AmanaError
from wallet import copies, credential_request, dpop, holder, receive
from wallet.content import Contents, Copy, Refresh


class RefreshRefused(receive.IssuanceFailed):
    code = "refresh_refused"
    title = "The issuer no longer gives fresh copies of this card"


@dataclass(frozen=True, slots=True)
class Outcome:
    card_id: str
    fetched: int = 0
    error: str | None = None  # the problem code, when nothing was fetched

    def to_dict(self) -> dict[str, Any]:
        return {"card": self.card_id, "fetched": self.fetched, "error": self.error}


class Rotated(NamedTuple):
    """What a refresh grant gave: an access token, the next refresh token (None: the issuer keeps the
    old one alive, RFC 6749 section 6 lets it), the Credential Dataset to ask for
    (wallet.receive.credential_identifier; None: the configuration), and the DPoP key the access
    token is bound to (None: a bearer token)."""

    access: str
    successor: str | None
    identifier: str | None
    dpop_key: keys.PrivateKey | None


async def rotate(http: httpx.AsyncClient, token_endpoint: str, refresh_token: str, configuration_id: str,
                 dpop_key: keys.PrivateKey | None = None, nonces: dpop.Nonces | None = None) -> Rotated:
    """The refresh grant, with a proof by the grant's DPoP key when it has one (RFC 9449 section 5: an
    issuer binds the refresh token to the key the code was redeemed with, and wants that proof)."""
    response = await dpop.post(http, token_endpoint, dpop_key, data={"grant_type": "refresh_token",
                                                                      "refresh_token": refresh_token}, nonces=nonces)
    if response.status_code == 400 and (json_object_or_none(response.content) or {}).get("error") == "invalid_grant":
        raise RefreshRefused("the issuer refused the refresh token: ask it for a new offer")
    body = await receive.json_body(response, "refresh")
    access, successor = body.get("access_token"), body.get("refresh_token")
    if not isinstance(access, str) or not access:
        raise receive.IssuanceFailed("refresh: no access token")
    bound = dpop_key is not None and str(body.get("token_type", "")).lower() == "dpop"
    return Rotated(access, successor if isinstance(successor, str) and successor else None,
                   credential_request.identifier(body, configuration_id), dpop_key if bound else None)


def grant_key(grant: Refresh) -> keys.PrivateKey | None:
    """The grant's DPoP key, as the vault keeps it (a private JWK), or None."""
    return None if grant.dpop_key is None else keys.PrivateKey.from_jwk(grant.dpop_key)


async def top_up(ctx: holder.WalletContext, opened: holder.Opened, http: httpx.AsyncClient,
                 cards: Iterable[str]) -> tuple[holder.Opened, list[Outcome]]:
    """Fetch fresh copies for each of ``cards`` that has a refresh grant; never raises for one card."""
    outcomes = []
    for card in cards:
        opened, outcome = await _one(ctx, opened, http, card)
        outcomes.append(outcome)
    return opened, outcomes


def _code(exc: Exception) -> str:
    return exc.code if isinstance(exc, AmanaError) else "fetch_failed"


def _back_to(grant: Refresh) -> dict[str, Any] | None:
    """The grant's own authorization server, as an offer's grant names one (OpenID4VCI section
    4.1.1, checked again against the issuer's list): the refresh token goes back where it came
    from, not to the issuer's first server (helper-67: another server refused it, and the grant
    was dropped for good)."""
    return None if grant.authorization_server is None else {"authorization_server": grant.authorization_server}


async def _one(ctx: holder.WalletContext, opened: holder.Opened, http: httpx.AsyncClient,
               card: str) -> tuple[holder.Opened, Outcome]:
    now = ctx.now()
    try:
        opened, grant = await holder.update(ctx, opened, lambda c: copies.claim(c, card, now))
    except copies.NotNow:
        return opened, Outcome(card, error="refresh_unavailable")
    try:
        meta, auth = await receive.issuer_metadata(http, grant.issuer, _back_to(grant))
        nonces: dpop.Nonces = {}
        access, successor, identifier, bound_to = await rotate(http, auth["token_endpoint"], grant.token,
                                                               grant.configuration_id, grant_key(grant), nonces)
    except RefreshRefused as exc:
        opened, _ = await holder.update(ctx, opened, lambda c: copies.rotated(c, card, grant.token, None))
        return opened, Outcome(card, error=exc.code)
    except (httpx.HTTPError, AmanaError, KeyError, ValueError) as exc:
        opened, _ = await holder.update(ctx, opened, lambda c: copies.released(c, card))
        return opened, Outcome(card, error=_code(exc))
    opened, _ = await holder.update(ctx, opened, lambda c: copies.rotated(c, card, grant.token,
                                                                         successor or grant.token))
    try:
        received = await receive.fetch_batch(http, grant.issuer, meta, grant.configuration_id, access,
                                             copies=grant.copies, types=ctx.types, identifier=identifier,
                                             dpop_key=bound_to, dpop_nonces=nonces)
    except (httpx.HTTPError, AmanaError, KeyError, ValueError) as exc:
        return opened, Outcome(card, error=_code(exc))
    held = opened.contents.batches().get(card, [])
    if not all(copies.same_credential(held, r.verified.vct, r.verified.issuer, r.verified.verified.claims)
               for r in received):
        return opened, Outcome(card, error="not_the_same_credential")
    now = ctx.now()
    new = [Copy.new(r.credential, r.holder_key.to_jwk(), r.verified.vct, r.verified.issuer, card, now,
                    r.verified.verified.claims.get("exp"), claims=r.verified.verified.claims) for r in received]

    def keep(contents: Contents) -> None:
        contents.copies.extend(new)

    opened, _ = await holder.update(ctx, opened, keep)
    return opened, Outcome(card, fetched=len(new))
