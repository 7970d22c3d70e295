"""What every issuer request needs, built once per app: settings, database, node key, types.

``transaction()`` is the unit of work: one request, one transaction, committed when the
block ends normally and rolled back on any exception, so a refused request changes nothing.
``unit()`` is the same on a bare connection, for the wallet's requests (offer, token, nonce,
credential): their store functions are SQLAlchemy Core statements built once, and the ORM's
session and unit of work cost more than the SQL (issue 15: about 0.4 ms per statement against
0.1, and half of an issuance flow's CPU time was SQLAlchemy's own).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core import db
from core.credtypes import TypeRegistry, load_registry
from core.every import FORGET_EVERY_S, Every
from core.sealing import NodeKey, node_key
from core.settings import Settings
from issuer.status_reserve import StatusReserve


@dataclass
class IssuerContext:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    node: NodeKey
    types: TypeRegistry
    clock: Clock = field(default_factory=lambda: Clock())
    # Housekeeping a credential request does when due, not on every request (issue 15: each
    # is a statement per request for rows that only need to go within seconds).
    forget_due: Every = field(default_factory=lambda: Every(FORGET_EVERY_S))
    purge_due: Every = field(default_factory=lambda: Every(PURGE_EVERY_S))
    org_ids: dict[str, str] = field(default_factory=dict)  # slug -> id, as found (issuer.discovery)
    statuses: StatusReserve = field(default_factory=StatusReserve)  # committed spare status indices

    @classmethod
    def create(cls, settings: Settings) -> IssuerContext:
        engine = db.make_engine(db.database_url(settings), settings.database_pool)
        return cls(settings, engine, db.sessions(engine), node_key(settings), load_registry(settings.specs_dir))

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions.begin() as session:
            yield session

    def read(self) -> AbstractAsyncContextManager[db.Db]:
        """A read of one statement, outside a transaction where that saves round trips (``core.db.read``)."""
        return db.read(self.engine)

    def unit(self) -> AbstractAsyncContextManager[db.Db]:
        return db.unit(self.engine)

    def now(self) -> int:
        return self.clock()


# The retention purge (claims of offers expired unredeemed, kept claims past their date: days-long
# deadlines) runs with staff work, at most this often per process: it is eight statements, and
# ran with every offer made (issue 15: a quarter of an offer's cost).
PURGE_EVERY_S = 60


class Clock:
    """The one place the issuer reads the time; tests set ``offset`` instead of sleeping."""

    def __init__(self) -> None:
        self.offset = 0

    def __call__(self) -> int:
        return int(time.time()) + self.offset


async def get_context(request: Request) -> IssuerContext:
    # async: FastAPI runs a plain ``def`` dependency on a worker thread, a hop per request (issue 15).
    ctx: IssuerContext = request.app.state.issuer
    return ctx
