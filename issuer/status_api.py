"""The status lists an issuer serves (Token Status List): each list at ``/status/{id}`` (what the
SD-JWT VC copies name) and at ``/issuers/{slug}/status/{number}`` (what a compact offline copy
names, 1-3 bytes in its QR; issuer.offline.list_ref).

Why two tokens per list: a status list token's ``sub`` must be the URI it was fetched from
(Token Status List section 5.1, and verifiers check it: verifier.resolve.read), so each URI has
its own signed token, both cached on the row and re-signed only when the list changed or the
token nears its end. Both carry the same bits: a revocation reaches both at once.
"""

from __future__ import annotations

import gzip
from typing import Annotated, Any

import cachetools
from fastapi import APIRouter, Depends, Header, Request, Response

from core.errors import NotAcceptable, NotFound, NotSupported
from core.http_cache import strong_etag, unchanged
from core.statuslist import MEDIA_TYPE as STATUS_MEDIA_TYPE
from core.statuslist import StatusList, accepts_gzip, accepts_token, sign_token
from issuer import metadata, store
from issuer.context import IssuerContext, get_context
from issuer.tables import StatusListRow


async def negotiated(request: Request) -> None:
    """Token Status List section 8.1's content negotiation (``core.statuslist.accepts_token``), and
    section 8.4's ``time``: this node keeps no past lists, and "If the Server does not support the
    additional query parameter, it SHOULD return a status code of 501" (a client that got today's
    list instead would have to notice by its iat)."""
    if "time" in request.query_params:
        raise NotSupported("historical resolution (time) is not supported: this node keeps only the current list")
    if not accepts_token(request.headers.get("accept")):
        raise NotAcceptable(f"the status list is served as {STATUS_MEDIA_TYPE} only")


router = APIRouter(dependencies=[Depends(negotiated)])
Ctx = Annotated[IssuerContext, Depends(get_context)]

STATUS_TTL_S = 900
STATUS_VALIDITY_S = 86400
# Section 8.1: the endpoint "SHOULD support the use of Cross-Origin Resource Sharing (CORS)", so
# that browser-based wallets and verifiers can read it. The lists are public and no request to
# them carries a cookie: any origin may read them, and their ETag.
CORS = {"Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": "ETag"}
PREFLIGHT = {**CORS, "Access-Control-Allow-Methods": "GET", "Access-Control-Allow-Headers": "If-None-Match",
             "Access-Control-Max-Age": "86400"}


# RFC 9110 section 9.1: HEAD with GET (a cache or client may check a list's ETag without its body);
# a route of its own, out of the OpenAPI document (one operation id per method and path).
@router.head("/status/{list_id}", include_in_schema=False)
@router.get("/status/{list_id}", tags=["status"], response_class=Response,
            responses={200: {"content": {STATUS_MEDIA_TYPE: {}}}})
async def status_list(list_id: str, ctx: Ctx, if_none_match: Annotated[str | None, Header()] = None,
                      accept_encoding: Annotated[str | None, Header()] = None) -> Response:
    """The signed ``statuslist+jwt``; re-compressed and re-signed only when the list changed."""
    now = ctx.now()
    async with ctx.transaction() as session:
        row = await store.status_list_row(session, list_id)
        if row is None:
            raise NotFound("no status list with this id")
        uri = f"{ctx.settings.public_base_url.rstrip('/')}/status/{list_id}"
        token_text = await _status_token(ctx, session, row, uri, now, numbered=False)
    return _status_response(token_text, if_none_match, accept_encoding)


MAX_LIST_NUMBER = 2**31 - 1  # issuer_status_lists.number is an SQL INTEGER (32 bits on PostgreSQL); lists count from 1


@router.head("/issuers/{slug}/status/{number}", include_in_schema=False)
@router.get("/issuers/{slug}/status/{number}", tags=["status"], response_class=Response,
            responses={200: {"content": {STATUS_MEDIA_TYPE: {}}}})
async def numbered_status_list(slug: str, number: int, ctx: Ctx,
                               if_none_match: Annotated[str | None, Header()] = None,
                               accept_encoding: Annotated[str | None, Header()] = None) -> Response:
    """The same list by its number in the organisation (what a compact offline copy names,
    issuer.offline.list_ref): a token of its own, whose ``sub`` is this URI."""
    if not 1 <= number <= MAX_LIST_NUMBER:  # beyond the column's integer: no list, not a driver's OverflowError
        raise NotFound("no status list with this number")
    now = ctx.now()
    async with ctx.transaction() as session:
        org = await store.org_by_slug(session, slug)
        row = None if org is None else await store.numbered_status_list_row(session, org.id, number)
        if row is None:
            raise NotFound("no status list with this number")
        uri = f"{metadata.issuer_url(ctx.settings.public_base_url, slug)}/status/{number}"
        token_text = await _status_token(ctx, session, row, uri, now, numbered=True)
    return _status_response(token_text, if_none_match, accept_encoding)


