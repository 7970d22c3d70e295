"""The hot requests' units on one held SQLite connection (core.sqlite_held, issue 15).

What must hold however fast it is: a unit is all or nothing (an error or a cancellation leaves
nothing behind), units of one process run one at a time, a database locked elsewhere is waited
for with the loop running, the loop's thread never runs a checkpoint, and disposing the engine
closes the connection (used again, it opens a new one).
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, column, event, select, table, text
from sqlalchemy.exc import OperationalError

from core import db, sqlite_held
from core.prepared import Prepared, Statements
from core.sqlite_held import HeldDb


def _engine(tmp_path: Path) -> Any:
    return db.make_engine(f"sqlite+aiosqlite:///{tmp_path / 'held.db'}")


async def _table(engine: Any) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE t (x INTEGER)"))


def _rows(tmp_path: Path) -> list[int]:
    other = sqlite3.connect(tmp_path / "held.db")
    try:
        return [x for (x,) in other.execute("SELECT x FROM t ORDER BY x")]
    finally:
        other.close()


def test_a_unit_runs_on_the_held_connection_and_commits(tmp_path: Path) -> None:
    engine = _engine(tmp_path)

    async def run() -> tuple[str, int]:
        await _table(engine)
        async with db.unit(engine) as unit:
            assert isinstance(unit, HeldDb) and db.dialect_name(unit) == "sqlite"
            await unit.execute(text("INSERT INTO t VALUES (:x)"), {"x": 1})
            mode = (await unit.execute(text("PRAGMA wal_autocheckpoint"))).scalar_one()
        async with db.unit(engine):
            pass  # a unit without a statement ends its transaction too
        async with db.unit(engine) as unit:
            await unit.execute(text("INSERT INTO t VALUES (2)"))
        await engine.dispose()
        return "ok", mode

    assert asyncio.run(run()) == ("ok", 0)  # this connection never checkpoints in a commit
    assert _rows(tmp_path) == [1, 2]


@pytest.mark.parametrize("ending", ["error", "cancelled"])
def test_a_unit_that_fails_or_is_cancelled_leaves_nothing(tmp_path: Path, ending: str) -> None:
    engine = _engine(tmp_path)

    async def unit_that_ends_badly(started: asyncio.Event) -> None:
        async with db.unit(engine) as unit:
            await unit.execute(text("INSERT INTO t VALUES (1)"))
            started.set()
            await asyncio.sleep(0 if ending == "error" else 60)
            raise ValueError("refused")

    async def run() -> str:
        await _table(engine)
        started = asyncio.Event()
        task = asyncio.create_task(unit_that_ends_badly(started))
        await started.wait()
        if ending == "cancelled":
            task.cancel()
        outcome = (await asyncio.gather(task, return_exceptions=True))[0]
        async with db.unit(engine) as unit:  # the next unit is not held up by the last one
            await unit.execute(text("INSERT INTO t VALUES (2)"))
        await engine.dispose()
        return type(outcome).__name__

    assert asyncio.run(run()) == ("ValueError" if ending == "error" else "CancelledError")
    assert _rows(tmp_path) == [2]


def test_units_of_one_process_run_one_at_a_time(tmp_path: Path) -> None:
    """Each unit reads, yields to the loop, then writes what it read plus one: interleaved, two
    would read the same value and one increment would be lost."""
    engine = _engine(tmp_path)

    async def increment() -> None:
        async with db.unit(engine) as unit:
            value = (await unit.execute(text("SELECT x FROM t"))).scalar_one()
            await asyncio.sleep(0.001)
            await unit.execute(text("UPDATE t SET x = :x"), {"x": value + 1})

    async def run() -> None:
        await _table(engine)
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO t VALUES (0)"))
        await asyncio.gather(*(increment() for _ in range(20)))
        await engine.dispose()

    asyncio.run(run())
    assert _rows(tmp_path) == [20]


def test_a_database_locked_elsewhere_is_waited_for_with_the_loop_running(tmp_path: Path) -> None:
    """A pooled connection of the same engine holds the write lock while it awaits; the held
    unit's BEGIN finds it busy and waits. The pooled transaction can only finish if the loop
    runs meanwhile, so a wait on the loop's thread would end in a timeout instead.

    That the held unit began after the pooled commit is told by what it reads (the pooled row),
    not by the order of the two notes: the lock is free once SQLite commits, on aiosqlite's
    thread, and the held unit may take it before the pooled coroutine runs again to say so (a
    fresh-clone run on a loaded machine saw that order)."""
    engine = _engine(tmp_path)
    order: list[str] = []
    seen_at_begin: list[int] = []

    async def pooled(release: asyncio.Event) -> None:
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO t VALUES (1)"))
            order.append("pooled holds the lock")
            await release.wait()
        order.append("pooled committed")

    async def run() -> None:
        await _table(engine)
        release = asyncio.Event()
        holder = asyncio.create_task(pooled(release))
        while not order:
            await asyncio.sleep(0)
        asyncio.get_running_loop().call_later(0.05, release.set)
        async with db.unit(engine) as unit:
            order.append("held began")
            seen_at_begin.extend(r[0] for r in (await unit.execute(text("SELECT * FROM t"))).all())
            await unit.execute(text("INSERT INTO t VALUES (2)"))
        await holder
        await engine.dispose()

    asyncio.run(run())
    assert order[0] == "pooled holds the lock" and sorted(order[1:]) == ["held began", "pooled committed"]
    assert seen_at_begin == [1]  # the pooled row, committed before the held unit's transaction began
    assert _rows(tmp_path) == [1, 2]


def test_a_read_needs_no_write_lock_but_waits_for_this_process_s_open_unit(tmp_path: Path) -> None:
    """``db.read`` on the held connection runs in autocommit: while another connection holds the
    write lock with a row not yet committed, the read answers at once with the committed state
    (a ``BEGIN IMMEDIATE`` would wait until the other commits). Within the process it still waits
    for an open unit: that unit's transaction is on the same connection, and a read run inside
    it would see its uncommitted row."""
    engine = _engine(tmp_path)
    order: list[str] = []

    async def unit_of_this_process(began: asyncio.Event) -> None:
        async with db.unit(engine) as unit:
            await unit.execute(text("INSERT INTO t VALUES (3)"))
            began.set()
            await asyncio.sleep(0.02)
            order.append("unit commits")

    async def run() -> tuple[list[int], list[int]]:
        await _table(engine)
        async with db.unit(engine) as unit:
            await unit.execute(text("INSERT INTO t VALUES (1)"))
        elsewhere = sqlite3.connect(tmp_path / "held.db", isolation_level=None)
        elsewhere.execute("BEGIN IMMEDIATE")
        elsewhere.execute("INSERT INTO t VALUES (2)")
        try:  # the lock is held across this read: a read that needed it would time out here
            async with db.read(engine) as reading:
                while_locked = [x for (x,) in (await reading.execute(text("SELECT x FROM t ORDER BY x"))).all()]
        finally:
            elsewhere.execute("ROLLBACK")
            elsewhere.close()
        began = asyncio.Event()
        writer = asyncio.create_task(unit_of_this_process(began))
        await began.wait()
        async with db.read(engine) as reading:
            order.append("read runs")
            after_unit = [x for (x,) in (await reading.execute(text("SELECT x FROM t ORDER BY x"))).all()]
        await writer
        await engine.dispose()
        return while_locked, after_unit

    while_locked, after_unit = asyncio.run(asyncio.wait_for(run(), timeout=5))
    assert while_locked == [1]  # committed state only; and no wait for the other connection's lock
    assert order == ["unit commits", "read runs"] and after_unit == [1, 3]


@pytest.mark.parametrize("path", ["sqlite3", "sqlalchemy"])
def test_a_read_s_statement_found_busy_is_repeated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path: str) -> None:
    """Outside a transaction a read's statement itself may find SQLite busy (rarely, for a WAL
    reader: recovery), and changed nothing then: it is run again after a pause, whether sqlite3
    ran it (a statement seen before, core.prepared) or SQLAlchemy did (a statement's first run in
    a process), which wraps sqlite3's error in its own. The busy answer is made once here (a real
    one for a WAL reader cannot be summoned on demand); without the repeat the read fails."""
    engine = _engine(tmp_path)
    statement = select(column("x")).select_from(table("t"))  # the same object each time: prepared from its second run
    calls: list[str] = []

    def busy_once(run: Any, wrap: bool) -> Any:
        def run_or_refuse(*args: Any, **kwargs: Any) -> Any:
            calls.append("run")
            if len(calls) == 1:
                refusal = sqlite3.OperationalError("database is locked")
                refusal.sqlite_errorcode = sqlite3.SQLITE_BUSY  # type: ignore[attr-defined]
                raise OperationalError("SELECT", None, refusal) if wrap else refusal
            return run(*args, **kwargs)
        return run_or_refuse

    async def read() -> list[int]:
        async with db.read(engine) as reading:
            return [x for (x,) in (await reading.execute(statement)).all()]

    async def run() -> list[int]:
        await _table(engine)
        async with db.unit(engine) as unit:
            await unit.execute(text("INSERT INTO t VALUES (7)"))
        await read()
        await read()  # sqlite3 runs it from now on
        if path == "sqlite3":
            monkeypatch.setattr(Prepared, "run_sqlite", busy_once(Prepared.run_sqlite, wrap=False))
        else:
            monkeypatch.setattr(Statements, "find", lambda *_args: None)  # SQLAlchemy runs everything
            monkeypatch.setattr(Connection, "execute", busy_once(Connection.execute, wrap=True))
        rows = await read()
        await engine.dispose()
        return rows

    assert asyncio.run(run()) == [7]
    assert calls == ["run", "run"]  # refused once, run again


def test_checkpoints_run_on_a_thread_of_their_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = _engine(tmp_path)
    ran_on: list[int] = []
    checkpoint = sqlite_held._checkpoint

    def traced(database: str) -> None:
        ran_on.append(threading.get_ident())
        checkpoint(database)

    monkeypatch.setattr(sqlite_held, "CHECKPOINT_EVERY", 5)
    monkeypatch.setattr(sqlite_held, "_checkpoint", traced)

    async def run() -> None:
        await _table(engine)
        for x in range(12):
            async with db.unit(engine) as unit:
                await unit.execute(text("INSERT INTO t VALUES (:x)"), {"x": x})
            if x == 4:  # the fifth commit began one, on a thread; one still running is not begun twice
                db._HELD[engine]._checkpointing.join()
                assert len(ran_on) == 1
        db._HELD[engine]._checkpointing.join()
        await engine.dispose()

    asyncio.run(run())
    assert len(ran_on) == 2 and threading.get_ident() not in ran_on  # after commits 5 and 10
    other = sqlite3.connect(tmp_path / "held.db")
    busy, log, done = other.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    other.close()
    assert busy == 0 and log == done
    assert _rows(tmp_path) == list(range(12))


def test_disposing_the_engine_closes_the_held_connection_and_a_unit_opens_it_again(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    held = db._HELD[engine]

    async def insert(x: int) -> None:
        async with db.unit(engine) as unit:
            await unit.execute(text("INSERT INTO t VALUES (:x)"), {"x": x})

    async def run() -> None:
        await _table(engine)
        await insert(1)
        assert held._connection is not None
        await engine.dispose()
        assert held._connection is None
        await insert(2)
        await engine.dispose()

    async def on_another_loop() -> None:  # as a test's next asyncio.run: a new event loop
        await insert(3)
        await engine.dispose()

    asyncio.run(run())
    asyncio.run(on_another_loop())
    assert _rows(tmp_path) == [1, 2, 3]


def test_an_in_memory_store_keeps_pooled_units(tmp_path: Path) -> None:
    engine = db.make_engine("sqlite+aiosqlite:///:memory:")

    async def run() -> str:
        async with db.unit(engine) as unit:
            kind = type(unit).__name__
        await engine.dispose()
        return kind

    assert asyncio.run(run()) == "AsyncConnection"


def test_a_result_read_in_part_neither_blocks_the_commit_nor_pins_a_snapshot(tmp_path: Path) -> None:
    """A result is read from its open statement: one left half-read would fail the commit, and a
    SELECT kept past its unit would hold an old snapshot that makes later BEGINs busy. The unit
    closes what it handed out."""
    engine = _engine(tmp_path)
    other = sqlite3.connect(tmp_path / "held.db", isolation_level=None)

    async def run() -> None:
        await _table(engine)
        async with db.unit(engine) as unit:
            await unit.execute(text("INSERT INTO t VALUES (1), (2), (3)"))
            kept = await unit.execute(text("SELECT x FROM t ORDER BY x"))
            assert kept.fetchone() == (1,)  # two rows left unread
        other.execute("INSERT INTO t VALUES (4)")  # another writer commits meanwhile
        async with db.unit(engine) as unit:
            await unit.execute(text("INSERT INTO t VALUES (5)"))
        await engine.dispose()

    asyncio.run(run())
    other.close()
    assert _rows(tmp_path) == [1, 2, 3, 4, 5]


def test_a_unit_inside_a_unit_of_the_same_task_is_refused_not_left_waiting(tmp_path: Path) -> None:
    engine = _engine(tmp_path)

    async def run() -> str:
        await _table(engine)
        try:
            async with db.unit(engine), db.unit(engine):
                pass
        except RuntimeError as exc:
            outcome = str(exc)
        async with db.unit(engine) as unit:  # and the engine goes on
            await unit.execute(text("INSERT INTO t VALUES (1)"))
        await engine.dispose()
        return outcome

    assert "inside another" in asyncio.run(asyncio.wait_for(run(), 30))
    assert _rows(tmp_path) == [1]


def test_a_driver_write_in_a_unit_counts_its_rows_by_sqlite3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``core.db.changed_rows`` in an SQLite file's unit: sqlite3 runs the write and its cursor
    tells how many rows changed (the consent log's append reads a short count as a rival's leaf:
    consent/store/log.py). SQLAlchemy's ``exec_driver_sql`` is not on that path (it cost three
    times the statement), except where a listener is to see every statement. A statement whose
    count sqlite3 does not keep, and any write in a read, is refused before it runs; the write
    is the unit's, rolled back with it."""
    engine = _engine(tmp_path)
    upsert = "INSERT INTO t (x) SELECT value FROM json_each(?) WHERE true ON CONFLICT (x) DO NOTHING"
    seen: list[str] = []

    def no_sqlalchemy(*_: Any, **__: Any) -> Any:
        raise AssertionError("the write went through SQLAlchemy")

    async def run() -> list[int]:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (x INTEGER PRIMARY KEY)"))
        with monkeypatch.context() as patched:
            patched.setattr(Connection, "exec_driver_sql", no_sqlalchemy)
            async with db.unit(engine) as unit:
                counts = [await db.changed_rows(unit, upsert, ("[1, 2, 3]",)),
                          await db.changed_rows(unit, upsert, ("[3, 4, 5]",)),  # 3 is there: two more
                          await db.changed_rows(unit, "UPDATE t SET x = x + 100 WHERE x > ?", (3,)),
                          await db.changed_rows(unit, "DELETE FROM t WHERE x < ?", (0,))]
                for uncounted in ("SELECT x FROM t WHERE x > ?",  # not a write: no count of rows to give
                                  "WITH n(v) AS (SELECT ?) INSERT INTO t (x) SELECT v FROM n",  # sqlite3 keeps none
                                  "INSERT INTO t (x) VALUES (?) RETURNING x"):  # sqlite3 would say 0
                    with pytest.raises(RuntimeError):
                        await db.changed_rows(unit, uncounted, (50,))
            with pytest.raises(ValueError):  # the unit's transaction holds the write until its end
                async with db.unit(engine) as unit:
                    assert await db.changed_rows(unit, "INSERT INTO t (x) VALUES (?)", (60,)) == 1
                    raise ValueError("refused after the write")
            async with db.read(engine) as reading:
                with pytest.raises(RuntimeError):  # a read writes nothing
                    await db.changed_rows(reading, "DELETE FROM t WHERE x = ?", (2,))
        for listened in db.sync_engines(engine):  # a listener sees the statement: SQLAlchemy runs it
            event.listen(listened, "before_cursor_execute", lambda _c, _u, sql, *_: seen.append(sql))
        async with db.unit(engine) as unit:
            counts.append(await db.changed_rows(unit, "DELETE FROM t WHERE x = ?", (1,)))
        await engine.dispose()
        return counts

    assert asyncio.run(run()) == [3, 2, 2, 0, 1]
    assert "DELETE FROM t WHERE x = ?" in seen
    assert _rows(tmp_path) == [2, 3, 104, 105]
