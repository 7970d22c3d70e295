"""One SQLite connection per engine for the wallet's hot requests, used on the event loop's thread.

What a transaction costs on the pooled async engine (issue 15, ``python -m bench.db_layers``):
about 400 µs of CPU for an indexed read and an update, when SQLite itself spends about 9 µs.
The rest is the async layers: the pool's checkout and return, a greenlet switch per statement,
aiosqlite's cursor wrappers, and the commit's hop to aiosqlite's thread and back. SQLAlchemy's
synchronous Core on one connection held open runs the same statements, with the same types,
defaults and dialect, in 60-80 µs. So ``core.db.unit`` runs the hot requests' transactions
here when the store is an SQLite file (and a statement seen before runs by sqlite3 alone,
compiled once: core.prepared, about 16 µs for that read):

- **One transaction at a time on one connection**: an ``asyncio.Lock`` orders this process's
  units; SQLite admits one writer at a time anyway (every unit begins ``BEGIN IMMEDIATE``, as
  core.db's transactions do, so a read-then-write is serialised as ``FOR UPDATE`` would). A
  ``core.db.read`` takes the same lock but no transaction (``HeldSqlite.read``).
- **Never a wait on the loop's thread**: the busy timeout is 0, and while another connection
  holds the write lock (another worker, or a pooled connection of this one mid-transaction)
  the ``BEGIN`` is repeated after an ``asyncio.sleep`` (``sqlite_inline.when_unlocked``). Once a
  WAL transaction holds the lock, its statements and its commit are never busy; a read's
  statements, outside a transaction, are repeated the same way in the rare case they are.
- **The commit inline, the checkpoint on a thread**: a WAL commit appends to the log and, with
  ``synchronous=NORMAL``, syncs nothing. What can take long is the checkpoint SQLite runs in a
  commit once the log passes a thousand pages, with an fsync, and the sync of the log's new
  header when a commit starts the log over. This connection runs no checkpoint
  (``wal_autocheckpoint=0``); every ``CHECKPOINT_EVERY`` commits a thread of its own runs a
  ``PASSIVE`` checkpoint, which waits for nobody, and starts the log over itself (``_checkpoint``).
- **A refused or cancelled unit changes nothing**: any exception, cancellation included, rolls
  the transaction back before the lock is released. A unit's ``execute`` never suspends, so a unit
  can be cancelled only at an ``await`` of its own, and a commit never half-happens.

The connection is opened at the first unit and closed when its engine is disposed (SQLAlchemy's
``engine_disposed`` event); an engine used again afterwards opens a new one, on a new event loop
too (a test's next ``asyncio.run``). One event loop at a time uses an engine, as a process of
the node does. A unit inside another unit of the same task is refused (the lock would wait for
itself forever).
"""

from __future__ import annotations

import asyncio
import functools
import re
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, cast

from sqlalchemy import Connection, Engine, create_engine
from sqlalchemy.engine import CursorResult, Result
from sqlalchemy.pool import StaticPool

from core.prepared import Statements, listened
from core.sqlite_inline import when_unlocked

CHECKPOINT_EVERY = 200  # commits between checkpoints; SQLite's own default is every 1000 pages


_COUNTED = frozenset({"INSERT", "UPDATE", "DELETE", "REPLACE"})  # what sqlite3 keeps a row count of
_RETURNING = re.compile(r"\bRETURNING\b", re.IGNORECASE)


@functools.lru_cache(maxsize=64)
def _counted(sql: str) -> bool:
    """Whether sqlite3 keeps ``sql``'s row count (``HeldDb.changed_rows``). A function of the text,
    which is one of a few built once (consent/store/log.py): judged once each, not 3 µs a write."""
    return (sql.split(None, 1) or [""])[0].upper() in _COUNTED and not _RETURNING.search(sql)


