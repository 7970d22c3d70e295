"""No task holds two connections of one PostgreSQL pool at once: a check made on every test.

Why: a PostgreSQL engine's pool opens nothing beyond its size (core.db.make_engine); a unit of
work past it waits for a connection. A task that held one connection and waited for a second of
the same pool would, under load, wait for itself: with every connection held by such tasks, none
comes back (a stall until the pool's timeout, then a 500). So nesting is a bug even when a test
passes, and this is where it shows. The listeners see every pool of this process (the nodes a
test runs in process); a node in a subprocess is not watched.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Iterator
from typing import Any

from sqlalchemy import event
from sqlalchemy.pool import Pool

_held: Counter[tuple[int, int]] = Counter()  # (task, pool) → connections it holds now
nested: list[str] = []  # what the test in progress did wrong; conftest fails the test on it
_on_purpose: set[int] = set()  # tasks that watch their own schedule on a second connection


@contextlib.contextmanager
def on_purpose() -> Iterator[None]:
    """A test that forces a schedule holds a transaction and watches, on a second connection of
    the same pool, for a rival to queue behind it: that nesting is the test's, and it is allowed."""
    task = id(asyncio.current_task())
    _on_purpose.add(task)
    try:
        yield
    finally:
        _on_purpose.discard(task)


def _key(record: Any) -> tuple[int, int] | None:
    if not type(record.dbapi_connection).__name__.startswith("AsyncAdapt_asyncpg"):
        return None  # SQLite: its units run on a held connection of their own (core.sqlite_held)
    try:
        task = asyncio.current_task()
    except RuntimeError:  # no running loop: a synchronous checkout (a CLI's engine) nests nothing
        return None
    return None if task is None else (id(task), id(record._ConnectionRecord__pool))


def _checkout(_dbapi: Any, record: Any, _proxy: Any) -> None:
    key = _key(record)
    if key is None:
        return
    if _held[key] and key[0] not in _on_purpose:
        task = asyncio.current_task()
        frames = task.get_stack(limit=None) if task is not None else []  # the coroutines (this is a greenlet)
        ours = [f"{frame.f_code.co_filename.rsplit('/', 1)[-1]}:{frame.f_lineno} {frame.f_code.co_name}"
                for frame in frames if "site-packages" not in frame.f_code.co_filename
                and "/lib/python3" not in frame.f_code.co_filename][:6]
        nested.append(f"a task took a second connection of one pool, at {' <- '.join(ours)}")
    _held[key] += 1
    record.info["nesting_key"] = key


def _checkin(_dbapi: Any, record: Any, *_exception: Any) -> None:
    """Back in the pool, or thrown away (invalidated: a failed ping hands out a fresh one)."""
    key = record.info.pop("nesting_key", None)
    if key is not None:
        _held[key] -= 1
        if not _held[key]:
            del _held[key]


def watch() -> None:
    event.listen(Pool, "checkout", _checkout)
    event.listen(Pool, "checkin", _checkin)
    event.listen(Pool, "invalidate", _checkin)
