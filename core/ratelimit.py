"""A per-address rate limit on the public protocol endpoints (issue 11: 30 clients flooding
``POST /nonce`` cut a wallet from 208 to 15 flows per 10 s).

Token buckets, one per client address (core.web.client_address: forwarded addresses only
from configured proxies): ``rate`` requests a second on average, ``burst`` at once. A request
beyond that gets ``429`` with ``Retry-After`` (RFC 6585) before any work or database access.

Buckets live in the process, not the database: a limit is a brake, not a ledger, and
counting every request in the database would cost the very capacity it protects. With N
workers an address gets N times the rate; the memory is bounded (``max_keys``, least recently
seen dropped first). Staff sign-in and PINs have their own, exact limits in the database
(core.sessions, issuer.offers); this one only keeps a flood from starving everyone else.

Hand-written because it is twenty lines with no I/O; the libraries for it bring a storage
layer (Redis, memcached) this node does not want.
"""

from __future__ import annotations

import html
import time
from collections import OrderedDict
from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from core.encoding import json_dumps_compact
from core.errors import RateLimited


class TokenBuckets:
    """Pure: ``take(key, now)`` spends one token; 0.0 if allowed, else seconds until one is back."""

    def __init__(self, rate: float, burst: int, max_keys: int = 10_000) -> None:
        self.rate, self.burst, self.max_keys = rate, float(burst), max_keys
        self.buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, at)

    def take(self, key: str, now: float) -> float:
        tokens, at = self.buckets.pop(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - at) * self.rate)
        allowed = tokens >= 1.0
        self.buckets[key] = (tokens - 1.0 if allowed else tokens, now)
        while len(self.buckets) > self.max_keys:
            self.buckets.popitem(last=False)
        return 0.0 if allowed else (1.0 - tokens) / self.rate


class RateLimit:
    """ASGI middleware: the limit applies to requests ``limited(method, path)`` selects."""

    def __init__(self, app: ASGIApp, *, rate: float, burst: int, limited: Callable[[str, str], bool],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.app, self.limited, self.clock = app, limited, clock
        self.buckets = TokenBuckets(rate, burst)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.limited(scope["method"], scope["path"]):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        wait = self.buckets.take(client[0] if client else "?", self.clock())
        if not wait:
            await self.app(scope, receive, send)
            return
        body, media = _refusal(scope)
        await send({"type": "http.response.start", "status": 429, "headers": [
            (b"content-type", media), (b"content-length", str(len(body)).encode()),
            (b"retry-after", str(max(1, round(wait))).encode())]})
        await send({"type": "http.response.body", "body": body})


def _refusal(scope: Scope) -> tuple[bytes, bytes]:
    """A problem object for programs; for a person's browser (a form posted from a page), a page
    in their language: a wallet holder must not meet raw JSON."""
    headers = dict(scope.get("headers", []))
    if b"text/html" not in headers.get(b"accept", b""):
        problem = RateLimited("slow down and try again").problem()  # RFC 9457, as every other refusal
        return json_dumps_compact(problem).encode(), b"application/problem+json"
    from core import i18n

    cookies = headers.get(b"cookie", b"").decode("latin-1")
    chosen = next((c.split("=", 1)[1] for c in cookies.split("; ") if c.startswith("__Host-amana_lang=")), None)
    lang = i18n.pick(chosen, headers.get(b"accept-language", b"").decode("latin-1"))
    text = html.escape(i18n.t(lang, "console.too_many"))
    page = (f'<!doctype html><html lang="{i18n.bcp47(lang)}" dir="{i18n.direction(lang)}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{text}</title>'
            f'<link rel="stylesheet" href="/static/amana/amana.css"></head><body><main>'
            f'<p class="notice" role="alert">{text}</p></main></body></html>')
    return page.encode(), b"text/html; charset=utf-8"


def public_protocol_post(method: str, path: str) -> bool:
    """The unauthenticated or wallet-facing writes anyone can send: OpenID4VCI token, nonce and
    credential requests, OpenID4VP responses and request-object posts, and the wallet's pages
    (creating or unlocking a wallet costs an Argon2id run: 64 MiB and ~0.1 s each)."""
    if method != "POST":
        return False
    return path.startswith("/issuers/") or path.startswith("/verifier/responses/") or \
        path.startswith("/verifier/requests/") or path.startswith("/wallet/")


WALLET_DOORS = frozenset({"/wallet/new", "/wallet/unlock", "/wallet/recover", "/wallet/import"})


def wallet_door_post(method: str, path: str) -> bool:
    """The anonymous wallet posts that each cost a key derivation (Argon2id, 64 MiB, ~0.1 s or
    more): a budget of their own, far below the protocol's, so one address cannot make the
    node derive keys all day (or fill its database with wallets)."""
    return method == "POST" and path in WALLET_DOORS
