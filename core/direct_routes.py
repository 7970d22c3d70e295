"""The wire protocols' hot endpoints served as plain Starlette routes, FastAPI's route kept for the docs.

A wallet's issuance is four requests (offer, token, nonce, credential) and a presentation two
(request object, ``direct_post``). Their endpoints read the raw request themselves — the OAuth
and OpenID4VC error codes are theirs to give, not FastAPI's 422 — and return a finished
``Response``; FastAPI's part is to find the route among the included routers and to fill in the
path parameters, the context and a header. That part cost more than the endpoint: the ``nonce``
endpoint took 108-133 µs through FastAPI and 32-36 µs as a Starlette route of the same function
(issue 15, measured by calling the app's ASGI entry directly).

So an endpoint marked ``@direct`` keeps its ``APIRoute`` (it stays in the OpenAPI document, and
any request that reaches it there is answered as before), and ``core.routing`` also puts a
``DirectRoute`` for it at the head of its path's shard, where it is tried first. It is put there
only where that changes no answer: no route before it in the router's order could take the
same request (a path both could match, a method both accept), and it answers only a request
whose method it accepts, leaving the 405s, redirects and 404s to the routes behind it.

What a direct endpoint may ask for is what the adapter can give exactly as FastAPI would: the
``Request``, ``str`` path parameters, an optional header (``Header()``, its name FastAPI's), a
dependency that asks only for these (its result used once per request, as FastAPI caches it), and
one JSON body of a pydantic model; its route may carry such dependencies too (run first, in order,
as FastAPI runs them), its router none. It must return a ``Response``. Anything else is refused
when the app starts, so a marked endpoint is never served differently from its documented route.

A body is the desk API's (issue 15: FastAPI's routing, dependency solving and validation were a
sixth of a check's CPU). The direct route reads it and takes it only when FastAPI's own reading
would end in the same model: a non-empty body, ``Content-Type: application/json`` (parameters
allowed), ``json.loads`` as Starlette's, then the model's validation as FastAPI's (python mode,
``from_attributes``). Any other request — an empty or non-JSON body, a parse or validation error,
a failure while the body streams in — is handed, its body replayed message by message, to the
whole router, which answers it as it always did: every 400, 413 and 422 stays FastAPI's.
"""

from __future__ import annotations

import inspect
import json
import typing
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import params
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route, compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

Endpoint = Callable[..., Awaitable[Response]]
_MARK = "__amana_direct__"
_BODY = "amana.direct_body"  # the scope key a validated body is handed to the endpoint under
_MADE = "amana.direct_made"  # the request's dependencies made so far, by function (FastAPI's use_cache)


def direct(endpoint: Endpoint) -> Endpoint:
    """Mark a wire-protocol endpoint to be served as a plain Starlette route too (module docstring)."""
    setattr(endpoint, _MARK, True)
    return endpoint


def is_direct(route: Any) -> bool:
    return isinstance(route, APIRoute) and getattr(route.endpoint, _MARK, False)


class NotDirect(TypeError):
    """A marked endpoint asks for something only FastAPI gives: serve it through FastAPI."""


class DirectRoute(Route):
    """A Starlette route for a marked endpoint: full matches only (a wrong method is the
    documented route's to answer), and ``scope["route"]`` set, as FastAPI sets it, for the
    access log's route template. ``whole``: the router that answers what this one hands back."""

    def __init__(self, path: str, api_route: APIRoute, dependencies_of_router: bool, whole: ASGIApp) -> None:
        if dependencies_of_router or getattr(api_route, "max_body_size", None) is not None:
            raise NotDirect(f"{path}: a router with dependencies of its own, or a body size limit of the route's")
        path_params = set(compile_path(path)[2])
        first = [_dependency(api_route.name, "route", d, path_params) for d in api_route.dependencies]
        handle, self.body = _adapter(api_route.endpoint, path_params, first)
        super().__init__(path, handle, methods=sorted(api_route.methods or ()), name=api_route.name,
                         include_in_schema=False)
        self.methods = set(api_route.methods or ())  # no HEAD of Starlette's making: FastAPI's route has none
        self.whole = whole

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child = super().matches(scope)
        if match is not Match.FULL:
            return Match.NONE, {}
        child["route"] = self
        return match, child

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.body is None:
            await super().handle(scope, receive, send)
            return
        taken = _Taken(receive)
        try:
            raw = await taken.body()
        except Exception:  # the whole router meets the same failure, and answers it its way
            await self.whole(scope, taken.replay(), send)
            return
        model = _json_body(self.body, scope, raw)
        if model is None:
            await self.whole(scope, taken.replay(), send)
            return
        scope[_BODY] = model
        await super().handle(scope, taken.replay(), send)


class _Taken:
    """The request body's messages as they came, to be read again from the start."""

    def __init__(self, receive: Receive) -> None:
        self.receive = receive
        self.messages: list[Message] = []
        self.failure: BaseException | None = None

    async def body(self) -> bytes:
        chunks = []
        while True:
            try:
                message = await self.receive()
            except BaseException as exc:
                self.failure = exc
                raise
            self.messages.append(message)
            if message["type"] != "http.request":
                raise _NotWhole()
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                return b"".join(chunks)

    def replay(self) -> Receive:
        kept = iter(self.messages)

        async def receive() -> Message:
            message = next(kept, None)
            if message is not None:
                return message
            if self.failure is not None:
                raise self.failure
            return await self.receive()

        return receive


