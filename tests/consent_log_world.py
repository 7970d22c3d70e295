"""A fresh consent-log store for a test, on SQLite or PostgreSQL (``AMANA_TEST_DATABASE_URL``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from core import db
from core.settings import Settings
from tests.server_process import empty_postgres

POSTGRES_URL = os.environ.get("AMANA_TEST_DATABASE_URL")
BACKENDS = ["sqlite", "postgresql"]


def store_url(backend: str, tmp_path: Path) -> str:
    """An empty database of ``backend`` (its tables not made yet); skips without PostgreSQL."""
    if backend == "postgresql":
        if not POSTGRES_URL:
            pytest.skip("no PostgreSQL (.ci/run starts one)")
        empty_postgres(POSTGRES_URL)
        return db.database_url(Settings(database_url=POSTGRES_URL))
    return f"sqlite+aiosqlite:///{tmp_path / 'consent.db'}"


async def migrated(url: str) -> AsyncEngine:
    engine = db.make_engine(url)
    await db.upgrade(engine)
    return engine
