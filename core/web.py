"""What every Amana web app shares: errors as RFC 9457 problem+json, and security headers.

``install(app)`` is called once per FastAPI app. Errors are mapped in one place:

- ``AmanaError`` → its own status, ``type``/``title``/``detail``/``code``;
- ``OAuthError`` → ``{"error", "error_description"}`` as OAuth 2.0 and OpenID4VC define it;
- request validation → 400 ``invalid_input``, naming the fields, never echoing values;
- HTTP errors (404, 405, ...) → problem+json with that status;
- anything else → 500 with a fixed text (``CatchAll``); the log gets the exception's type,
  route and code location, never its message (a message could carry a claim value or SQL
  parameters) and never a traceback through the server's own error log.

Every response carries a strict Content-Security-Policy (no inline script, no third-party
origin), ``nosniff``, no referrer, no framing. A page that carries the vendored QR reader
(``QR_READER_PAGES``) also has ``'wasm-unsafe-eval'``, which lets the reader compile its
WebAssembly and nothing else (it allows no JavaScript ``eval``); no other page has it.
Protocol routes that need a different problem shape (OAuth errors) raise their own response types before reaching this.
What server-rendered pages share besides (CSRF, the reader's language, rendering): core.web_pages.
"""

from __future__ import annotations

import logging
import time
import traceback
from pathlib import Path
from typing import Annotated, Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse as _StarletteJSONResponse
from pydantic import AfterValidator
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core import db
from core.encoding import holds_lone_surrogate, json_bytes_compact
from core.errors import PROBLEM_TYPE_BASE, AmanaError, InvalidInput, OAuthError
from core.ratelimit import RateLimit, public_protocol_post, wallet_door_post

log = logging.getLogger("amana.web")

PROBLEM_JSON = "application/problem+json"
_POLICY = ("default-src 'self'; script-src 'self'{wasm}; style-src 'self'; img-src 'self' data:; "
           "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
CONTENT_SECURITY_POLICY = _POLICY.format(wasm="")
SCANNING_CONTENT_SECURITY_POLICY = _POLICY.format(wasm=" 'wasm-unsafe-eval'")  # a page with the QR reader
# The pages that carry the vendored QR reader (its ``data-wasm`` address, or a template that
# includes it): named here, never inferred from what a page happens to contain, which a reflected
# value could. tests/test_wallet_web_security.py checks the list against the templates.
QR_READER_PAGES = frozenset({"receive.html", "present.html", "recover.html", "offline.html", "scan.html"})
SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "geolocation=(), microphone=()",
}


class JSONResponse(_StarletteJSONResponse):
    """Starlette's JSON response, its text written by ``json_dumps_compact`` (``json_bytes_compact``:
    the same bytes, by orjson for plain JSON): the same settings
    (compact separators, UTF-8 kept, no NaN) and so the same bytes, without building an encoder
    for every response as ``json.dumps`` with arguments does. The routes that build their response
    use it, and so do the error handlers. It is not the apps' ``default_response_class``: a route
    declaring a response model would then lose FastAPI's own path (pydantic writes the bytes, about
    four times cheaper than this for a metadata document)."""

    def render(self, content: Any) -> bytes:
        return json_bytes_compact(content)  # json_dumps_compact's bytes


def problem_response(status: int, code: str, title: str, detail: str) -> JSONResponse:
    body = {"type": PROBLEM_TYPE_BASE + code, "title": title, "status": status, "detail": detail, "code": code}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


async def amana_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AmanaError)
    if isinstance(exc, OAuthError):
        headers = {**exc.headers, "Cache-Control": "no-store"}
        if exc.status == 401:  # RFC 6750 section 3; RFC 9449 section 7.1 for DPoP
            headers.setdefault("WWW-Authenticate", f'{exc.scheme} error="{exc.error}"')
        return JSONResponse(exc.body(), status_code=exc.status, headers=headers)
    problem = exc.problem()
    return JSONResponse(problem, status_code=exc.status, media_type=PROBLEM_JSON)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    fields = sorted({".".join(str(p) for p in e.get("loc", ()) if p != "body") for e in exc.errors()})
    return problem_response(400, "invalid_input", "The request is malformed", f"check: {', '.join(fields)}")


