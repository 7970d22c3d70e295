"""The one way Amana fetches from addresses that others choose (issuer keys, status lists).

An issuer's ``iss`` or a credential's ``status.status_list.uri`` is attacker-controlled
input; fetching it naively lets a presentation make the verifier call its own admin port
or a cloud metadata service (SSRF). So, written by hand on httpx/httpcore because no
library combines all of these:

- ``https`` only, and public addresses only, except in a node's local mode
  (``Settings.local_mode``: its own public URL is http on loopback), where http and
  loopback are allowed (``AddressPolicy.for_node``);
- the host is resolved by us and **every** address it resolves to must be public:
  loopback, private, link-local (cloud metadata at 169.254.169.254), shared, multicast,
  reserved and unspecified ranges are refused, IPv4-mapped and NAT64 IPv6 included;
  the connection goes to the address we checked (no second lookup to rebind), while TLS
  still verifies the certificate for the host name;
- redirects followed by hand, at most ``max_redirects``, each target re-checked, and
  never from https down to http;
- a size cap on the body, read as it streams, and no compressed answer (a small gzip body
  inflates a thousandfold after any count of bytes on the wire);
- a timeout on every step, and a deadline on the whole fetch (``deadline_s``): a server
  trickling one byte a second never times out a single read, and held a wallet's
  ``direct_post`` for minutes (issue 11);
- one error type out: whatever goes wrong — a URL httpx cannot parse (``https://[::1/x``,
  ``https://0177.0.0.1/``), a host that does not resolve (every host, on an offline desk),
  a TLS or protocol failure — the caller gets a ``FetchError`` and nothing else, so a status
  check can say "unknown" instead of failing the whole request;
- answers reused for the document's own ``ttl``, never longer than ``max_ttl_s`` (a list
  that names no ``ttl``: ``min_ttl_s``). A short ttl is honoured, not raised to a floor:
  it is the issuer's word on how soon a change is visible (Token Status List, "Status List
  Update Interval and Caching"), and a cache that outlives it hides a revocation; the
  upper bound is the guard the draft asks for against a ttl meant to hammer or starve.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import socket
import ssl
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urljoin, urlsplit

import anyio
import httpcore
import httpx

from core.errors import FetchError, FetchFailed, FetchRefused
from core.settings import Settings

__all__ = ["AddressPolicy", "FetchError", "FetchFailed", "FetchRefused", "Fetched", "Fetcher", "Resolver"]

# httpx logs every request URL at INFO; ours carry offer ids, request ids and codes.
logging.getLogger("httpx").setLevel(logging.WARNING)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

Resolver = Callable[[str, int], Awaitable[list[str]]]
"""Host and port to the addresses they resolve to (tests replace the system resolver)."""


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


@dataclass(frozen=True, slots=True)
class AddressPolicy:
    allow_http: bool = False
    allow_loopback: bool = False  # a node on 127.0.0.1: local mode, and tests

    @classmethod
    def for_node(cls, settings: Settings) -> AddressPolicy:
        """What a node may fetch: http and loopback in local mode only, never once it has an https URL."""
        return cls(allow_http=settings.local_mode, allow_loopback=settings.local_mode)

    def check(self, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> None:
        if isinstance(address, ipaddress.IPv6Address):
            embedded = address.ipv4_mapped or (
                ipaddress.IPv4Address(int(address) & 0xFFFFFFFF) if address in _NAT64 else None)
            if embedded is not None:
                address = embedded
        if self.allow_loopback and address.is_loopback:
            return
        if not address.is_global or address.is_multicast:
            raise FetchRefused("the host resolves to a private, loopback, link-local or reserved address")


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves, checks every address, then connects to the checked one."""

    def __init__(self, policy: AddressPolicy, resolver: Resolver) -> None:
        self.policy = policy
        self.resolver = resolver
        self.inner = httpcore.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None, socket_options: Any = None) -> httpcore.AsyncNetworkStream:
        try:
            with anyio.fail_after(timeout):
                resolved = await self.resolver(host, port)
            addresses = [ipaddress.ip_address(a) for a in resolved]
        except (OSError, ValueError, UnicodeError) as exc:  # gaierror, a timeout, an odd answer
            raise FetchFailed("the host does not resolve") from exc
        if not addresses:
            raise FetchFailed("the host does not resolve")
        for address in addresses:  # all of them: a mix of public and private is a rebinding trick
            self.policy.check(address)
        return await self.inner.connect_tcp(str(addresses[0]), port, timeout=timeout,
                                            local_address=local_address, socket_options=socket_options)

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Any = None) -> httpcore.AsyncNetworkStream:
        raise FetchRefused("unix sockets are not fetched")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


