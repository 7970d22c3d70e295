"""The one-process Amana node that ``amana serve`` runs on the embedded default.

Each service also runs alone (``uvicorn issuer.app:app``); here they share one process,
one settings object and one database. Services join as their issues land: today the
issuer, the verifier, and the trust-list publication point.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

import issuer.app
import verifier.app
from core import web
from core.settings import Settings, get_settings
from server import trust_list


def build_app(settings: Settings | None = None) -> FastAPI:
    chosen = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await issuer.app.start(app, chosen)
        await verifier.app.start(app, chosen)
        yield
        await verifier.app.stop(app)
        await issuer.app.stop(app)

    app = FastAPI(title="Amana", version="0.1.0", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.dependency_overrides[get_settings] = lambda: chosen
    web.install(app)
    app.include_router(trust_list.router)
    issuer.app.attach(app)
    verifier.app.attach(app)
    return app
