"""What every request pays before its own work (issue 15): no dependency of ours runs on a worker
thread (FastAPI runs a plain ``def`` dependency through anyio's thread pool, a hop per request),
and the node sets no ``dependency_overrides`` (with any override set, FastAPI rebuilds every
route's dependency tree, signatures and all, on every request)."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from core.settings import Settings
from server.app import build_app


def _api_routes(routes: list[Any]) -> list[APIRoute]:
    """Every APIRoute, also those inside included routers (FastAPI keeps them nested)."""
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        inner = getattr(route, "original_router", None)
        if inner is not None:
            found.extend(_api_routes(list(inner.routes)))
    return found


def _calls(dependant: Dependant) -> list[object]:
    found = []
    for sub in dependant.dependencies:
        found.append(sub.call)
        found.extend(_calls(sub))
    return found


def test_the_nodes_dependencies_are_coroutines_and_none_is_overridden(tmp_path: Path) -> None:
    app = build_app(Settings(data_dir=tmp_path, public_base_url="http://127.0.0.1:8000"))
    assert app.dependency_overrides == {}
    ours = {call for route in _api_routes(list(app.routes)) for call in _calls(route.dependant)
            if getattr(call, "__module__", "").split(".")[0] in {"core", "issuer", "verifier", "wallet", "consent",
                                                                 "server"}}
    assert ours, "the node's routes have dependencies of ours"
    on_threads = sorted(f"{c.__module__}.{c.__qualname__}" for c in ours  # type: ignore[attr-defined]
                        if not inspect.iscoroutinefunction(c))
    assert on_threads == []