async def http_error(_request: Request, exc: Exception) -> JSONResponse:
    """An HTTP error (404, 405, 413, ...) as problem+json; core.staff and core.front_door refine it
    for pages and fall back to it."""
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}.get(exc.status_code, "http_error")
    return problem_response(exc.status_code, code, str(exc.detail), str(exc.detail))


def _internal_error() -> JSONResponse:
    return problem_response(500, "internal_error", "Something went wrong on our side", "please try again later")


async def unkeepable_text(request: Request, exc: Exception) -> JSONResponse:
    """Text PostgreSQL cannot keep (a NUL in a path or a field: ``core.db.value_refused``) is the
    request's fault: a 400, through every middleware as any refusal (its security headers, its
    access line). The unit it was in has rolled back: nothing was written. Any other database
    error goes on up, to ``CatchAll``'s 500, from where it was raised."""
    if not db.value_refused(exc):
        raise exc
    log.info("refused %s at %s %s: text PostgreSQL cannot keep", type(exc).__name__, request.method,
             route_of(request.scope))
    return problem_response(400, InvalidInput.code, InvalidInput.title,
                            "the request carries a character this node cannot keep (such as NUL)")


def route_of(scope: Scope) -> str:
    """The route's template (``/issuers/{slug}/offers/{offer_id}``), never the concrete path: what a log line names."""
    return getattr(scope.get("route"), "path", None) or "(no route)"


def _where(exc: BaseException) -> str:
    """The innermost frame of our own code (file and line): enough to find the fault, and
    free of data, unlike the message or the SQL parameters an exception carries."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "site-packages" not in f.filename]
    last = frames[-1] if frames else None
    return f"{Path(last.filename).name}:{last.lineno}" if last else "?"


class CatchAll:
    """The outermost middleware: any exception the app did not map becomes a fixed 500 here,
    logged as its type, route and code location only. Starlette's own error middleware would
    re-raise it to the server, which logs the whole message (SQL parameters, a value from the
    request) as ``Exception in ASGI application``; nothing unexpected gets that far now."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as exc:  # the one place that must catch everything
            route = route_of(scope)
            log.error("unexpected %s at %s %s (%s)", type(exc).__name__, scope.get("method"), route, _where(exc))
            if not started:
                await _internal_error()(scope, receive, send)


# A node announced on https tells browsers to come back on https only, for a year (RFC 6797): a
# first visit by http (a typed address, a café's network) cannot be downgraded again. Not
# includeSubDomains: the node does not know what else its domain runs.
HSTS = {"Strict-Transport-Security": "max-age=31536000"}


class SecurityHeaders:
    """ASGI middleware adding ``SECURITY_HEADERS`` to every HTTP response (pure ASGI: streams untouched)."""

    def __init__(self, app: ASGIApp, https: bool = False) -> None:
        self.app = app
        self.raw = [(k.lower().encode(), v.encode()) for k, v in (SECURITY_HEADERS | (HSTS if https else {})).items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []), *(h for h in self.raw if h[0] not in present)]
            await send(message)

        await self.app(scope, receive, with_headers)


def bearer_token(authorization: str | None, what: str) -> str:
    """The credential of an ``Authorization: Bearer`` header (RFC 6750 section 2.1), or 401 invalid_token."""
    scheme, _, value = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise OAuthError("invalid_token", f"{what} is required (Authorization: Bearer)", status=401)
    return value.strip()


