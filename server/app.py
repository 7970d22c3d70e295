"""The one-process Amana node that ``amana serve`` runs on the embedded default.

Each service also runs alone (``uvicorn issuer.app:app``); here they share one process,
one settings object and one database: the issuer, the verifier, the holder's wallet (at
``/wallet``), the consent ledger (at ``/consent``) and the trust-list publication point.
"""

from __future__ import annotations

from fastapi import FastAPI

import consent.app
import issuer.app
import verifier.app
import wallet.app
from core import service
from core.settings import Settings, get_settings
from server import trust_list


def build_app(settings: Settings | None = None) -> FastAPI:
    chosen = settings or get_settings()

    def publish_trust_list(app: FastAPI) -> None:
        # The route's settings from app.state, not app.dependency_overrides: with any override set,
        # FastAPI rebuilds every route's dependency tree on every request (issue 15).
        app.state.trust_list_settings = chosen
        app.include_router(trust_list.router)

    services = [issuer.app.SERVICE, verifier.app.SERVICE, wallet.app.SERVICE, consent.app.SERVICE]
    return service.build_app("Amana", chosen, services, publish_trust_list)