async def _status_token(ctx: IssuerContext, session: Any, row: StatusListRow, uri: str, now: int, *,
                        numbered: bool) -> str:
    """The cached token for ``uri`` (one per URI the list is served at), re-signed when stale."""
    prefix = "numbered_token" if numbered else "token"
    token, version, expires_at = (getattr(row, prefix), getattr(row, prefix + "_version"),
                                  getattr(row, prefix + "_expires_at"))
    # Stale once its ttl has passed, not near its exp: Token Status List section 12 has consumers
    # fetch again at iat + ttl, and a relying party with a freshness rule reads iat (section 8.3);
    # a token served twenty hours after its iat failed both (helper-67). One signature per list
    # and URI per ttl, on demand.
    if token is None or version != row.version or now >= expires_at - STATUS_VALIDITY_S + STATUS_TTL_S:
        key = await store.active_key(session, ctx.node, row.org_id)
        token = sign_token(StatusList(row.bits, bytearray(row.statuses)), uri=uri, key=key, now=now,
                           ttl=STATUS_TTL_S, exp=now + STATUS_VALIDITY_S)
        setattr(row, prefix, token)
        setattr(row, prefix + "_version", row.version)
        setattr(row, prefix + "_expires_at", now + STATUS_VALIDITY_S)
    return str(token)


@router.options("/status/{list_id}", include_in_schema=False)
@router.options("/issuers/{slug}/status/{number}", include_in_schema=False)
async def status_list_preflight() -> Response:
    """The CORS preflight a browser sends before a conditional GET (``If-None-Match``)."""
    return Response(status_code=204, headers=PREFLIGHT)


def _status_response(token_text: str, if_none_match: str | None, accept_encoding: str | None) -> Response:
    """The token, gzip-coded for a client that negotiates it (section 8.2: the response "SHOULD
    use Content-Encoding (such as gzip)"): the token's base64url text shrinks by about a quarter.
    Each coding is a representation of its own, with its own strong ETag (core.http_cache), and
    ``Vary`` names both headers that choose what is sent (``Accept`` decides 200 or 406). Not the
    app's whole traffic: pages carrying a CSRF token stay uncompressed (BREACH); these lists are
    public and echo nothing of the request."""
    coding = "gzip" if accepts_gzip(accept_encoding) else None
    body, etag = _representation(token_text, coding)
    headers = {"ETag": etag, "Cache-Control": f"public, max-age={STATUS_TTL_S}", "Vary": "Accept, Accept-Encoding",
               **CORS}
    if unchanged(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    if coding is not None:
        headers["Content-Encoding"] = coding
    return Response(body, media_type=STATUS_MEDIA_TYPE, headers=headers)


def _representation(token_text: str, coding: str | None) -> tuple[bytes, str]:
    """A token's bytes in ``coding`` and their tag."""
    if coding == "gzip":
        return _gzipped(token_text)
    identity = token_text.encode()
    return identity, strong_etag(identity)


# The gzip copies, bounded by their bytes rather than their number: a node serving more lists than
# a count-bounded cache held (64 did) compressed each list again at every fetch, round after round.
# A list's token is some hundreds of bytes while few of its entries are set, at most about 44 KB.
# Keyed by the token's signature (a new one for every token signed), not by its whole text, and
# each entry counted with what holds it (its key, its tag, the entry's objects: ENTRY_OVERHEAD), so
# that the budget is what the cache takes (helper-81 measured twice the gzip bytes, then the keys).
# Used from the event loop only: no lock.
GZIP_CACHE_BYTES = 8 * 2**20
ENTRY_OVERHEAD = 512
_gzip_cache: cachetools.LRUCache[str, tuple[bytes, str]] = cachetools.LRUCache(
    maxsize=GZIP_CACHE_BYTES, getsizeof=lambda entry: len(entry[0]) + ENTRY_OVERHEAD)


@cachetools.cached(_gzip_cache, key=lambda token_text: token_text.rpartition(".")[2])
def _gzipped(token_text: str) -> tuple[bytes, str]:
    """The gzip copy, made once per token: a list's token changes at most once per ttl, and a large
    list's takes about half a millisecond to compress. ``mtime=0``: the same token gives the same
    bytes."""
    identity = token_text.encode()
    return gzip.compress(identity, mtime=0), strong_etag(identity, "gzip")
