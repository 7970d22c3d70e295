"""Forced schedules on PostgreSQL: wait until so many backends of the test's database wait for a
lock, the sign that the request sent last has reached the lock the test holds for it.

Each poll must run in a transaction of its own. A backend reads ``pg_stat_activity`` from a
snapshot it takes at the first read in a transaction and keeps until the transaction ends
(PostgreSQL 15 documentation, section 28.2.2, "Viewing Statistics"): a watcher that polls in one
long transaction never sees a backend that connected after its first poll. That was the
rotation test's flake under CPU load (session 21's note on issue 15): the second rotation's
backend was waiting for its lock all along, absent only from the watcher's stale snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

WAITING_FOR_A_LOCK = ("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                      "AND datname = current_database()")


async def until_waiting(scalar: Callable[[str], Awaitable[Any]], count: int) -> None:
    """Until ``count`` backends wait for a lock; a schedule that never gets there fails after 30 s.

    ``scalar`` runs a query on a connection of the test's own and gives its one value, each call
    in a transaction of its own (an asyncpg connection outside a transaction does; for
    SQLAlchemy's, ``scalar_alone``)."""
    for _ in range(600):
        if await scalar(WAITING_FOR_A_LOCK) >= count:
            return
        await asyncio.sleep(0.05)
    seen = await scalar(BACKENDS)
    raise AssertionError(f"fewer than {count} requests ever waited for a lock; the server's client backends "
                         f"(pid, state, wait): {seen}")


@contextlib.asynccontextmanager
async def rows_held(database_url: str, hold: Callable[[Any], Awaitable[Any]]
                    ) -> AsyncIterator[tuple[Callable[[int], Awaitable[None]], Callable[[], Awaitable[None]]]]:
    """A connection of the test's own takes row locks (``hold``, in its transaction) for the body,
    which gets ``until(count)`` (``until_waiting``, on a watcher in autocommit) and ``release()``
    (the holder's transaction rolled back)."""
    import asyncpg

    dsn = database_url.replace("postgresql+asyncpg://", "postgresql://")
    holder, watcher = await asyncpg.connect(dsn), await asyncpg.connect(dsn)
    try:
        holding = holder.transaction()
        await holding.start()
        await hold(holder)

        async def until(count: int) -> None:
            await until_waiting(watcher.fetchval, count)

        yield until, holding.rollback
    finally:
        await holder.close()
        await watcher.close()


def scalar_alone(connection: Any) -> Callable[[str], Awaitable[Any]]:
    """``until_waiting``'s ``scalar`` on a SQLAlchemy ``AsyncConnection``: the query, then the
    transaction SQLAlchemy began for it ended, so that the next poll reads a fresh snapshot."""
    from sqlalchemy import text

    async def scalar(query: str) -> Any:
        try:
            return await connection.scalar(text(query))
        finally:
            await connection.rollback()

    return scalar


# What a schedule that never got there leaves to read: every client backend of the server.
BACKENDS = ("SELECT string_agg(pid || ' ' || coalesce(state, '-') || ' ' || coalesce(wait_event_type, '-') || ':' "
            "|| coalesce(wait_event, '-'), '; ' ORDER BY pid) FROM pg_stat_activity "
            "WHERE backend_type = 'client backend'")