@functools.cache
def _tls() -> ssl.SSLContext:
    """The system trust store, loaded once (a few tens of ms per load; contexts are shareable)."""
    return ssl.create_default_context()


class _GuardedTransport(httpx.AsyncHTTPTransport):
    def __init__(self, policy: AddressPolicy, resolver: Resolver) -> None:
        super().__init__(verify=_tls())  # given a context, httpx does not load a trust store of its own
        # httpx builds its pool without a way to pass a network backend; this is the pool it
        # would build (HTTP/1.1, system trust store) with ours.
        self._pool = httpcore.AsyncConnectionPool(ssl_context=_tls(),
                                                  network_backend=_GuardedBackend(policy, resolver))


class _CappedStream(httpx.AsyncByteStream):
    """A response body that stops at ``cap`` bytes as it streams (a chunked answer declares no size)."""

    def __init__(self, inner: httpx.AsyncByteStream, cap: int) -> None:
        self.inner, self.cap = inner, cap

    async def __aiter__(self) -> Any:
        seen = 0
        async for chunk in self.inner:
            seen += len(chunk)
            if seen > self.cap:
                raise FetchRefused(f"the document is larger than {self.cap} bytes")
            yield chunk

    async def aclose(self) -> None:
        await self.inner.aclose()


class _CappedTransport(httpx.AsyncBaseTransport):
    """Asks for uncompressed answers and refuses any other (a small gzip body can inflate a
    thousandfold *after* a byte count), then caps the body as it arrives."""

    def __init__(self, inner: httpx.AsyncBaseTransport, cap: int) -> None:
        self.inner, self.cap = inner, cap

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        request.headers["Accept-Encoding"] = "identity"
        response = await self.inner.handle_async_request(request)
        if response.headers.get("content-encoding", "identity").strip().lower() not in ("", "identity"):
            await response.aclose()
            raise FetchRefused("a compressed answer was sent though none was asked for")
        declared = response.headers.get("content-length")
        if declared is not None and (not (declared.isascii() and declared.isdigit()) or int(declared) > self.cap):
            await response.aclose()
            raise FetchRefused(f"the document is larger than {self.cap} bytes")
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _CappedStream(response.stream, self.cap)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


def guarded_client(policy: AddressPolicy, *, timeout_s: float, resolver: Resolver = system_resolver,
                   max_body_bytes: int = 1024 * 1024) -> httpx.AsyncClient:
    """An httpx client that connects only where ``policy`` allows (every resolved address
    checked, as ``Fetcher`` does), follows no redirect, takes no compressed answer and no body
    over ``max_body_bytes``: for a wallet, which fetches and posts to whatever a pasted link
    names. On a hosted node that link must reach neither the node's own network (SSRF) nor
    its memory. ``timeout_s`` bounds each read; the caller bounds a whole exchange
    (``wallet.flows.talk``)."""
    transport = _CappedTransport(_GuardedTransport(policy, resolver), max_body_bytes)
    return httpx.AsyncClient(transport=transport, timeout=timeout_s, follow_redirects=False)


def _typed(exc: BaseException, otherwise: str = "the document could not be fetched") -> FetchError:
    """The ``FetchError`` behind whatever httpx, httpcore or anyio raised (wrapped as a cause,
    or inside an exception group), else a plain ``FetchFailed``."""
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, FetchError):
            return current
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
        pending.extend(e for e in (current.__cause__, current.__context__) if e is not None)
    return FetchFailed(otherwise)


@dataclass(frozen=True, slots=True)
class Fetched:
    url: str
    body: bytes
    content_type: str
    fetched_at: float