class _NotWhole(Exception):
    """The client went away before the body was whole."""


def _json_body(model: type[BaseModel], scope: Scope, raw: bytes) -> BaseModel | None:
    """The body as FastAPI reads it for ``model``, or None where FastAPI's own reading is to answer."""
    content_type = Headers(scope=scope).get("content-type")
    if not raw or content_type is None or content_type.split(";", 1)[0].strip().lower() != "application/json":
        return None
    try:
        return model.model_validate(json.loads(raw), from_attributes=True)
    except Exception:  # any failure (a RecursionError on deep nesting too) is FastAPI's to answer
        return None


Plan = list[tuple[str, str, Any]]


def _adapter(endpoint: Endpoint, path_params: set[str], first: list[Callable[[Request], Awaitable[Any]]]
             ) -> tuple[Callable[[Request], Awaitable[Response]], type[BaseModel] | None]:
    """``endpoint(**what it asks for)`` from a Starlette request, planned once from its signature,
    after ``first`` (the route's dependencies); and the model of its JSON body, if it takes one."""
    hints = typing.get_type_hints(endpoint, include_extras=True)
    if not (inspect.isclass(hints.get("return")) and issubclass(hints["return"], Response)):
        raise NotDirect(f"{endpoint.__name__} must return a Response")
    plan = _plan(endpoint, hints, path_params, body_allowed=True)
    bodies = [how for _, kind, how in plan if kind == "body"]
    if len(bodies) > 1:
        raise NotDirect(f"{endpoint.__name__}: one body at most")
    call = _caller(endpoint, plan)

    async def handle(request: Request) -> Response:
        for dependency in first:
            await dependency(request)
        return await call(request)  # type: ignore[no-any-return]

    return handle, bodies[0] if bodies else None


def _caller(function: Callable[..., Awaitable[Any]], plan: Plan) -> Callable[[Request], Awaitable[Any]]:
    async def call(request: Request) -> Any:
        arguments: dict[str, Any] = {}
        for name, kind, how in plan:
            if kind == "request":
                arguments[name] = request
            elif kind == "path":
                arguments[name] = request.path_params[name]
            elif kind == "header":
                arguments[name] = request.headers.get(how)
            elif kind == "body":
                arguments[name] = request.scope[_BODY]
            else:
                arguments[name] = await how(request)
        return await function(**arguments)

    return call


def _plan(function: Callable[..., Any], hints: dict[str, Any], path_params: set[str], *,
          body_allowed: bool) -> Plan:
    return [(name, *_source(function.__name__, name, parameter, hints.get(name), path_params, body_allowed))
            for name, parameter in inspect.signature(function).parameters.items()]


def _source(endpoint: str, name: str, parameter: inspect.Parameter, hint: Any, path_params: set[str],
            body_allowed: bool) -> tuple[str, Any]:
    if hint is Request:
        return "request", None
    if name in path_params and hint is str and parameter.default is inspect.Parameter.empty:
        return "path", None  # a ``Path()`` default may carry constraints: FastAPI's to check
    if (body_allowed and inspect.isclass(hint) and issubclass(hint, BaseModel)
            and parameter.default is inspect.Parameter.empty):
        return "body", hint
    extras = typing.get_args(hint)[1:] if typing.get_origin(hint) is typing.Annotated else ()
    if (len(extras) == 1 and isinstance(extras[0], params.Header) and parameter.default is None
            and typing.get_args(hint)[0] == str | None and not extras[0].metadata):  # no constraint to check
        header = extras[0]
        return "header", (header.alias or (name.replace("_", "-") if header.convert_underscores else name)).lower()
    if len(extras) == 1 and isinstance(extras[0], params.Depends):
        return "dependency", _dependency(endpoint, name, extras[0], path_params)
    raise NotDirect(f"{endpoint}({name}): only the request, str path parameters, an optional header, a "
                    "dependency on these and one JSON body")


def _dependency(endpoint: str, name: str, depends: params.Depends, path_params: set[str]
                ) -> Callable[[Request], Awaitable[Any]]:
    """A dependency that is a coroutine function asking only for what ``_source`` gives (no body),
    planned once; run once per request where it is asked for."""
    dependency = depends.dependency
    if (not inspect.iscoroutinefunction(dependency) or getattr(depends, "scope", None) not in (None, "request")
            or getattr(depends, "max_concurrency", None) is not None):
        raise NotDirect(f"{endpoint}({name}): a dependency that is not a plain coroutine function")
    hints = typing.get_type_hints(dependency, include_extras=True)
    call = _caller(dependency, _plan(dependency, hints, path_params, body_allowed=False))
    cached = depends.use_cache

    async def once(request: Request) -> Any:
        """As FastAPI: a cached dependency is made once per request; an uncached one every time,
        and what it made is what a cached one asked for later gets."""
        made = request.scope.setdefault(_MADE, {})
        if not cached or dependency not in made:
            made[dependency] = await call(request)
        return made[dependency]

    return once