def client_address(request: Request) -> str:
    """The peer's address, for rate limits. A forwarded address counts only where the server
    was told to trust the proxy that sent it (``AMANA_TRUSTED_PROXIES``): ``amana serve`` turns
    uvicorn's proxy headers off otherwise, so a header anyone can send cannot reset a limit."""
    return request.client.host if request.client else "?"


def _text_only(value: dict[str, Any]) -> dict[str, Any]:
    if holds_lone_surrogate(value):
        raise ValueError("holds a lone surrogate, which is not text")
    return value


# A request body's free-form JSON object (an offer's claims, a desk's own DCQL query): pydantic
# checks a ``str`` field's text, not the strings inside ``Any``, and a lone surrogate there ("\ud800",
# which the standard library's JSON reader lets through) was a 201 whose credential then failed at
# its encoding, a 500 for the holder (session 32). Refused as any malformed field is.
JsonObject = Annotated[dict[str, Any], AfterValidator(_text_only)]

access_log = logging.getLogger("amana.access")


class AccessLog:
    """ASGI middleware: one line per request with the *route template* (``/issuers/{slug}/offers/
    {offer_id}``), never the concrete path or query — those carry offer ids, check ids and other
    references that must not collect in a log. Servers run with their own access log off."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), 500

        async def note_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, note_status)
        finally:
            route = route_of(scope)
            access_log.info("%s %s %d %.1fms", scope["method"], route, status,
                            (time.perf_counter() - started) * 1000)


MAX_BODY_BYTES = 2 * 1024 * 1024  # a class CSV (1 MiB) with room; every other body is far smaller


class BodySizeLimit:
    """ASGI middleware: a request body over ``limit`` gets 413 before the app reads it all
    (declared by Content-Length, or counted as it streams), so no endpoint can be made to
    buffer an unbounded upload."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await _too_large(send, self.limit)
            return
        seen = 0

        async def counting() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _BodyTooLarge()
            return message

        try:
            await self.app(scope, counting, send)
        except _BodyTooLarge:
            await _too_large(send, self.limit)


class _BodyTooLarge(StarletteHTTPException):
    """An HTTPException, because FastAPI turns any other failure while it reads a body into
    400 ("error parsing the body") and re-raises only these; ``http_error`` maps it to the
    same problem as ``_too_large``."""

    def __init__(self) -> None:
        super().__init__(413, "The request is too large")


async def _too_large(send: Send, limit: int) -> None:
    body = problem_response(413, "payload_too_large", "The request is too large",
                            f"at most {limit} bytes").body
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def install(app: FastAPI, rate_limit: tuple[float, int] | None = None,
            door_limit: tuple[float, int] | None = None, https: bool = False) -> FastAPI:
    """Error mapping and the middleware every app has; ``rate_limit`` (per second, burst) guards
    the public protocol writes per client address, ``door_limit`` the wallet's key-deriving
    posts (core.ratelimit); ``https``: the node is announced on https (``HSTS``)."""
    handlers: dict[Any, Any] = {
        AmanaError: amana_error,
        RequestValidationError: _validation_error,
        StarletteHTTPException: http_error,
        asyncpg.DataError: unkeepable_text,  # asyncpg's own (core.prepared runs the hot statements)
        DBAPIError: unkeepable_text,  # SQLAlchemy's, raised from its asyncpg adapter's
    }
    for exc_type, handler in handlers.items():
        app.add_exception_handler(exc_type, handler)
    app.add_middleware(BodySizeLimit)
    if rate_limit is not None:
        app.add_middleware(RateLimit, rate=rate_limit[0], burst=rate_limit[1], limited=public_protocol_post)
    if door_limit is not None:
        app.add_middleware(RateLimit, rate=door_limit[0], burst=door_limit[1], limited=wallet_door_post)
    app.add_middleware(SecurityHeaders, https=https)
    app.add_middleware(AccessLog)
    app.add_middleware(CatchAll)  # added last: outermost of ours, so AccessLog sees the 500 too
    return app