class HeldDb:
    """What a store function gets from a held unit: ``execute`` as on an ``AsyncConnection``.

    It runs at once, and its result is the synchronous one, with the same methods, but read
    from the open statement rather than fetched whole beforehand: a result read only in part
    would hold its statement open (the commit then fails, and a kept ``SELECT`` pins an old
    snapshot that makes every later ``BEGIN`` busy). So the unit closes every result it handed
    out before it commits or rolls back; read a result inside its unit."""

    __slots__ = ("_driver", "_results", "_statements", "connection", "dialect", "reading")

    def __init__(self, connection: Connection, driver: sqlite3.Connection, statements: Statements,
                 reading: bool = False) -> None:
        self.connection, self.dialect = connection, connection.dialect
        self._driver, self._statements, self.reading = driver, statements, reading
        self._results: list[Result[Any]] = []

    async def execute(self, statement: Any, parameters: Any = None) -> Result[Any]:
        found = self._statements.find(self.dialect, listened(self.connection), statement, parameters)
        if self.reading:  # no transaction holds a snapshot yet: this statement may find SQLite busy
            if found is not None:
                rows: Result[Any] = await when_unlocked(found[0].run_sqlite, self._driver, found[1])
                return rows
            return self._kept(await when_unlocked(self.connection.execute, statement, parameters))
        if found is not None:  # compiled once, run by sqlite3 (core.prepared)
            return found[0].run_sqlite(self._driver, found[1])
        return self._kept(self.connection.execute(statement, parameters))

    async def exec_driver_sql(self, sql: str, parameters: Any = None) -> Result[Any]:
        """SQL as sqlite3 takes it ("?" placeholders, a tuple), as ``AsyncConnection.exec_driver_sql``."""
        if self.reading:
            return self._kept(await when_unlocked(self.connection.exec_driver_sql, sql, parameters))
        return self._kept(self.connection.exec_driver_sql(sql, parameters))

    async def changed_rows(self, sql: str, parameters: tuple[Any, ...]) -> int:
        """A write as sqlite3 takes it, run by sqlite3: the rows it changed (its cursor's ``rowcount``;
        SQLAlchemy's ``exec_driver_sql`` costs three times the statement, issue 15: a consent record's
        leaf). Through SQLAlchemy when it is to see every statement (an event listener:
        core.prepared.listened).

        Refused before it runs, changing nothing: in a read (no transaction to be part of), and a
        statement whose count sqlite3 does not keep: one that does not begin with INSERT, UPDATE,
        DELETE or REPLACE (a ``WITH`` before a write is counted as no write), or one with a
        ``RETURNING`` clause (its count is taken before its rows are read: 0)."""
        if self.reading:
            raise RuntimeError("changed_rows is for a write, in a unit: a read writes nothing")
        if not _counted(sql):
            raise RuntimeError("changed_rows takes an INSERT, UPDATE, DELETE or REPLACE without RETURNING")
        if listened(self.connection):
            return int(cast(CursorResult[Any], await self.exec_driver_sql(sql, parameters)).rowcount)
        cursor = self._driver.execute(sql, parameters)
        count = cursor.rowcount
        cursor.close()
        return count

    def _kept(self, result: CursorResult[Any]) -> CursorResult[Any]:
        """A result with rows is closed by the unit, before it ends (class docstring)."""
        if result.returns_rows:
            self._results.append(result)
        return result

    def close_results(self) -> None:
        for result in self._results:
            result.close()
        self._results.clear()


