"""The whole suite on PostgreSQL (issue 16, item 5): ``make test-postgres`` puts this directory on
``PYTHONPATH``, so every Python process of the run — pytest and each ``amana`` command or node
it starts — imports it first.

Tests keep every node's state in its data directory, and on SQLite that directory is its
database. Here each data directory gets a PostgreSQL database of its own instead, made on
first use and named after the directory's path: the same isolation, the other store, and no
test had to change. A node given an explicit ``DATABASE_URL`` keeps it.

Test tooling only: nothing in the node knows of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import threading

# Not AMANA_*: tests hand their child processes the environment without AMANA_ variables.
ADMIN_URL = os.environ.get("ON_POSTGRES_ADMIN_URL")


def _install() -> None:
    from sqlalchemy.engine import make_url

    import core.db
    from core.settings import Settings

    admin = make_url(ADMIN_URL or "")
    original = core.db.database_url
    made: set[str] = set()
    lock = threading.Lock()

    def create(name: str) -> None:
        import asyncpg

        async def run() -> None:
            connection = await asyncpg.connect(user=admin.username, password=admin.password, host=admin.host,
                                               port=admin.port or 5432, database=admin.database)
            try:
                if not await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
                    # Another process of the run may make it first.
                    with contextlib.suppress(asyncpg.DuplicateDatabaseError):
                        await connection.execute(f'CREATE DATABASE "{name}"')
            finally:
                await connection.close()

        # Called from inside running event loops too: a thread of its own has none.
        worker = threading.Thread(target=lambda: asyncio.run(run()))
        worker.start()
        worker.join()

    def database_url(settings: Settings) -> str:
        if settings.database_url:
            return original(settings)
        name = "t_" + hashlib.sha256(str(settings.data_dir.resolve()).encode()).hexdigest()[:24]
        with lock:
            if name not in made:
                create(name)
                made.add(name)
        return admin.set(drivername="postgresql+asyncpg", database=name).render_as_string(hide_password=False)

    core.db.database_url = database_url  # type: ignore[assignment]


if ADMIN_URL:
    _install()
