"""The SQL of every statement asyncpg is given, for tests that count round trips to PostgreSQL
(``execute``, ``fetch`` and ``executemany``: core.prepared's statements, ``BEGIN`` and ``COMMIT``
too; SQLAlchemy's own first sight of a statement goes through a prepared statement, not these)."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest


def record_sent(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Each statement's SQL is appended to the list returned, from now to the test's end."""
    sent: list[str] = []
    for name in ("execute", "fetch", "executemany"):
        real = getattr(asyncpg.Connection, name)

        async def one(self: Any, query: str, *args: Any, _real: Any = real, **kwargs: Any) -> Any:
            sent.append(query)
            return await _real(self, query, *args, **kwargs)

        monkeypatch.setattr(asyncpg.Connection, name, one)
    return sent
