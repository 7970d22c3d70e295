"""What every verifier request needs, built once per app (see issuer.context for the pattern)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core import db
from core.credtypes import TypeRegistry, load_registry
from core.errors import TrustListRollback, TrustListUnavailable
from core.fetch import AddressPolicy, Fetcher
from core.keys import PublicKey, read_jwk
from core.sealing import NodeKey, node_key
from core.settings import Settings
from core.trust import TrustList, TrustListCache
from verifier import queries


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

    @classmethod
    def create(cls, settings: Settings) -> VerifierContext:
        engine = db.make_engine(db.database_url(settings))
        fetcher = Fetcher(AddressPolicy.for_node(settings),
                          min_ttl_s=settings.fetch_min_ttl_s, max_ttl_s=settings.fetch_max_ttl_s)
        return cls(settings, engine, db.sessions(engine), node_key(settings), load_registry(settings.specs_dir),
                   queries.load(settings.specs_dir), fetcher)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions.begin() as session:
            yield session

    def now(self) -> int:
        return int(time.time()) + self.offset

    def trust_cache(self) -> TrustListCache:
        anchor = read_jwk(self.settings.trust_anchor_file)
        return TrustListCache(self.settings.data_dir / "verifier" / "trust-list.jwt",
                              [PublicKey.from_jwk(k) for k in anchor.get("keys", [])])

    def trust_list(self) -> TrustList:
        """The newest verified trust list (seeded from the operator's file on this node); fails closed."""
        try:
            cache = self.trust_cache()
            held = cache.current(self.now())
            local = self.settings.trust_list_file
            if local.exists():
                with contextlib.suppress(TrustListRollback):  # a newer list was synced: keep it
                    held = cache.offer(local.read_text(encoding="ascii"), self.now())
        except (OSError, ValueError) as exc:
            raise TrustListUnavailable("the verifier has no trust list yet: run amana verifier sync") from exc
        if held is None:
            raise TrustListUnavailable("the verifier has no trust list yet: run amana verifier sync")
        return held.require_current()


def get_context(request: Request) -> VerifierContext:
    ctx: VerifierContext = request.app.state.verifier
    return ctx
