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
``Request``, ``str`` path parameters, an optional header (``Header()``, its name FastAPI's), and
a dependency that takes only the request; it must return a ``Response``, and neither its route
nor its router may carry dependencies of their own. Anything else is refused when the app
starts, so a marked endpoint is never served differently from its documented route.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import params
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route, compile_path
from starlette.types import Scope

Endpoint = Callable[..., Awaitable[Response]]
_MARK = "__amana_direct__"


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
    access log's route template."""

    def __init__(self, path: str, api_route: APIRoute, dependencies_of_router: bool) -> None:
        if api_route.dependencies or dependencies_of_router:
            raise NotDirect(f"{path}: a route with dependencies of its own")
        super().__init__(path, _adapter(api_route.endpoint, set(compile_path(path)[2])),
                         methods=sorted(api_route.methods or ()), name=api_route.name, include_in_schema=False)
        self.methods = set(api_route.methods or ())  # no HEAD of Starlette's making: FastAPI's route has none
        self.documented = api_route

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child = super().matches(scope)
        if match is not Match.FULL:
            return Match.NONE, {}
        child["route"] = self
        return match, child


def _adapter(endpoint: Endpoint, path_params: set[str]) -> Callable[[Request], Awaitable[Response]]:
    """``endpoint(**what it asks for)`` from a Starlette request, planned once from its signature."""
    hints = typing.get_type_hints(endpoint, include_extras=True)
    if not (inspect.isclass(hints.get("return")) and issubclass(hints["return"], Response)):
        raise NotDirect(f"{endpoint.__name__} must return a Response")
    plan: list[tuple[str, str, Any]] = []
    for name, parameter in inspect.signature(endpoint).parameters.items():
        plan.append((name, *_source(endpoint.__name__, name, parameter, hints.get(name), path_params)))

    async def handle(request: Request) -> Response:
        arguments: dict[str, Any] = {}
        for name, kind, how in plan:
            if kind == "request":
                arguments[name] = request
            elif kind == "path":
                arguments[name] = request.path_params[name]
            elif kind == "header":
                arguments[name] = request.headers.get(how)
            else:
                arguments[name] = await how(request)
        return await endpoint(**arguments)

    return handle


def _source(endpoint: str, name: str, parameter: inspect.Parameter, hint: Any,
            path_params: set[str]) -> tuple[str, Any]:
    if hint is Request:
        return "request", None
    if name in path_params and hint is str:
        return "path", None
    extras = typing.get_args(hint)[1:] if typing.get_origin(hint) is typing.Annotated else ()
    if len(extras) == 1 and isinstance(extras[0], params.Header) and parameter.default is None:
        header = extras[0]
        return "header", (header.alias or (name.replace("_", "-") if header.convert_underscores else name)).lower()
    if len(extras) == 1 and isinstance(extras[0], params.Depends) and _takes_only_the_request(extras[0].dependency):
        return "dependency", extras[0].dependency
    raise NotDirect(f"{endpoint}({name}): only the request, str path parameters, an optional header and a "
                    "dependency on the request alone")


def _takes_only_the_request(dependency: Any) -> bool:
    if not inspect.iscoroutinefunction(dependency):
        return False
    parameters = list(inspect.signature(dependency).parameters.values())
    hints = typing.get_type_hints(dependency)
    return len(parameters) == 1 and hints.get(parameters[0].name) is Request
