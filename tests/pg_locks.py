"""Forced schedules on PostgreSQL: wait until so many backends of the test's database wait for a
lock, the sign that the request sent last has reached the lock the test holds for it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

WAITING_FOR_A_LOCK = ("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                      "AND datname = current_database()")


async def until_waiting(scalar: Callable[[str], Awaitable[Any]], count: int) -> None:
    """Until ``count`` backends wait for a lock (``scalar`` runs a query on a connection of the
    test's own and gives its one value); a schedule that never gets there fails after 30 s."""
    for _ in range(600):
        if await scalar(WAITING_FOR_A_LOCK) >= count:
            return
        await asyncio.sleep(0.05)
    seen = await scalar(BACKENDS)
    raise AssertionError(f"fewer than {count} requests ever waited for a lock; the server's client backends "
                         f"(pid, state, wait): {seen}")


# What a schedule that never got there leaves to read: every client backend of the server (a
# request whose backend is missing here never reached the server; session 21's note on issue 15).
BACKENDS = ("SELECT string_agg(pid || ' ' || coalesce(state, '-') || ' ' || coalesce(wait_event_type, '-') || ':' "
            "|| coalesce(wait_event, '-'), '; ' ORDER BY pid) FROM pg_stat_activity "
            "WHERE backend_type = 'client backend'")
