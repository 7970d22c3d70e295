"""The database: one async SQLAlchemy engine per process, SQLite by default, PostgreSQL by URL.

``DATABASE_URL`` (or ``AMANA_DATABASE_URL``) selects the store; unset, it is the embedded
SQLite file ``$AMANA_DATA_DIR/amana.db``. Schema changes go through Alembic
(``migrations/``); ``upgrade`` runs them at start-up, so a fresh machine needs no step.

SQLite connections get ``foreign_keys=ON`` (off by default there), ``secure_delete=ON``
(deleted rows are overwritten with zeros instead of lingering in free pages) and WAL mode.
Claims never reach the file in the clear in the first place (core.sealing); zeroing is the
second line, for whatever else a row held.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase

from core.settings import REPO_ROOT, Settings

MIGRATIONS = REPO_ROOT / "migrations"
# aiosqlite's DEBUG lines echo every statement with its parameters; ours are digests and
# sealed bytes, but a log is no place for them at any level.
logging.getLogger("aiosqlite").setLevel(logging.INFO)


class Base(DeclarativeBase):
    """Every service's tables; each service keeps its own in ``<service>/tables.py``."""


def database_url(settings: Settings) -> str:
    if settings.database_url:
        url = make_url(settings.database_url)
        if url.drivername in ("postgresql", "postgres"):
            url = url.set(drivername="postgresql+asyncpg")
        return url.render_as_string(hide_password=False)
    return f"sqlite+aiosqlite:///{settings.data_dir / 'amana.db'}"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL + synchronous=NORMAL: one fsync per checkpoint instead of several per commit, and
    # readers never wait for the writer. Durable across process crashes; a power cut may
    # lose the last commits, never corrupt the file.
    for pragma in ("foreign_keys=ON", "secure_delete=ON", "busy_timeout=15000", "journal_mode=WAL",
                   "synchronous=NORMAL"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def make_engine(url: str) -> AsyncEngine:
    if url.startswith("sqlite"):
        path = make_url(url).database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(url, pool_pre_ping=True)


def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


async def upgrade(engine: AsyncEngine) -> None:
    """Bring the schema to the newest Alembic revision (idempotent)."""
    from alembic import command
    from alembic.config import Config

    def run(connection: Any) -> None:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = connection
        command.upgrade(config, "head")

    async with engine.begin() as connection:
        await connection.run_sync(run)
