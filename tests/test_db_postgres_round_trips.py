"""Round trips core.db saves on PostgreSQL (issue 15), and what it must not lose doing so.

A pooled connection is pinged only after sitting idle (core.db._ping_if_idle). Busy, no ping:
asyncpg's is three round trips, and pinging before every unit of work cost an issuance 9 of its
32. Idle, a ping: a connection the server dropped meanwhile (a restart, a proxy's idle timeout) is
replaced before a request meets it.

A one-statement read (core.db.read) runs outside a transaction: no ``BEGIN``, no ``COMMIT``; and
the connection it used is back in transactions for the next unit of work.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import asyncpg
import pytest
from sqlalchemy import Column, Integer, MetaData, Table, insert, literal, select, text
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection, AsyncAdapt_asyncpg_dbapi

from core import db
from core.prepared import AsyncpgDb, Prepared
from tests.consent_log_world import POSTGRES_URL, store_url


class _Clock:
    """``time.monotonic`` moved forward at will, for core.db only."""

    def __init__(self) -> None:
        self.ahead = 0.0

    def monotonic(self) -> float:
        return time.monotonic() + self.ahead


@pytest.fixture
def pings(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the driver's pings; each still runs."""
    counted: list[int] = []
    real = AsyncAdapt_asyncpg_connection.ping

    def ping(self: Any) -> None:
        counted.append(1)
        real(self)

    monkeypatch.setattr(AsyncAdapt_asyncpg_connection, "ping", ping)
    return counted


