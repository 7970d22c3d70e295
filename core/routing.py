"""Send a request only to the routes that could match it, not to all of them.

FastAPI's router tries its routes in the order they were added until one matches; an included
router (one per ``include_router``) matches its own routes twice, once to be chosen and once to
dispatch, and walks its routes' versions on each. With every service on one node (about a
hundred routes) finding a late route cost more than most endpoints' own work: a request that
does nothing cost 62 µs at ``/health``, the first route, and 288 µs at the last, and a 404 cost
644 µs of CPU (issue 15; ``python -m bench.issuer`` shows the no-op beside every step).

A route's path can only match a request path with the same first segment (``/wallet/...``,
``/issuers/...``), unless the route's own first segment is a parameter. So ``index`` gives the
app's router one shard per first segment: a shallow copy of the router holding only the routes
(top-level entries, in their order) that could match a path beginning with that segment. Within
a shard the router runs its usual loop, so the first full match, a method not allowed (a
partial match), and the trailing-slash redirect (same first segment) come out as the whole
list would give them, and when nothing matches, the router's own default answers (404), as the
whole list would end. Anything else goes to the whole router: a path whose first segment no
route names, a ``root_path``, any scope but HTTP, a router with routes FastAPI tries last
(``frontend``, here or in an included router) or with middleware of its own, or a route whose
first segment is not a plain word.

A shard also starts with the ``DirectRoute`` of each endpoint marked ``core.direct_routes.direct``
under its segment, where that changes no answer: no route before it in the whole list could
fully match a request it takes (``_may_take_the_same_request``: the same methods, paths of the
same segments where both are words; a mount or a ``path`` converter could match anything). While
the app overrides a dependency, the shards without them serve.

The shards are built when the app starts (``core.service``), when every route is in place, and
again if a route is added to the app afterwards (a route added to an already included router
after start-up is not seen: include it whole). An app never started (an ASGI transport without
lifespan) uses the whole router. FastAPI offers no public hook for this: a shard is
``copy.copy`` of the router with its ``routes`` replaced, and the wiring is
``Router.middleware_stack``, the app Starlette's ``Router.__call__`` hands every request to.
``tests/test_routing.py`` checks that requests resolve as the whole router resolves them.
"""

from __future__ import annotations

import copy
import typing
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRouter
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from core.direct_routes import DirectRoute, is_direct

_ANY = None  # the "first segment" of a route that could match any


def first_segment(path: str) -> str:
    """``/wallet/cards`` → ``wallet``; ``/`` → ``""``."""
    return path[1:].split("/", 1)[0]


def _route_paths(route: BaseRoute, prefix: str = "") -> Iterator[str | None]:
    """The path templates a top-level entry serves (None: one it cannot say)."""
    included = getattr(route, "original_router", None)  # FastAPI's included router
    if included is not None:
        inner_prefix = prefix + getattr(getattr(route, "include_context", None), "prefix", "")
        for inner in included.routes:
            yield from _route_paths(inner, inner_prefix)
        return
    path = getattr(route, "path", None)
    yield None if not isinstance(path, str) else prefix + path


class _Leaf(typing.NamedTuple):
    """A route as the router tries it: its whole path template (None: one it cannot say, a mount),
    its methods (None: any), whether a router it is included through adds dependencies."""

    route: BaseRoute
    path: str | None
    methods: frozenset[str] | None
    wrapped: bool


def _leaves(route: BaseRoute, prefix: str = "", wrapped: bool = False) -> Iterator[_Leaf]:
    """The routes a top-level entry holds, in the order the router tries them."""
    included = getattr(route, "original_router", None)
    if included is not None:
        context = getattr(route, "include_context", None)
        inner_prefix = prefix + getattr(context, "prefix", "")
        inner_wrapped = wrapped or bool(getattr(context, "dependencies", None)) or bool(
            getattr(context, "max_body_size", None))
        for inner in included.routes:
            yield from _leaves(inner, inner_prefix, inner_wrapped)
        return
    methods = getattr(route, "methods", None)
    yield _Leaf(route, prefix + route.path if isinstance(route, Route) else None,
                None if methods is None else frozenset(methods), wrapped)


