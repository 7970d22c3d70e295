"""Alembic migrations produce exactly the tables the code declares (no drift), from empty, twice,
on SQLite and (where .ci/postgres set one up) PostgreSQL."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

import consent.store.log
import consent.store.records  # noqa: F401
import core.sessions  # noqa: F401
import issuer.tables  # noqa: F401  (registers the tables)
import verifier.tables  # noqa: F401
import wallet.tables  # noqa: F401
from core import db
from core.settings import Settings


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migrations_match_the_models_and_are_idempotent(tmp_path: Path, backend: str) -> None:
    if backend == "postgresql":
        url = os.environ.get("AMANA_TEST_DATABASE_URL")
        if not url:
            pytest.skip("no PostgreSQL (.ci/run starts one)")
        url = db.database_url(Settings(database_url=url))
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'drift.db'}"

    async def run() -> list[object]:
        engine = db.make_engine(url)
        if backend == "postgresql":
            async with engine.begin() as connection:
                await connection.execute(text("DROP SCHEMA public CASCADE"))
                await connection.execute(text("CREATE SCHEMA public"))
        await db.upgrade(engine)
        await db.upgrade(engine)  # a second start-up changes nothing

        def diff(connection: object) -> list[object]:
            return list(compare_metadata(MigrationContext.configure(connection), db.Base.metadata))

        async with engine.connect() as connection:
            result = await connection.run_sync(diff)
        await engine.dispose()
        return result

    assert asyncio.run(run()) == []