class HeldSqlite:
    """The held connection of one SQLite file, and its units of work."""

    def __init__(self, database: str, on_connect: Callable[[sqlite3.Connection], None]) -> None:
        self.database = database

        def connect() -> sqlite3.Connection:
            connection = sqlite3.connect(database, timeout=0, check_same_thread=False, isolation_level=None)
            on_connect(connection)
            connection.execute("PRAGMA wal_autocheckpoint=0")  # ours run on a thread (above)
            return connection

        # Made now, connected at the first unit: a listener (a test counting statements) can be
        # on it from the start (core.db.sync_engines).
        self.engine: Engine = create_engine("sqlite://", creator=connect, poolclass=StaticPool)
        self._connection: Connection | None = None
        self._lock: asyncio.Lock | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._owner: asyncio.Task[Any] | None = None
        self._commits = 0
        self._checkpointing: threading.Thread | None = None
        self._statements = Statements()

    def _open(self) -> Connection:
        if self._connection is None or self._connection.invalidated or self._connection.closed:
            self._close_connection()
            self._connection = self.engine.connect()
        return self._connection

    def _ordered(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if self._lock is None or self._loop is not loop:  # a new event loop (a test's next asyncio.run)
            self._lock, self._loop = asyncio.Lock(), loop
        return self._lock

    def unit(self) -> AbstractAsyncContextManager[HeldDb]:
        """A transaction: ``BEGIN IMMEDIATE`` (the write lock, or a wait for it), committed at the end."""
        return self._held(reading=False)

    def read(self) -> AbstractAsyncContextManager[HeldDb]:
        """A read in autocommit (core.db.read: one statement, or statements that need not agree).

        A WAL reader needs no lock another connection holds, so no ``BEGIN IMMEDIATE``: that took
        the write lock for a ``SELECT``, made another worker's writer wait for it, and with its
        ``COMMIT`` cost twice the read itself (issue 15: five of a check's nine transactions are
        reads). Still under the process's lock: another unit's open transaction on this connection
        is not ours to read inside (so a read queued behind a unit of this process that waits for
        another worker's writer still waits with it). A statement SQLite finds busy (a reader can
        be, rarely: WAL recovery) is repeated as ``BEGIN`` is, having changed nothing, whether
        sqlite3 or SQLAlchemy runs it. Nothing here writes: a write in autocommit would be atomic
        with nothing else (and a flag pragma such as ``query_only``, to refuse one, would expire
        every prepared statement of the connection each time)."""
        return self._held(reading=True)

    @asynccontextmanager
    async def _held(self, reading: bool) -> AsyncIterator[HeldDb]:
        task = asyncio.current_task()
        if task is not None and task is self._owner:
            # The lock is not re-entrant: a unit inside a unit of the same task would wait forever.
            raise RuntimeError("a unit of work inside another on the same engine")
        async with self._ordered():
            self._owner = task
            try:
                connection = self._open()
                driver: sqlite3.Connection = connection.connection.driver_connection  # type: ignore[assignment]
                if not reading:
                    await when_unlocked(driver.execute, "BEGIN IMMEDIATE")
                held = HeldDb(connection, driver, self._statements, reading)
                try:
                    yield held
                    held.close_results()
                    connection.commit()
                    if driver.in_transaction:  # no statement ran, so SQLAlchemy began nothing to commit
                        driver.commit()
                except BaseException:
                    held.close_results()
                    connection.rollback()
                    if driver.in_transaction:
                        driver.rollback()
                    raise
            finally:
                self._owner = None
            if reading:
                return
            self._commits += 1
            if self._commits >= CHECKPOINT_EVERY:
                self._checkpoint_soon()

    def _checkpoint_soon(self) -> None:
        if self._checkpointing is not None and self._checkpointing.is_alive():
            return
        self._commits = 0
        self._checkpointing = threading.Thread(target=_checkpoint, args=(self.database,), daemon=True,
                                               name="amana-sqlite-checkpoint")
        self._checkpointing.start()

    def close(self) -> None:
        """Close the connection (it opens again at the next unit). A checkpoint still running
        goes on on its own connection and thread (a daemon): nothing here waits for it."""
        self._close_connection()
        self._checkpointing = None

    def _close_connection(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        self.engine.dispose()


def _checkpoint(database: str) -> None:
    """A ``PASSIVE`` checkpoint on a connection of its own: it copies what no reader still needs
    and waits for nobody; busy (another checkpoint running) it does nothing.

    Once the whole log is copied, the next write transaction starts the log over, and writes and
    syncs its new header (``synchronous=NORMAL`` still syncs there). So a write transaction that
    changes nothing follows here, on this thread, and takes that sync off the loop's next commit."""
    try:
        connection = sqlite3.connect(database, timeout=5, isolation_level=None)
        try:
            busy, log, copied = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            if busy == 0 and log > 0 and log == copied:
                connection.execute("BEGIN IMMEDIATE")
                version = connection.execute("PRAGMA user_version").fetchone()[0]
                connection.execute(f"PRAGMA user_version = {int(version)}")
                connection.execute("COMMIT")
        finally:
            connection.close()
    except sqlite3.Error:
        pass  # the next one, or any pooled connection's own, will do it
