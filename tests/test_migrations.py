"""Alembic migrations produce exactly the tables the code declares (no drift), from empty, twice."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import issuer.tables  # noqa: F401  (registers the tables)
from core import db


def test_migrations_match_the_models_and_are_idempotent(tmp_path: Path) -> None:
    async def run() -> list[object]:
        engine = db.make_engine(f"sqlite+aiosqlite:///{tmp_path / 'drift.db'}")
        await db.upgrade(engine)
        await db.upgrade(engine)  # a second start-up changes nothing

        def diff(connection: object) -> list[object]:
            return list(compare_metadata(MigrationContext.configure(connection), db.Base.metadata))

        async with engine.connect() as connection:
            result = await connection.run_sync(diff)
        await engine.dispose()
        return result

    assert asyncio.run(run()) == []
