"""Alembic environment: runs on the connection ``core.db.upgrade`` hands over (sync, inside run_sync)."""

from __future__ import annotations

from alembic import context

import consent.store.log
import consent.store.records  # noqa: F401
import core.sessions  # noqa: F401
import issuer.tables  # noqa: F401  (registers the issuer's tables on Base.metadata)
import verifier.tables  # noqa: F401
import wallet.tables  # noqa: F401
from core.db import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only `alembic` on the command line, offline
    raise SystemExit("run migrations through core.db.upgrade (amana serve does it at start-up)")
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
