"""One SQLite connection per engine for the wallet's hot requests, used on the event loop's thread.

What a transaction costs on the pooled async engine (issue 15, ``python -m bench.db_layers``):
about 400 µs of CPU for an indexed read and an update, when SQLite itself spends about 9 µs.
The rest is the async layers: the pool's checkout and return, a greenlet switch per statement,
aiosqlite's cursor wrappers, and the commit's hop to aiosqlite's thread and back. SQLAlchemy's
synchronous Core on one connection held open runs the same statements, with the same types,
defaults and dialect, in 60-80 µs. So ``core.db.unit`` runs the hot requests' transactions
here when the store is an SQLite file:

- **One transaction at a time on one connection**: an ``asyncio.Lock`` orders this process's
  units; SQLite admits one writer at a time anyway (every unit begins ``BEGIN IMMEDIATE``, as
  core.db's transactions do, so a read-then-write is serialised as ``FOR UPDATE`` would).
- **Never a wait on the loop's thread**: the busy timeout is 0, and while another connection
  holds the write lock (another worker, or a pooled connection of this one mid-transaction)
  the ``BEGIN`` is repeated after an ``asyncio.sleep`` (``sqlite_inline.when_unlocked``). Once a
  WAL transaction holds the lock, its statements and its commit are never busy.
- **The commit inline, the checkpoint on a thread**: a WAL commit appends to the log and, with
  ``synchronous=NORMAL``, syncs nothing. What can take long is the checkpoint SQLite runs in a
  commit once the log passes a thousand pages, with an fsync. This connection runs none
  (``wal_autocheckpoint=0``); every ``CHECKPOINT_EVERY`` commits a thread of its own runs a
  ``PASSIVE`` checkpoint, which waits for nobody.
- **A refused or cancelled unit changes nothing**: any exception, cancellation included, rolls
  the transaction back before the lock is released. ``execute`` here never suspends, so a unit
  can be cancelled only at an ``await`` of its own, and a commit never half-happens.

The connection is opened at the first unit and closed when its engine is disposed (SQLAlchemy's
``engine_disposed`` event); an engine used again afterwards opens a new one.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine
from sqlalchemy.engine import Result
from sqlalchemy.pool import StaticPool

from core.sqlite_inline import when_unlocked

CHECKPOINT_EVERY = 200  # commits between checkpoints; SQLite's own default is every 1000 pages


class HeldDb:
    """What a store function gets from a held unit: ``execute`` as on an ``AsyncConnection``
    (it runs at once; the result is the synchronous one, with the same methods)."""

    __slots__ = ("connection", "dialect")

    def __init__(self, connection: Connection) -> None:
        self.connection, self.dialect = connection, connection.dialect

    async def execute(self, statement: Any, parameters: Any = None) -> Result[Any]:
        return self.connection.execute(statement, parameters)


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
        self._commits = 0
        self._checkpointing: threading.Thread | None = None

    def _open(self) -> Connection:
        if self._connection is None or self._connection.invalidated or self._connection.closed:
            self.close()
            self._connection = self.engine.connect()
        return self._connection

    def _ordered(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if self._lock is None or self._loop is not loop:  # a new event loop (a test's next asyncio.run)
            self._lock, self._loop = asyncio.Lock(), loop
        return self._lock

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[HeldDb]:
        async with self._ordered():
            connection = self._open()
            driver: sqlite3.Connection = connection.connection.driver_connection  # type: ignore[assignment]
            await when_unlocked(driver.execute, "BEGIN IMMEDIATE")
            try:
                yield HeldDb(connection)
                connection.commit()
                if driver.in_transaction:  # no statement ran, so SQLAlchemy began nothing to commit
                    driver.commit()
            except BaseException:
                connection.rollback()
                if driver.in_transaction:
                    driver.rollback()
                raise
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
        """Close the connection (it opens again at the next unit)."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        self.engine.dispose()
        if self._checkpointing is not None:
            self._checkpointing.join()
            self._checkpointing = None


def _checkpoint(database: str) -> None:
    """A ``PASSIVE`` checkpoint on a connection of its own: it copies what no reader still needs
    and waits for nobody; busy (another checkpoint running) it does nothing."""
    try:
        connection = sqlite3.connect(database, timeout=0, isolation_level=None)
        try:
            connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            connection.close()
    except sqlite3.Error:
        pass  # the next one, or any pooled connection's own, will do it
