"""SQLite for SQLAlchemy's async engine without a thread hop per statement.

aiosqlite runs every call (each ``execute``, ``fetchall``, ``close`` of a cursor, each
``commit``) on the connection's own thread and wakes the event loop when it is done: two
thread switches per call, about eight per transaction. An SQLite statement of ours takes
microseconds, the hand-off tens of them on an idle core and milliseconds on a busy one (issue
15: a ``SELECT 1`` in its own transaction cost 0.6 ms pinned and 2 ms unpinned; the issuance
flow spent more time waiting for wake-ups than working). Here each call runs at once, on the
event loop's thread: the driver and SQLAlchemy's async interface are unchanged, the hop is gone.

What a call on the loop's thread must never do is wait for another connection's lock: the loop
would stop, and with it the very transaction holding the lock (same process) or every other
request (another process). So the connection's busy timeout is 0 — a locked database answers
``SQLITE_BUSY`` at once — and the call is repeated after a short ``asyncio.sleep`` (0.5 ms,
doubling, at most 10 ms) until ``BUSY_TIMEOUT_S`` has passed, as SQLite's own busy handler
polls, but letting the loop run meanwhile. Repeating is safe: a statement refused with
``SQLITE_BUSY`` changed nothing, and every transaction of ours takes the write lock when it
begins (core.db: ``BEGIN IMMEDIATE``), which is where the waiting happens; once it holds the lock,
a WAL transaction's statements and its commit are never busy. (A read outside any transaction,
core.sqlite_held's ``read``, needs no lock and is repeated statement by statement.)

The commit alone still goes to the connection's thread: one hop per transaction, not per
statement. A commit is where SQLite runs its WAL checkpoint every thousand pages, with an fsync
(``synchronous=NORMAL``) that a busy disk can stretch to seconds; on the loop's thread that
would stop every request of the worker meanwhile.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from typing import Any

import aiosqlite
from sqlalchemy.exc import DBAPIError

BUSY_TIMEOUT_S = 15.0
_RETRY = {sqlite3.SQLITE_BUSY, 261}  # SQLITE_BUSY, SQLITE_BUSY_RECOVERY (never _SNAPSHOT: we begin IMMEDIATE)
_FIRST_PAUSE_S, _LONGEST_PAUSE_S = 0.0005, 0.01


class InlineConnection(aiosqlite.Connection):
    """An aiosqlite connection whose calls run on the caller's thread (the event loop's).

    Opening and closing still go through aiosqlite's thread (once per pooled connection), so
    the sqlite3 connection is made with ``check_same_thread=False``."""

    _committing: asyncio.Future[Any] | None = None

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        if self._committing is not None and not self._committing.done():
            # A task cancelled while its commit ran on the connection's thread leaves that commit
            # running; what comes next on this connection (SQLAlchemy's rollback on the way out,
            # the next transaction) waits for it here, with the loop running, instead of on
            # SQLite's mutex on the loop's thread for as long as the commit's fsync takes.
            await asyncio.wait({self._committing})
        return await when_unlocked(fn, *args, **kwargs)

    async def commit(self) -> None:
        """On aiosqlite's thread, as before: the checkpoint's fsync never stops the loop."""
        self._committing = asyncio.ensure_future(super()._execute(self._conn.commit))  # type: ignore[no-untyped-call]
        self._committing.add_done_callback(_retrieved)  # its error is its caller's, or nobody's once cancelled
        await asyncio.shield(self._committing)


async def when_unlocked(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` on this thread, again after a short ``asyncio.sleep`` (0.5 ms,
    doubling, at most 10 ms) while SQLite answers busy, until ``BUSY_TIMEOUT_S`` has passed."""
    pause, deadline = _FIRST_PAUSE_S, None
    while True:
        try:
            return fn(*args, **kwargs)
        except (sqlite3.OperationalError, DBAPIError) as exc:
            # sqlite3's own error, or SQLAlchemy's around it (a statement SQLAlchemy ran)
            if getattr(getattr(exc, "orig", exc), "sqlite_errorcode", None) not in _RETRY:
                raise
            now = asyncio.get_running_loop().time()
            deadline = now + BUSY_TIMEOUT_S if deadline is None else deadline
            if now >= deadline:
                raise
        await asyncio.sleep(pause)  # another connection holds the write lock: let it finish
        pause = min(pause * 2, _LONGEST_PAUSE_S)


def _retrieved(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


def connect(database: str) -> InlineConnection:
    """What ``create_async_engine(..., async_creator=...)`` calls for each pooled connection."""

    def connector() -> sqlite3.Connection:
        return sqlite3.connect(database, timeout=0, check_same_thread=False)

    connection = InlineConnection(connector, iter_chunk_size=64)
    connection._thread.daemon = True  # as SQLAlchemy's aiosqlite dialect does: never hold up the exit
    return connection
