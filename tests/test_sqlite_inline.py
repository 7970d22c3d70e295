"""SQLite without a thread hop per statement (core.sqlite_inline, issue 15): every statement of a
transaction but its commit runs on the event loop's thread, and a database locked by another connection is waited
for with the loop still running, never by stopping it."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text

from core import db, sqlite_inline


def _engine(tmp_path: Path) -> Any:
    return db.make_engine(f"sqlite+aiosqlite:///{tmp_path / 'inline.db'}")


def test_every_statement_of_a_transaction_runs_on_the_event_loops_thread(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    threads: list[tuple[int, str]] = []

    @event.listens_for(engine.sync_engine, "connect")
    def trace(dbapi_connection: Any, _record: Any) -> None:
        raw = dbapi_connection.driver_connection._conn  # the sqlite3 connection under aiosqlite
        raw.set_trace_callback(lambda sql: threads.append((threading.get_ident(), sql)))

    async def run() -> int:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (x INTEGER)"))
            await connection.execute(text("INSERT INTO t VALUES (1)"))
            found = (await connection.execute(text("SELECT x FROM t"))).scalar_one()
        await engine.dispose()
        return int(found)

    assert asyncio.run(run()) == 1
    loop_thread = threading.get_ident()  # asyncio.run runs the loop on this thread
    statements = [sql for _thread, sql in threads]
    assert any(s.startswith("BEGIN IMMEDIATE") for s in statements) and "COMMIT" in statements
    assert {thread for thread, sql in threads if not sql.startswith(("PRAGMA", "COMMIT"))} == {loop_thread}, threads
    # the commit alone is handed to the connection's thread: a WAL checkpoint's fsync never stops the loop
    assert {thread for thread, sql in threads if sql == "COMMIT"} - {loop_thread}, threads


def test_a_locked_database_is_waited_for_while_the_loop_runs(tmp_path: Path) -> None:
    """Another process's writer (here a plain sqlite3 connection) holds the write lock; our
    transaction waits for it. The loop keeps running meanwhile: the task that releases the lock
    runs on it, so a blocked loop would never release it (and the begin would fail)."""
    engine = _engine(tmp_path)
    other = sqlite3.connect(tmp_path / "inline.db", isolation_level=None, check_same_thread=False)

    async def run() -> tuple[int, list[int]]:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (x INTEGER)"))
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO t VALUES (1)")
        ticks: list[int] = []

        async def release_later() -> None:
            for i in range(20):
                ticks.append(i)
                await asyncio.sleep(0)
                await asyncio.sleep(0.001)
            other.execute("COMMIT")

        releaser = asyncio.create_task(release_later())
        async with engine.begin() as connection:  # BEGIN IMMEDIATE: busy until the other commits
            await connection.execute(text("INSERT INTO t VALUES (2)"))
        await releaser
        async with engine.connect() as connection:
            count = (await connection.execute(text("SELECT count(*) FROM t"))).scalar_one()
        await engine.dispose()
        return int(count), ticks

    count, ticks = asyncio.run(run())
    other.close()
    assert count == 2 and len(ticks) == 20


def test_a_database_locked_for_longer_than_the_busy_timeout_is_refused(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_inline, "BUSY_TIMEOUT_S", 0.05)
    engine = _engine(tmp_path)
    other = sqlite3.connect(tmp_path / "inline.db", isolation_level=None)

    async def run() -> None:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (x INTEGER)"))
        other.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(Exception, match="database is locked"):
                async with engine.begin() as connection:
                    await connection.execute(text("INSERT INTO t VALUES (2)"))
        finally:
            other.execute("ROLLBACK")
            await engine.dispose()

    asyncio.run(run())
    other.close()


class _NoWalCursor:
    """A DB-API cursor of a filesystem where SQLite keeps its rollback journal."""

    def execute(self, sql: str) -> None:
        self.last = sql

    def fetchone(self) -> tuple[str]:
        return ("delete",)

    def close(self) -> None:
        pass


class _NoWalConnection:
    def cursor(self) -> _NoWalCursor:
        return _NoWalCursor()


def test_a_database_where_write_ahead_logging_cannot_work_is_refused_with_a_reason() -> None:
    """core.sqlite_inline relies on WAL; SQLite answers the pragma with the mode it kept, and only there."""
    with pytest.raises(RuntimeError, match=r"write-ahead logging.*journal mode delete"):
        db._sqlite_pragmas(_NoWalConnection(), None, busy_timeout_ms=0)
    db._sqlite_pragmas(_NoWalConnection(), None, busy_timeout_ms=15000)  # aiosqlite's own thread: as before


class _SlowCommit:
    """The sqlite3 connection under an InlineConnection, whose commit waits for ``go`` (an fsync
    that takes its time); every call is traced in order."""

    def __init__(self, real: sqlite3.Connection, go: threading.Event, calls: list[str]) -> None:
        self._real, self._go, self._calls = real, go, calls

    def commit(self) -> None:
        self._go.wait(30)
        self._real.commit()
        self._calls.append("commit")

    def execute(self, *args: Any) -> Any:
        self._calls.append(str(args[0]))
        return self._real.execute(*args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def test_what_follows_a_cancelled_commit_waits_for_it_without_stopping_the_loop(tmp_path: Path) -> None:
    """A request cancelled (a client gone) while its commit runs on the connection's thread leaves
    that commit running. The next call on the connection waits for it with the loop running, not
    on SQLite's mutex on the loop's thread, and runs after it."""
    go, calls = threading.Event(), []

    async def run() -> list[str]:
        connection = await sqlite_inline.connect(str(tmp_path / "inline.db"))
        connection._connection = _SlowCommit(connection._connection, go, calls)  # type: ignore[assignment]
        await connection.execute("CREATE TABLE t (x INTEGER)")
        await connection.execute("BEGIN IMMEDIATE")
        await connection.execute("INSERT INTO t VALUES (1)")
        committing = asyncio.ensure_future(connection.commit())
        await asyncio.sleep(0.05)
        committing.cancel()
        following = asyncio.ensure_future(connection.execute("SELECT x FROM t"))
        ticks = 0
        for _ in range(20):  # the loop keeps turning while the commit is held back
            await asyncio.sleep(0.01)
            ticks += 1
        assert not following.done() and "SELECT x FROM t" not in calls
        go.set()
        cursor = await following
        assert await cursor.fetchall() == [(1,)] and ticks == 20
        await connection.close()
        return calls

    assert asyncio.run(run())[-2:] == ["commit", "SELECT x FROM t"]