def _may_take_the_same_request(a: _Leaf, b: _Leaf) -> bool:
    """Whether some request could fully match both (conservative: True when unsure)."""
    if a.methods is not None and b.methods is not None and not a.methods & b.methods:
        return False
    if a.path is None or b.path is None or ":path}" in a.path or ":path}" in b.path:
        return True
    ours, theirs = a.path.split("/"), b.path.split("/")
    if len(ours) != len(theirs):
        return False
    return all(x == y or "{" in x or "{" in y for x, y in zip(ours, theirs, strict=True))


def _with_direct_first(segment: str, leaves: list[_Leaf], whole: ASGIApp) -> list[BaseRoute]:
    """``core.direct_routes``: a ``DirectRoute`` for each marked endpoint under ``segment`` that
    no route before it could take a request from, in their order, to go ahead of the shard's routes."""
    out: list[BaseRoute] = []
    for number, leaf in enumerate(leaves):
        if is_direct(leaf.route) and leaf.path is not None and first_segment(leaf.path) == segment and not any(
                _may_take_the_same_request(earlier, leaf) for earlier in leaves[:number]):
            out.append(DirectRoute(leaf.path, leaf.route, leaf.wrapped, whole))  # type: ignore[arg-type]
    return out


def _segments(route: BaseRoute) -> set[str | None]:
    out: set[str | None] = set()
    for path in _route_paths(route):
        if path is None or not path.startswith("/"):
            out.add(_ANY)
            continue
        segment = first_segment(path)
        # "/" itself (the front page) is the one route of the empty segment: it matches only "/".
        out.add(_ANY if "{" in segment or (segment == "" and path != "/") else segment)
    return out


def _tried_last(router: Any) -> bool:
    """Whether FastAPI has routes it tries after all others (``frontend``), here or included."""
    if getattr(router, "_low_priority_routes", None):
        return True
    return any(_tried_last(route.original_router) for route in router.routes if hasattr(route, "original_router"))


class SegmentDispatch:
    """The router's entry point: a shard for the path's first segment, else the whole router."""

    def __init__(self, router: APIRouter, whole: ASGIApp) -> None:
        self.router, self.whole = router, whole
        self.shards: dict[str, APIRouter] = {}
        self.without_direct: dict[str, APIRouter] = {}  # while the app overrides a dependency
        self._indexed = -1
        self._index()

    def _index(self) -> None:
        router, self._indexed = self.router, len(self.router.routes)
        entries = [(route, _segments(route)) for route in router.routes]
        names = {s for _, segments in entries for s in segments if s is not _ANY}
        self.shards, self.without_direct = {}, {}
        if any(_ANY in segments for _, segments in entries) or _tried_last(router):
            return  # this router's routes cannot be told apart by their first segment: no shards
        for name in names:
            shard = copy.copy(router)
            shard.routes = [route for route, segments in entries if name in segments]
            self.without_direct[name] = copy.copy(shard)
            leaves = [leaf for route in shard.routes for leaf in _leaves(route)]
            shard.routes = [*_with_direct_first(name, leaves, self.whole), *shard.routes]
            self.shards[name] = shard

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        shard = None
        if scope["type"] == "http" and not scope.get("root_path"):
            if len(self.router.routes) != self._indexed:
                self._index()  # a route added to the app after start-up: indexed with the rest
            overrides = getattr(self.router.dependency_overrides_provider, "dependency_overrides", None)
            shard = (self.without_direct if overrides else self.shards).get(first_segment(scope["path"]))
        if shard is None:
            await self.whole(scope, receive, send)
            return
        scope.setdefault("router", self.router)  # url_for and friends see every route
        await shard.app(scope, receive, send)


def index(app: FastAPI) -> None:
    """Give ``app``'s router its shards, after the last route is added. A router with middleware
    of its own (``max_body_size`` and the like) is left whole: a shard would go round it."""
    router = app.router
    whole: Any = router.middleware_stack
    if isinstance(whole, SegmentDispatch):
        whole = whole.whole
    if whole != router.app:
        return
    router.middleware_stack = SegmentDispatch(router, whole)
