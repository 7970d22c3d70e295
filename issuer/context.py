"""What every issuer request needs, built once per app: settings, database, node key, types.

``transaction()`` is the unit of work: one request, one transaction, committed when the
block ends normally and rolled back on any exception, so a refused request changes nothing.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core import db
from core.credtypes import TypeRegistry, load_registry
from core.sealing import NodeKey, node_key
from core.settings import Settings


@dataclass
class IssuerContext:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    node: NodeKey
    types: TypeRegistry
    clock: Clock = field(default_factory=lambda: Clock())

    @classmethod
    def create(cls, settings: Settings) -> IssuerContext:
        engine = db.make_engine(db.database_url(settings))
        return cls(settings, engine, db.sessions(engine), node_key(settings), load_registry(settings.specs_dir))

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions.begin() as session:
            yield session

    def now(self) -> int:
        return self.clock()


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
