"""What every ``/consent`` request needs, built once per app (see verifier.context for the pattern).

The log behind the seam is ``consent.log.ConsentLog`` (the node key opens its signing key, the
origin is ``<public base host>/consent``); ``LOG_MODULE`` names the module it comes from, so a
test may put a stand-in in its place and nothing else in the package names it.
"""

from __future__ import annotations

import asyncio
import importlib
import time
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from consent.ledger import Ledger, LogSeam
from consent.records import SpecialCategories
from core import db
from core.errors import AmanaError
from core.sealing import node_key
from core.settings import Settings
from core.trust import TrustList
from core.trust.local import anchored_cache, held_trust_list

LOG_MODULE = "consent.log"


class LogUnavailable(AmanaError):
    code = "consent_log_unavailable"
    title = "The consent log is not part of this build"
    status = 503


def log_seam(settings: Settings | None = None) -> LogSeam | None:
    """The log (a ``ConsentLog`` for this node), or None in a build without consent.log: the
    ledger then answers 503 and the verifier records nothing, rather than fail to start. With
    no settings, the log's pure functions only (``verify_inclusion``, for the wallet)."""
    try:
        module: Any = importlib.import_module(LOG_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name != LOG_MODULE:
            raise
        return None
    if settings is None or not hasattr(module, "ConsentLog"):
        return module  # type: ignore[no-any-return]
    return module.ConsentLog(node_key(settings), module.origin(settings))  # type: ignore[no-any-return]


def ledger(settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> Ledger | None:
    """The ledger over a service's own sessions: the verifier records in process with it."""
    seam = log_seam(settings)
    return None if seam is None else Ledger(sessions, seam, SpecialCategories.load(settings.specs_dir))


@dataclass
class ConsentContext:
    settings: Settings
    engine: AsyncEngine
    maybe_ledger: Ledger | None
    offset: int = 0  # tests move the clock instead of sleeping
    background: asyncio.Task[None] | None = None  # notices, silence, retention (consent.schedule)

    @classmethod
    def create(cls, settings: Settings) -> ConsentContext:
        engine = db.make_engine(db.database_url(settings), settings.database_pool)
        return cls(settings, engine, ledger(settings, db.sessions(engine)))

    @property
    def ledger(self) -> Ledger:
        if self.maybe_ledger is None:
            raise LogUnavailable()
        return self.maybe_ledger

    def trust_list(self) -> TrustList:
        return held_trust_list(anchored_cache(self.settings, self.settings.data_dir / "consent" / "trust-list.jwt"),
                               self.settings.trust_list_file, self.now())

    def now(self) -> int:
        return int(time.time()) + self.offset


async def get_context(request: Request) -> ConsentContext:
    # async: FastAPI runs a plain ``def`` dependency on a worker thread, a hop per request (issue 15).
    ctx: ConsentContext = request.app.state.consent
    return ctx