@dataclass
class Fetcher:
    policy: AddressPolicy = field(default_factory=AddressPolicy)
    max_bytes: int = 1024 * 1024
    max_redirects: int = 3
    timeout_s: float = 5.0
    deadline_s: float = 10.0
    min_ttl_s: int = 60
    max_ttl_s: int = 86400
    resolver: Resolver = system_resolver
    _cache: dict[str, tuple[float, Fetched]] = field(default_factory=dict)

    def _check_url(self, url: str, previous: str | None = None) -> None:
        try:
            parts = urlsplit(url)
            host = parts.hostname
        except ValueError as exc:  # "https://[::1/x": an unclosed IPv6 literal
            raise FetchFailed("the URL cannot be parsed") from exc
        allowed = {"https", "http"} if self.policy.allow_http else {"https"}
        if parts.scheme not in allowed or not host:
            raise FetchRefused("only https:// URLs are fetched")
        if previous is not None and urlsplit(previous).scheme == "https" and parts.scheme != "https":
            raise FetchRefused("a redirect from https to http is refused")
        if parts.username or parts.password:
            raise FetchRefused("URLs with credentials are not fetched")

    def cached(self, url: str, now: float | None = None) -> Fetched | None:
        """The answer remembered for ``url`` if its lifetime has not passed at ``now``."""
        entry = self._cache.get(url)
        return entry[1] if entry and entry[0] > (time.time() if now is None else now) else None

    def forget(self, urls: Iterable[str] | None = None) -> None:
        """Drop the cached answers for ``urls``, or every one (tests that change a list). A desk's
        sync drops only the lists it fetches again: in a serving process the cache also holds
        issuer metadata whose keys the offline path takes from nowhere else (helper-85)."""
        if urls is None:
            self._cache.clear()
            return
        for url in urls:
            self._cache.pop(url, None)

    def lifetime(self, ttl_s: float | None) -> float:
        """How long an answer is reused: its own ttl, at most ``max_ttl_s``; ``min_ttl_s`` without one."""
        return max(0.0, min(self.min_ttl_s if ttl_s is None else ttl_s, self.max_ttl_s))

    def remember(self, fetched: Fetched, ttl_s: float | None, now: float | None = None) -> None:
        """Reuse ``fetched`` for its lifetime from ``now`` (callers with an injected clock pass it;
        the answer is then stamped with that clock)."""
        if now is not None:
            fetched = replace(fetched, fetched_at=now)
        self._cache[fetched.url] = (fetched.fetched_at + self.lifetime(ttl_s), fetched)

    async def get(self, url: str, *, accept: str, max_bytes: int | None = None) -> Fetched:
        """The document at ``url``; raises ``FetchError`` (and nothing else) when it cannot be had."""
        try:
            with anyio.fail_after(self.deadline_s):
                return await self._get(url, accept, max_bytes or self.max_bytes)
        except FetchError:
            raise
        except TimeoutError:
            raise FetchFailed(f"the document did not arrive within {self.deadline_s:g} s") from None
        except Exception as exc:  # the one door: every failure leaves typed
            raise _typed(exc) from None

    async def _get(self, url: str, accept: str, cap: int) -> Fetched:
        current, previous = url, None
        transport = _CappedTransport(_GuardedTransport(self.policy, self.resolver), cap)  # counted as it arrives
        async with httpx.AsyncClient(transport=transport, timeout=self.timeout_s, follow_redirects=False) as client:
            for _ in range(self.max_redirects + 1):
                self._check_url(current, previous)
                try:
                    async with client.stream("GET", current, headers={"Accept": accept}) as response:
                        if response.is_redirect and "location" in response.headers:
                            previous, current = current, urljoin(current, response.headers["location"])
                            continue
                        # Token Status List section 8.2: "a status code in the 2xx range" (204 has no token)
                        if not 200 <= response.status_code < 300 or response.status_code == 204:
                            raise FetchFailed(f"the server answered {response.status_code}")
                        body = await response.aread()  # at most ``cap`` bytes: _CappedTransport refuses more
                        return Fetched(url, body, response.headers.get("content-type", ""), time.time())
                except (httpx.TransportError, TimeoutError) as exc:
                    raise _typed(exc, "the host could not be reached") from None
        raise FetchRefused(f"more than {self.max_redirects} redirects")
