"""What every verifier request needs, built once per app (see issuer.context for the pattern)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from consent.context import ledger as consent_ledger
from consent.ledger import Ledger
from core import db
from core.credtypes import TypeRegistry, load_registry
from core.errors import AmanaError
from core.every import FORGET_EVERY_S, Every
from core.fetch import AddressPolicy, Fetcher
from core.sealing import NodeKey, node_key
from core.settings import Settings
from core.trust import TrustList, TrustListCache
from core.trust.local import HeldTrustList, anchored_cache
from verifier import queries, store
from verifier.requests import Identity

log = logging.getLogger(__name__)


@dataclass
class VerifierContext:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    node: NodeKey
    types: TypeRegistry
    queries: dict[str, queries.NamedQuery]
    fetcher: Fetcher
    offset: int = 0  # tests move the clock instead of sleeping
    background: set[asyncio.Task[None]] = field(default_factory=set)  # checks finishing after the wallet's answer
    held: HeldTrustList = field(init=False)
    _identity: Identity | None = field(default=None, init=False)
    _identity_made: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)
    _ledger: tuple[Ledger | None] | None = field(default=None, init=False)
    # Expired checks (their sealed results with them) go with a new check, when due (issue 15).
    forget_due: Every = field(default_factory=lambda: Every(FORGET_EVERY_S))
    # The desk's "get the status lists now" (verifier.offline_pages): one fetch at a time, and a
    # press soon after one reuses it; (when it ended, on the monotonic clock; how many lists came).
    syncing: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)
    last_sync: tuple[float, int] | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.held = HeldTrustList(self.settings, self._trust_list_path())

    @classmethod
    def create(cls, settings: Settings) -> VerifierContext:
        engine = db.make_engine(db.database_url(settings), settings.database_pool)
        fetcher = Fetcher(AddressPolicy.for_node(settings),
                          timeout_s=min(5.0, settings.fetch_deadline_s), deadline_s=settings.fetch_deadline_s,
                          min_ttl_s=settings.fetch_min_ttl_s, max_ttl_s=settings.fetch_max_ttl_s)
        return cls(settings, engine, db.sessions(engine), node_key(settings), load_registry(settings.specs_dir),
                   queries.load(settings.specs_dir), fetcher)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions.begin() as session:
            yield session

    def single(self) -> AbstractAsyncContextManager[db.Db]:
        """A unit of one statement: no ``BEGIN`` and ``COMMIT`` where that saves round trips (``core.db.single``)."""
        return db.single(self.engine)

    def read(self) -> AbstractAsyncContextManager[db.Db]:
        """A read of one statement, outside a transaction where that saves round trips (``core.db.read``)."""
        return db.read(self.engine)

    def unit(self) -> AbstractAsyncContextManager[db.Db]:
        """A transaction for a check's requests (verifier.store: Core statements built once;
        issue 15). Committed at the end, rolled back on any exception (``core.db.unit``)."""
        return db.unit(self.engine)

    def ledger(self) -> Ledger | None:
        """The consent ledger over this service's sessions (None in a build without the log), made
        at first use and kept: making it reads a file and opens the node key (issue 15)."""
        if self._ledger is None:
            self._ledger = (consent_ledger(self.settings, self.sessions),)
        return self._ledger[0]

    def finish_later(self, work: asyncio.Task[None]) -> None:
        """Hold ``work`` until it is done (the loop keeps only weak references to tasks) and log
        how it failed, by type only: the wallet that started it has had its answer already."""
        self.background.add(work)
        work.add_done_callback(self._finished)

    def _finished(self, work: asyncio.Task[None]) -> None:
        self.background.discard(work)
        if not work.cancelled() and (exc := work.exception()) is not None and not isinstance(exc, AmanaError):
            log.warning("a check finishing in the background failed: %s", type(exc).__name__)

    async def stop_background(self) -> None:
        """Cancel the checks finishing in the background, and the consent records being written
        for them (their transaction rolls back); a ledger never made is not made now."""
        for work in list(self.background):
            work.cancel()
        await asyncio.gather(*self.background, return_exceptions=True)
        if self._ledger is not None and self._ledger[0] is not None:
            await self._ledger[0].aclose()

    def now(self) -> int:
        return int(time.time()) + self.offset

    async def identity(self) -> Identity:
        """The request-signing keys and certificate: read (or made) once per process, in a transaction
        of their own, and kept once it has committed. The row never changes after it is made, and
        every check signs with it two or three times; each read opened the sealed keys and parsed
        them again (issue 15). Read again when its certificate is due to be made anew."""
        if self._identity is None or self.now() >= self._identity.renew_at:
            async with self._identity_made:
                if self._identity is None or self.now() >= self._identity.renew_at:
                    async with self.transaction() as session:
                        made = await store.identity(session, self.node, self.settings.verifier_name, self.now())
                    self._identity = made
        return self._identity

    def _trust_list_path(self) -> Path:
        return self.settings.data_dir / "verifier" / "trust-list.jwt"

    def trust_cache(self) -> TrustListCache:
        return anchored_cache(self.settings, self._trust_list_path())

    def trust_list(self) -> TrustList:
        """The newest verified trust list (seeded from the operator's file on this node); fails
        closed: with no good list the answer is 503 ``trust_list_unavailable``, never a 400
        naming a signature (core.trust.local)."""
        return self.held.get(self.now())


async def get_context(request: Request) -> VerifierContext:
    # async: FastAPI runs a plain ``def`` dependency on a worker thread, a hop per request (issue 15).
    ctx: VerifierContext = request.app.state.verifier
    return ctx