async def _backend(engine: Any) -> int:
    async with engine.begin() as connection:
        return int((await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one())


def test_a_busy_connection_is_not_pinged_and_an_idle_dead_one_is_replaced(
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch, pings: list[int]) -> None:
    url = store_url("postgresql", tmp_path)
    clock = _Clock()
    monkeypatch.setattr(db, "time", clock)

    async def run() -> None:
        engine, killer = db.make_engine(url), db.make_engine(url)
        try:
            first = await _backend(engine)
            assert {await _backend(engine) for _ in range(10)} == {first} and pings == []  # busy: no ping
            clock.ahead = db.IDLE_PING_S + 1  # idle long enough: pinged, still alive, kept
            assert await _backend(engine) == first and len(pings) == 1
            async with killer.begin() as connection:  # the server drops the pooled connection while it idles
                await connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
            await asyncio.sleep(0.2)
            clock.ahead += db.IDLE_PING_S + 1
            replaced = await _backend(engine)  # the ping fails, the pool connects afresh, the unit works
            assert replaced != first and len(pings) == 2
        finally:
            await engine.dispose()
            await killer.dispose()

    if not POSTGRES_URL:
        pytest.skip("no PostgreSQL (.ci/run starts one)")
    asyncio.run(run())


def test_a_read_begins_no_transaction_and_a_unit_after_it_does(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    url = store_url("postgresql", tmp_path)
    begun: list[int] = []
    real = asyncpg.transaction.Transaction.start

    async def start(self: Any) -> None:
        begun.append(1)
        await real(self)

    monkeypatch.setattr(asyncpg.transaction.Transaction, "start", start)
    prepared_runs: list[int] = []
    run_by_driver = Prepared.run_asyncpg

    async def counted(self: Prepared, driver: Any, parameters: dict[str, Any]) -> Any:
        prepared_runs.append(1)
        return await run_by_driver(self, driver, parameters)

    monkeypatch.setattr(Prepared, "run_asyncpg", counted)
    async def run() -> None:
        engine = db.make_engine(url)
        try:
            await _backend(engine)  # connected, the dialect's first queries made
            begun.clear()
            async with db.read(engine) as connection:
                assert (await connection.execute(text("SELECT 1"))).scalar_one() == 1
            assert begun == []
            one = select(literal(1, Integer))
            for seen in range(3):  # from its second sighting a statement is run by asyncpg, still with no BEGIN
                async with db.read(engine) as connection:
                    assert (await connection.execute(one)).scalar_one() == 1
                assert len(prepared_runs) == max(0, seen) and begun == []
            async with db.unit(engine) as connection:  # the same pooled connection, in a transaction again
                await connection.execute(text("SELECT pg_sleep(0.01)"))
                assert (await connection.execute(text("SELECT now() < statement_timestamp()"))).scalar_one()
            assert begun == [1]
        finally:
            await engine.dispose()

    if not POSTGRES_URL:
        pytest.skip("no PostgreSQL (.ci/run starts one)")
    asyncio.run(run())


def test_units_at_once_reuse_the_pool_connections_they_opened(tmp_path: Any) -> None:
    """As many units at once as the pool keeps: each connection opened once, none closed and
    opened again (SQLAlchemy's default pool of 5 closed every one past the fifth after each unit:
    a server process forked and the SCRAM exchange per unit; issue 15)."""
    url = store_url("postgresql", tmp_path)
    at_once = 12

    async def run() -> set[int]:
        engine = db.make_engine(url, pool=at_once)
        try:
            backends: set[int] = set()
            gate = asyncio.Event()

            async def unit() -> None:
                async with db.unit(engine) as connection:
                    backends.add(int((await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()))
                    await gate.wait()  # all 12 hold a connection at once

            for _ in range(4):
                gate.clear()
                units = [asyncio.create_task(unit()) for _ in range(at_once)]
                while len(backends) < at_once:
                    await asyncio.sleep(0.01)
                gate.set()
                await asyncio.gather(*units)
            return backends
        finally:
            await engine.dispose()

    assert len(asyncio.run(run())) == at_once


def test_every_service_keeps_the_pool_the_settings_name(tmp_path: Any) -> None:
    from consent.context import ConsentContext
    from core.settings import Settings
    from issuer.context import IssuerContext
    from verifier.context import VerifierContext

    if not POSTGRES_URL:
        pytest.skip("no PostgreSQL")
    settings = Settings(database_url=POSTGRES_URL, database_pool=17, data_dir=tmp_path)
    for context in (IssuerContext, VerifierContext, ConsentContext):
        engine = context.create(settings).engine
        assert engine.sync_engine.pool.size() == 17, context  # type: ignore[attr-defined]
        asyncio.run(engine.dispose())
    assert Settings().database_pool >= 16  # the benchmarks' 16 wallets at once


def test_units_past_the_pool_wait_for_its_connections(tmp_path: Any) -> None:
    """Three times as many units at once as the pool keeps: they queue for its connections, and no
    server process is opened past them. With SQLAlchemy's overflow (10 more, each closed when it
    came back) a 50-wallet load opened and closed a connection per unit past the pool: 840 server
    processes forked in a 40-second bench.load, and one worker did 75 flows a second, not 117."""
    url = store_url("postgresql", tmp_path)
    pool = 4

    async def run() -> tuple[set[int], int]:
        engine = db.make_engine(url, pool=pool)
        held = most = 0
        backends: set[int] = set()

        async def unit() -> None:
            nonlocal held, most
            async with db.unit(engine) as connection:
                held += 1
                most = max(most, held)
                backends.add(int((await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()))
                await asyncio.sleep(0.005)
                held -= 1

        try:
            for _ in range(3):
                await asyncio.gather(*(unit() for _ in range(3 * pool)))
            return backends, most
        finally:
            await engine.dispose()

    backends, most = asyncio.run(run())
    assert len(backends) == pool and most == pool


def test_a_task_taking_two_connections_of_one_pool_is_caught(tmp_path: Any) -> None:
    """The check every test runs (tests/pool_nesting) sees a task holding two connections of one
    pool, which would stall under load; two pools at once are fine (a check's verifier and consent)."""
    from tests import pool_nesting

    url = store_url("postgresql", tmp_path)

    async def run() -> list[str]:
        one, other = db.make_engine(url, pool=2), db.make_engine(url, pool=2)
        try:
            async with db.unit(one), db.unit(other):
                pass
            assert pool_nesting.nested == []
            async with db.unit(one), db.read(one):
                pass
            return list(pool_nesting.nested)
        finally:
            pool_nesting.nested.clear()  # caught on purpose: not this test's failure
            await one.dispose()
            await other.dispose()

    assert len(asyncio.run(run())) == 1


def test_a_unit_cancelled_midway_rolls_back_and_gives_its_connection_back(tmp_path: Any) -> None:
    """core.db takes and gives back a pooled connection in one hop each (``_by_driver``), not through
    ``engine.begin()``: a request cancelled inside its unit (a client gone) must still roll back
    and hand its connection back, or a pool that opens nothing past its size loses it for good."""
    url = store_url("postgresql", tmp_path)

    async def run() -> tuple[int, int]:
        engine = db.make_engine(url, pool=1)
        try:
            async with db.unit(engine) as connection:
                await connection.execute(text("CREATE TABLE IF NOT EXISTS pooled_probe (n int)"))
            inside = asyncio.Event()

            async def cancelled() -> None:
                async with db.unit(engine) as connection:
                    await connection.execute(text("INSERT INTO pooled_probe VALUES (1)"))
                    inside.set()
                    await asyncio.sleep(30)  # cancelled here, its insert not committed

            task = asyncio.create_task(cancelled())
            await inside.wait()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            checked_out = engine.sync_engine.pool.checkedout()  # type: ignore[attr-defined]
            async with asyncio.timeout(10), db.unit(engine) as connection:  # the pool's only connection
                rows = int((await connection.execute(text("SELECT count(*) FROM pooled_probe"))).scalar_one())
                await connection.execute(text("DROP TABLE pooled_probe"))
            return checked_out, rows
        finally:
            await engine.dispose()

    assert asyncio.run(run()) == (0, 0)


def test_a_commit_the_server_refuses_leaves_nothing_and_keeps_the_connection(tmp_path: Any) -> None:
    """A unit's transaction is ended by asyncpg (``AsyncpgDb.end``). A commit PostgreSQL refuses (a
    deferred unique constraint, checked at the commit) raises its error and leaves nothing written,
    and the connection, still sound, goes back to the pool: the same server process serves the next unit."""
    url = store_url("postgresql", tmp_path)

    async def run() -> tuple[int, bool, int]:
        engine = db.make_engine(url, pool=1)
        try:
            async with db.unit(engine) as connection:
                await connection.execute(text("CREATE TABLE IF NOT EXISTS deferred_probe "
                                              "(n int UNIQUE DEFERRABLE INITIALLY DEFERRED)"))
            before = await _backend(engine)
            with pytest.raises(asyncpg.UniqueViolationError):
                async with db.unit(engine) as connection:
                    await connection.execute(text("INSERT INTO deferred_probe VALUES (1), (1)"))
            checked_out = engine.sync_engine.pool.checkedout()  # type: ignore[attr-defined]
            after = await _backend(engine)
            async with db.unit(engine) as connection:
                rows = int((await connection.execute(text("SELECT count(*) FROM deferred_probe"))).scalar_one())
                await connection.execute(text("DROP TABLE deferred_probe"))
            return checked_out, before == after, rows
        finally:
            await engine.dispose()

    if not POSTGRES_URL:
        pytest.skip("no PostgreSQL (.ci/run starts one)")
    assert asyncio.run(run()) == (0, True, 0)


def test_a_driver_write_in_a_unit_counts_the_rows_it_changed(tmp_path: Any) -> None:
    """``core.db.changed_rows`` in a PostgreSQL unit reads the count from asyncpg's command tag (the
    consent log's append takes a short count for a rival's leaves: ``consent/store/log.py``)."""
    url = store_url("postgresql", tmp_path)
    upsert = "INSERT INTO counted_probe (n) SELECT * FROM unnest($1::int[]) ON CONFLICT (n) DO NOTHING"
    # built once: core.prepared runs a statement it has seen before (by asyncpg, and ``later`` waits)
    add = insert(Table("counted_probe", MetaData(), Column("n", Integer, primary_key=True)))

    async def run() -> list[int]:
        engine = db.make_engine(url, pool=1)
        try:
            async with db.unit(engine) as connection:
                await connection.execute(text("CREATE TABLE counted_probe (n int PRIMARY KEY)"))
            async with db.unit(engine) as connection:
                assert isinstance(connection, AsyncpgDb)  # the path under test
                counts = [await db.changed_rows(connection, upsert, ([1, 2, 3],)),
                          await db.changed_rows(connection, upsert, ([3, 4, 5, 6, 7, 8, 9, 10, 11, 12],)),
                          await db.changed_rows(connection, "UPDATE counted_probe SET n = n + 100 WHERE n > $1",
                                                (10,)),
                          await db.changed_rows(connection, "DELETE FROM counted_probe WHERE n < $1", (0,))]
            async with db.unit(engine) as connection:  # the insert's first sight: SQLAlchemy runs it at once
                await db.later(connection, add, {"n": 499})
            async with db.unit(engine) as connection:  # a write left for later goes first
                await db.later(connection, add, {"n": 500})
                counts.append(await db.changed_rows(connection, "UPDATE counted_probe SET n = 501 WHERE n = $1",
                                                    (500,)))
            async with db.single(engine) as connection:  # one statement, then no other
                counts.append(await db.changed_rows(connection, "DELETE FROM counted_probe WHERE n = $1", (501,)))
                with pytest.raises(RuntimeError):
                    await db.changed_rows(connection, "DELETE FROM counted_probe WHERE n = $1", (1,))
            async with db.unit(engine) as connection:
                with pytest.raises(RuntimeError):  # not a write: no count of rows changed to give
                    await db.changed_rows(connection, "SELECT n FROM counted_probe WHERE n > $1", (0,))
            async with db.unit(engine) as connection:
                counts.append(int((await connection.execute(text("SELECT count(*) FROM counted_probe"))).scalar_one()))
                await connection.execute(text("DROP TABLE counted_probe"))
            return counts
        finally:
            await engine.dispose()

    if not POSTGRES_URL:
        pytest.skip("no PostgreSQL (.ci/run starts one)")
    assert asyncio.run(run()) == [3, 9, 2, 0, 1, 1, 13]


@pytest.mark.parametrize("unit", ["unit", "read"])
def test_a_connection_the_server_drops_mid_unit_is_replaced_at_once(tmp_path: Any, unit: str) -> None:
    """The server process behind a unit killed (a restart, an administrator): that unit fails, and
    its connection is not handed out again. Statements run by asyncpg meet no SQLAlchemy to notice
    the disconnection, so core.db checks asyncpg's own flag; without it every unit on that pool's
    connection failed until the idle ping (``IDLE_PING_S``) replaced it."""
    url = store_url("postgresql", tmp_path)
    one = select(literal(1, Integer))

    async def run() -> tuple[bool, int]:
        engine = db.make_engine(url, pool=1)
        try:
            victim = await _backend(engine)
            for _ in range(2):  # from its second sighting the statement is run by asyncpg (core.prepared)
                async with getattr(db, unit)(engine) as connection:
                    await connection.execute(one)
            # asyncpg's error, or its adapter's where the adapter begins the transaction
            failed = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, AsyncAdapt_asyncpg_dbapi.Error)
            with pytest.raises(failed):
                async with getattr(db, unit)(engine) as connection:
                    killer = await asyncpg.connect(POSTGRES_URL)
                    try:
                        assert await killer.fetchval("SELECT pg_terminate_backend($1)", victim)
                    finally:
                        await killer.close()
                    await asyncio.sleep(0.2)  # the server's goodbye arrives
                    await connection.execute(one)
            async with asyncio.timeout(10), getattr(db, unit)(engine) as connection:  # no idle ping: at once
                assert (await connection.execute(one)).scalar_one() == 1
            return await _backend(engine) != victim, engine.sync_engine.pool.checkedout()  # type: ignore[attr-defined]
        finally:
            await engine.dispose()

    if not POSTGRES_URL:
        pytest.skip("no PostgreSQL (.ci/run starts one)")
    assert asyncio.run(run()) == (True, 0)


def test_a_unit_cancelled_as_it_begins_leaves_no_transaction_open(
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A request cancelled while its unit's ``BEGIN`` is on its way: the server may have begun a
    transaction that SQLAlchemy's adapter never recorded (it catches ``Exception``, not the
    cancellation), and asyncpg's own record of it would make the next unit's ``BEGIN`` a savepoint
    that nothing commits. The connection is closed instead: the next unit's write is committed,
    another connection sees it."""
    url = store_url("postgresql", tmp_path)
    one = select(literal(1, Integer))
    real = asyncpg.transaction.Transaction.start

    async def run() -> tuple[int, int]:
        engine = db.make_engine(url, pool=1)
        try:
            async with db.unit(engine) as connection:
                await connection.execute(text("CREATE TABLE IF NOT EXISTS begin_probe (n int)"))
            for _ in range(2):  # from its second sighting the statement is run by asyncpg (core.prepared)
                async with db.unit(engine) as connection:
                    await connection.execute(one)
            begun = asyncio.Event()

            async def begun_then_held(self: Any) -> None:
                await real(self)
                begun.set()
                await asyncio.sleep(30)  # cancelled here: the server has begun, the adapter has not seen it

            monkeypatch.setattr(asyncpg.transaction.Transaction, "start", begun_then_held)

            async def cancelled() -> None:
                async with db.unit(engine) as connection:
                    await connection.execute(one)

            task = asyncio.create_task(cancelled())
            await begun.wait()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            monkeypatch.setattr(asyncpg.transaction.Transaction, "start", real)
            async with asyncio.timeout(10), db.unit(engine) as connection:
                await connection.execute(one)
                await connection.execute(text("INSERT INTO begin_probe VALUES (1)"))
            other = await asyncpg.connect(POSTGRES_URL)
            try:
                seen = int(await other.fetchval("SELECT count(*) FROM begin_probe"))
            finally:
                await other.close()
            return seen, engine.sync_engine.pool.checkedout()  # type: ignore[attr-defined]
        finally:
            await engine.dispose()  # first: a transaction left open would hold the table's lock
            other = await asyncpg.connect(POSTGRES_URL)
            try:
                await other.execute("DROP TABLE IF EXISTS begin_probe")
            finally:
                await other.close()

    if not POSTGRES_URL:
        pytest.skip("no PostgreSQL (.ci/run starts one)")
    assert asyncio.run(run()) == (1, 0)
