"""The forced schedules' watcher (tests/pg_locks.py) sees a lock wait that began after it first
looked: the flaky rotation test's cause (session 22) was a watcher that polled in one transaction
and so read the same snapshot of ``pg_stat_activity`` for 30 s."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg

from core import db
from tests.consent_log_world import POSTGRES_URL, store_url
from tests.pg_locks import WAITING_FOR_A_LOCK, scalar_alone, until_waiting


def test_a_watcher_sees_a_backend_that_connected_after_its_first_poll(tmp_path: Path) -> None:
    url = store_url("postgresql", tmp_path)
    assert POSTGRES_URL is not None
    dsn = POSTGRES_URL.replace("postgresql+asyncpg://", "postgresql://")

    async def body() -> None:
        engine = db.make_engine(url)
        holder = await asyncpg.connect(dsn)
        try:
            await holder.execute("CREATE TABLE held (id integer PRIMARY KEY); INSERT INTO held VALUES (1)")
            holding = holder.transaction()
            await holding.start()
            await holder.execute("SELECT id FROM held FOR UPDATE")
            async with engine.connect() as watcher:
                poll = scalar_alone(watcher)
                assert await poll(WAITING_FOR_A_LOCK) == 0  # the snapshot a stale watcher would keep
                waiter = await asyncpg.connect(dsn)  # a backend the first poll could not have seen
                try:
                    waiting = asyncio.ensure_future(waiter.execute("SELECT id FROM held FOR UPDATE"))
                    await until_waiting(poll, 1)
                    await holding.rollback()
                    await asyncio.wait_for(waiting, 30)
                finally:
                    await waiter.close()
        finally:
            await holder.close()
            await engine.dispose()

    asyncio.run(body())
