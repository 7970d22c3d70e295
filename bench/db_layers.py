"""``python -m bench.db_layers``: what one read transaction costs at each layer of the store (issue 15).

One indexed ``SELECT`` by a unique key in its own transaction, on the node's own SQLite engine
(``core.db.make_engine``: ``BEGIN IMMEDIATE``, WAL, statements on the event loop's thread), CPU
microseconds per transaction, from the ORM session the services' other requests use down to
``sqlite3`` itself (the bound), with ``core.db.unit`` (the wallet's hot requests: SQLAlchemy's
sync Core on one held connection, core.sqlite_held) among them. Run it pinned to one core
(``taskset -c 1``) for figures that mean something (bench/HISTORY.md, "What bounds us now").
"""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from core import db

ROUNDS, WARM_UP = 3000, 200
SQL = "SELECT id, slug, name FROM bench_orgs WHERE slug = ?"


class _Base(DeclarativeBase):
    pass


class _Org(_Base):
    __tablename__ = "bench_orgs"
    id: Mapped[str] = mapped_column(String, primary_key=True)
    slug: Mapped[str] = mapped_column(String, unique=True)
    name: Mapped[str] = mapped_column(String)


async def _cpu_us(run: Callable[[], Awaitable[None]]) -> float:
    for _ in range(WARM_UP):
        await run()
    started = time.process_time()
    for _ in range(ROUNDS):
        await run()
    return (time.process_time() - started) / ROUNDS * 1e6


async def _measure(path: Path) -> list[tuple[str, float]]:
    engine = db.make_engine(f"sqlite+aiosqlite:///{path}")
    table: Any = _Org.__table__
    async with engine.begin() as connection:
        await connection.run_sync(_Base.metadata.create_all)
        await connection.execute(table.insert(), [{"id": f"id{i}", "slug": f"s{i}", "name": "n"} for i in range(100)])
    sessions = db.sessions(engine)
    query = select(table).where(table.c.slug == "s5")

    async def orm() -> None:
        async with sessions.begin() as session:
            (await session.execute(select(_Org).where(_Org.slug == "s5"))).scalar_one()

    async def core_pooled() -> None:
        async with engine.begin() as connection:
            (await connection.execute(query)).one()

    held = await engine.connect()

    async def core_held() -> None:
        async with held.begin():
            (await held.execute(query)).one()

    async def core_unit() -> None:
        async with db.unit(engine) as unit:  # core.sqlite_held
            (await unit.execute(query)).one()

    beneath = await engine.connect()
    driver: Any = (await beneath.get_raw_connection()).driver_connection  # core.sqlite_inline.InlineConnection

    async def driver_held() -> None:
        await driver.execute("BEGIN IMMEDIATE")
        cursor = await driver.execute(SQL, ("s5",))
        await cursor.fetchone()
        await cursor.close()
        await driver.commit()

    bare = sqlite3.connect(path, isolation_level=None)

    async def sqlite_alone() -> None:
        bare.execute("BEGIN IMMEDIATE")
        bare.execute(SQL, ("s5",)).fetchone()
        bare.execute("COMMIT")

    rows = [("ORM session (the services' other requests)", await _cpu_us(orm)),
            ("SQLAlchemy Core, pooled connection", await _cpu_us(core_pooled)),
            ("SQLAlchemy Core, connection held", await _cpu_us(core_held)),
            ("sync Core, held connection (core.db.unit: hot path)", await _cpu_us(core_unit)),
            ("driver of a held connection (commit on its thread)", await _cpu_us(driver_held)),
            ("sqlite3 alone, on this thread (the bound)", await _cpu_us(sqlite_alone))]
    bare.close()
    await beneath.close()
    await held.close()
    await engine.dispose()
    return rows


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="amana-bench-db-") as tmp:
        rows = asyncio.run(_measure(Path(tmp) / "layers.db"))
    bound = rows[-1][1]
    print(f"bench.db_layers: one indexed SELECT in its own transaction, {ROUNDS} rounds, CPU per transaction")
    for label, us in rows:
        print(f"  {label:52s} {us:8.0f} us  {us / bound:6.1f}x the bound")


if __name__ == "__main__":
    main()
