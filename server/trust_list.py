"""``GET /trust-list``: the signed trust list, as the governance operator last signed it.

The file (``amana trust sign``) is verified against the configured trust anchor before it
is served: a corrupted or foreign file is never published (503 instead). The response is
the JWT itself (``application/amana-trustlist+jwt``) with a strong ``ETag`` over its bytes,
``Last-Modified`` from its ``iat``, and ``Cache-Control`` letting caches keep it until its
``next_update`` (capped by ``trust_list_max_age_s``); a list past ``next_update`` is still
served, with ``no-cache``, because verifiers decide what to do with an expired list.
"""

from __future__ import annotations

import time
from email.utils import formatdate
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request, Response

from core.errors import AmanaError, TrustListUnavailable
from core.http_cache import strong_etag, unchanged
from core.keys import PublicKey, read_jwk
from core.settings import Settings, get_settings
from core.trust import MEDIA_TYPE, VerifiedTrustList, verify

router = APIRouter(tags=["trust"])


def published(settings: Settings, now: int) -> VerifiedTrustList:
    try:
        token = settings.trust_list_file.read_text(encoding="ascii")
        anchor = read_jwk(settings.trust_anchor_file)
        governance = [PublicKey.from_jwk(k) for k in anchor.get("keys", [])]
        return verify(token, governance_keys=governance, now=now, clock_skew_s=settings.clock_skew_s)
    except (OSError, UnicodeDecodeError, AmanaError) as exc:
        raise TrustListUnavailable("the operator has not signed a valid trust list yet") from exc


async def node_settings(request: Request) -> Settings:
    """The settings of the node serving the list (``server.app``), else the environment's."""
    chosen: Settings | None = getattr(request.app.state, "trust_list_settings", None)
    return chosen if chosen is not None else get_settings()


@router.get(
    "/trust-list",
    response_class=Response,
    responses={200: {"content": {MEDIA_TYPE: {}}, "description": "the signed trust list (JWT)"},
               304: {"description": "unchanged since the ETag given"},
               503: {"description": "no valid trust list published"}},
)
def get_trust_list(
    settings: Annotated[Settings, Depends(node_settings)],
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    now = int(time.time())
    verified = published(settings, now)
    content = verified.content
    etag = strong_etag(verified.token.encode())
    if verified.expired:
        cache = "no-cache"
    else:
        cache = f"public, max-age={min(content.next_update - now, settings.trust_list_max_age_s)}, must-revalidate"
    headers = {"ETag": etag, "Cache-Control": cache, "Last-Modified": formatdate(content.iat, usegmt=True)}
    if unchanged(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    return Response(verified.token, media_type=MEDIA_TYPE, headers=headers)
