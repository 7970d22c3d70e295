"""The one-process Amana node that ``amana serve`` runs on the embedded default.

Each service also runs alone (``uvicorn issuer.app:app``); here they share one process,
one settings object and one SQLite file. Services join as their issues land; today the
node publishes the trust list.
"""

from __future__ import annotations

from fastapi import FastAPI

from core import web
from server import trust_list


def build_app() -> FastAPI:
    app = FastAPI(title="Amana", version="0.1.0", docs_url=None, redoc_url=None)
    web.install(app)
    app.include_router(trust_list.router)
    return app


app = build_app()
