"""How a service plugs into an app: one shape for the issuer, the verifier and the node that hosts both.

A service is a ``Service``: its ``start`` (build the context, migrate, put it on
``app.state``), its ``stop`` and its ``attach`` (routes, static files). ``build_app`` makes
the FastAPI app for any list of services, in order; ``uvicorn issuer.app:app`` is one
service, ``amana serve`` all of them.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import FastAPI
from fastapi.telemetry import TelemetryConfig

from core import front_door, glossary, openapi_errors, routing, staff, web
from core.settings import Settings


@dataclass(frozen=True, slots=True)
class Service:
    start: Callable[[FastAPI, Settings], Awaitable[object]]
    stop: Callable[[FastAPI], Awaitable[None]]
    attach: Callable[[FastAPI], None]
    door: front_door.Door | None = None  # its page for people, on the node's front page


def _freeze_what_started() -> None:
    """Keep what startup made (modules, routes, models, keys, the trust list: about 200,000
    objects) out of every later garbage collection: ``gc.freeze`` moves them to a generation the
    collector never scans. Before, each full collection walked them all, a pause of about 230 ms
    on one core that stopped every request in flight, and the collections cost about 0.4 ms of
    every check (issue 15). A collection first, so that only live objects are frozen."""
    gc.collect()
    gc.freeze()


# FastAPI (0.165 and later) traces, counts and logs every request by itself as soon as an OpenTelemetry
# provider is set anywhere in the process (an operator's agent, FASTAPI_OTEL_AUTO_CONFIGURE), with
# the concrete path and query: offer ids, check ids, request URIs, which core.web.AccessLog keeps out
# of every log. Off here, whatever the environment; checking for a provider on every request also
# cost each one a few microseconds. tests/test_no_telemetry.py sets a recording provider and looks.
NO_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False, "operation_spans": False,
                                 "auto_configure": False}


def build_app(title: str, settings: Settings, services: Sequence[Service],
              extra: Callable[[FastAPI], None] | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        started: list[Service] = []
        try:
            for service in services:
                started.append(service)  # before its start: one that fails halfway stops too
                await service.start(app, settings)
        except BaseException:  # no engine or task outlives a failed start; the failure is what is raised
            for service in reversed(started):
                with contextlib.suppress(Exception):
                    await service.stop(app)
            raise
        routing.index(app)  # every route is in place now
        _freeze_what_started()
        try:
            yield
        finally:
            gc.unfreeze()  # what stops can be collected again (a test process starts many apps)
        for service in reversed(services):
            await service.stop(app)

    app = FastAPI(title=title, version="0.1.0", lifespan=lifespan, docs_url=None, redoc_url=None,
                  telemetry=NO_TELEMETRY)
    per_min = settings.wallet_door_per_min
    web.install(app, rate_limit=(settings.rate_limit_per_s, settings.rate_limit_burst),
                door_limit=(per_min / 60, max(1, int(2 * per_min))),
                https=settings.public_base_url.startswith("https://"))
    openapi_errors.install(app)  # the document's refusals as the node answers them
    staff.install(app)
    glossary.install(app)  # /help/words: every service's holder pages link it

    # HEAD too (RFC 9110 section 9.3.2): some load balancers and uptime checks probe with it.
    @app.api_route("/health", methods=["GET", "HEAD"], include_in_schema=False)
    async def health() -> dict[str, str]:
        """For a load balancer or a container healthcheck: answered once every service has
        started (migrated, keys loaded). It says nothing else about the node."""
        return {"status": "ok"}

    if extra is not None:
        extra(app)
    for service in services:
        service.attach(app)
    front_door.install(app, [s.door for s in services if s.door is not None])  # /: the services' pages
    return app
