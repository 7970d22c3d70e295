"""What a node's store holds, read whole, for the privacy tests that look for values in it.

On SQLite, the database files as bytes, read by a child process: opening and closing a database
file in the process that runs the node drops every POSIX lock the node's SQLite connections hold
on it (POSIX locks belong to the process, and any ``close`` of the file releases them: core.db
says the same), and a later connection then meets a "disk I/O error". On PostgreSQL
(``make test-postgres``), every row of every table."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from core import db
from core.settings import Settings

_CAT = "import sys; [sys.stdout.buffer.write(open(p, 'rb').read()) for p in sys.argv[1:]]"


def raw_bytes(directory: Path, pattern: str) -> bytes:
    paths = sorted(str(p) for p in directory.glob(pattern))
    return subprocess.run([sys.executable, "-c", _CAT, *paths], capture_output=True, check=True).stdout


def stored_bytes(settings: Settings) -> bytes:
    """The SQLite files of ``settings``' store, or every row of its PostgreSQL tables."""
    url = db.database_url(settings)
    if url.startswith("sqlite"):
        return raw_bytes(settings.data_dir, "amana.db*")

    async def dump() -> bytes:
        engine = db.make_engine(url)
        try:
            rows = []
            async with engine.connect() as connection:
                for table in db.Base.metadata.sorted_tables:
                    rows += [repr(tuple(row)).encode() for row in (await connection.execute(select(table))).all()]
            return b"\n".join(rows)
        finally:
            await engine.dispose()

    return asyncio.run(dump())
