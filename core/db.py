"""The database: one async SQLAlchemy engine per process, SQLite by default, PostgreSQL by URL.

``DATABASE_URL`` (or ``AMANA_DATABASE_URL``) selects the store; unset, it is the embedded
SQLite file ``$AMANA_DATA_DIR/amana.db``. Schema changes go through Alembic
(``migrations/``); ``upgrade`` runs them at start-up, so a fresh machine needs no step.

SQLite connections get ``foreign_keys=ON`` (off by default there), ``secure_delete=ON``
(deleted rows are overwritten with zeros instead of lingering in free pages) and WAL mode.
Claims never reach the file in the clear in the first place (core.sealing); zeroing is the
second line, for whatever else a row held.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import sqlite3
import time
import weakref
from collections.abc import AsyncIterator, Awaitable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any, cast

import asyncpg
from sqlalchemy import Engine, Table, event, exc
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_dbapi
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.util import greenlet_spawn

from core import sqlite_inline
from core.prepared import AsyncpgDb, Statements
from core.settings import Settings, shipped
from core.sqlite_held import HeldDb, HeldSqlite

MIGRATIONS = shipped("migrations")
# aiosqlite's DEBUG lines echo every statement with its parameters; ours are digests and
# sealed bytes, but a log is no place for them at any level.
logging.getLogger("aiosqlite").setLevel(logging.INFO)


class Base(DeclarativeBase):
    """Every service's tables; each service keeps its own in ``<service>/tables.py``."""


# What a store function runs its statements on: an ORM session, or for the wallet's hot
# requests a bare connection in a transaction (``unit``, issue 15). Statements that work on
# every kind are SQLAlchemy Core: ``execute`` takes them alike.
Db = AsyncSession | AsyncConnection | HeldDb | AsyncpgDb


def engine_of(d: Db) -> Engine:
    """The (synchronous) engine a Db's statements run through: a key for what a process keeps per
    store. An SQLite file's held connection has an engine of its own (core.sqlite_held)."""
    if isinstance(d, AsyncSession):
        return d.get_bind()  # type: ignore[return-value]  # an engine: our sessions are bound to one
    if isinstance(d, AsyncConnection):
        return d.sync_engine
    return d.connection.engine if isinstance(d, HeldDb) else d.sync_engine


async def exec_driver_sql(d: Db, sql: str, parameters: Any) -> Any:
    """SQL as the driver takes it, on any kind of Db, its result SQLAlchemy's."""
    if isinstance(d, AsyncSession):
        d = await d.connection()
    return await d.exec_driver_sql(sql, parameters)


async def changed_rows(d: Db, sql: str, parameters: tuple[Any, ...]) -> int:
    """A write as the driver takes it (for statements SQLAlchemy would compile per call:
    consent/store/log.py's appends), on any kind of Db: how many rows it changed. In a
    PostgreSQL unit asyncpg runs it and its status tells the count (``AsyncpgDb.changed_rows``):
    no SQLAlchemy ``Connection`` made for it (issue 15: the one a check still made); in an SQLite
    file's unit sqlite3 runs it (``HeldDb.changed_rows``)."""
    if isinstance(d, AsyncpgDb | HeldDb):
        return await d.changed_rows(sql, parameters)
    return int((await exec_driver_sql(d, sql, parameters)).rowcount)


async def later(d: Db, statement: Any, parameters: Any) -> None:
    """A write whose result (rows, row count) nobody reads, in the unit's order: on PostgreSQL sent
    with the unit's other such writes as one statement before its next read or its commit
    (``AsyncpgDb.later``: a round trip each was most of an issuance's database cost, issue 15);
    elsewhere run now. A failure shows then, and rolls the unit back as any other.

    Only for an ``INSERT … VALUES`` or an ``UPDATE`` that reads no table but its own (no
    subquery), in a unit (``unit``, not ``read``): writes sent together run on one snapshot, so
    none may depend on another's effect but through a foreign key (checked at the statement's
    end). Any other statement runs now."""
    if isinstance(d, AsyncpgDb):
        await d.later(statement, parameters)
        return
    if isinstance(d, AsyncSession):
        await d.flush()  # objects added before go first (a Core statement does not flush them)
    await d.execute(statement, parameters)


def table_of(mapped: Any) -> Table:
    """The Core ``Table`` of a mapped class, for statements built once (typed: ``__table__`` is a
    ``FromClause`` to the type checker)."""
    return cast(Table, mapped.__table__)


def dialect_name(db: Db) -> str:
    return db.get_bind().dialect.name if isinstance(db, AsyncSession) else db.dialect.name


_FAILED = (exc.OperationalError, exc.InterfaceError, exc.TimeoutError, OSError, TimeoutError,
           sqlite3.OperationalError, sqlite3.InterfaceError,  # what SQLAlchemy wraps as its two above
           asyncpg.InterfaceError, asyncpg.PostgresConnectionError, asyncpg.exceptions.OperatorInterventionError,
           asyncpg.exceptions.InsufficientResourcesError, AsyncAdapt_asyncpg_dbapi.InterfaceError,
           AsyncAdapt_asyncpg_dbapi.OperationalError)


def database_failed(error: BaseException) -> bool:
    """Whether an error says the database, or the way to it, failed (not that it refused one
    statement's data), in whichever layer's words: SQLAlchemy's; sqlite3's own (the statements an
    SQLite file's unit runs by sqlite3: core.sqlite_held); asyncpg's own (the statements
    core.prepared runs, a unit's end); SQLAlchemy's asyncpg adapter's, read down to the asyncpg
    error it was raised from (a transaction begun on a closed connection, a server shutting down);
    a pool that gave no connection in time (SQLAlchemy's ``TimeoutError``, not the built-in one).
    asyncpg's client-side ``DataError`` (a value it cannot send: an ``InterfaceError`` and a
    ``ValueError``) is one row's fault, not the database's."""
    chain = _causes(error)
    if any(isinstance(one, asyncpg.InterfaceError) and isinstance(one, ValueError) for one in chain):
        return False
    return any(isinstance(one, _FAILED) for one in chain)


_UNKEEPABLE = (asyncpg.CharacterNotInRepertoireError, asyncpg.UntranslatableCharacterError)


def value_refused(error: BaseException) -> bool:
    """Whether PostgreSQL refused a value the request carried for text it cannot hold (a NUL, a
    character its encoding lacks), in whichever layer's words: the request's fault, not the
    database's. SQLite keeps such text and finds nothing by it (helper-74: ``GET
    /verifier/requests/%00`` was a 500 on PostgreSQL)."""
    return any(isinstance(one, _UNKEEPABLE) for one in _causes(error))


_KEY_TAKEN = (asyncpg.UniqueViolationError, sqlite3.IntegrityError, exc.IntegrityError)


def unique_violation(error: BaseException) -> bool:
    """Whether an error may say a row's key is taken, in whichever layer's words (asyncpg's own,
    sqlite3's own, SQLAlchemy's wrapping of either). SQLite's ``IntegrityError`` (and SQLAlchemy's)
    stands for other constraints too: a caller confirms by reading the key (consent.ledger)."""
    return any(isinstance(one, _KEY_TAKEN) for one in _causes(error))


def _causes(error: BaseException) -> list[BaseException]:
    """``error`` and what it was raised from, in order (a cycle ends the walk)."""
    chain: list[BaseException] = []
    cause: BaseException | None = error
    while cause is not None and cause not in chain:
        chain.append(cause)
        cause = cause.__cause__
    return chain


_HELD: weakref.WeakKeyDictionary[AsyncEngine, HeldSqlite] = weakref.WeakKeyDictionary()


def unit(engine: AsyncEngine) -> AbstractAsyncContextManager[AsyncConnection | HeldDb | AsyncpgDb]:
    """A transaction for the wallet's hot requests, committed at the end and rolled back on any
    exception: on an SQLite file, on the engine's held connection (core.sqlite_held); elsewhere
    on a pooled bare connection (``engine.begin()``), on PostgreSQL with its statements run by
    asyncpg itself once compiled (core.prepared)."""
    held = _HELD.get(engine)
    if held is not None:
        return held.unit()
    return _by_driver(engine, autocommit=False) if _asyncpg(engine) else engine.begin()


_STATEMENTS: weakref.WeakKeyDictionary[AsyncEngine, Statements] = weakref.WeakKeyDictionary()


def _asyncpg(engine: AsyncEngine) -> bool:
    """Whether the unit may hold the pool's asyncpg connection itself (``_by_driver``)."""
    return engine.dialect.driver == "asyncpg" and AsyncpgDb.FITS


@contextlib.asynccontextmanager
async def _by_driver(engine: AsyncEngine, *, autocommit: bool, limit: int | None = None) -> AsyncIterator[AsyncpgDb]:
    """A unit on PostgreSQL: the pool's connection taken in one hop into SQLAlchemy's greenlet
    (the checkout, with its ping if the connection sat idle), statements run by asyncpg
    (core.prepared), the transaction ended by asyncpg, the connection given back in one hop.

    Not through SQLAlchemy's ``Connection`` (``engine.begin()``): making one, setting autocommit on
    it, its commit through a greenlet and its close made each unit cost 40-55 µs of CPU more
    (issue 15: a read 110 µs where its statement is 35; a check takes 10 units, an issuance 3;
    bench/HISTORY.md). A unit that fails, or whose request is cancelled, still rolls back and gives its
    connection back (``_abandon``): a connection never returned is lost to a pool that opens no
    more (``make_engine``)."""
    statements = _STATEMENTS.get(engine)
    if statements is None:
        statements = _STATEMENTS[engine] = Statements()
    pooled = await greenlet_spawn(engine.sync_engine.raw_connection)
    db = AsyncpgDb(engine, pooled, statements, autocommit=autocommit, limit=limit)
    try:
        yield db
        await db.flush(last=True)  # the writes left for the end, before the commit (only when the block ended normally)
        await db.end(commit=True)
    except BaseException:
        await _to_completion(_abandon(db))
        raise
    await greenlet_spawn(db.check_in)  # nothing left to send: it runs through without waiting


async def _abandon(db: AsyncpgDb) -> None:
    """A unit that failed: rolled back and given back, or closed when its state is unknown (a
    statement or its commit cut short, a rollback that did not finish): the pool opens another in
    its place."""
    broken = db.interrupted
    try:
        if not broken:
            await db.end(commit=False)
    except Exception:
        broken = True  # the rollback failed: the unit's own error is the one raised
    except BaseException:
        broken = True
        raise
    finally:
        await greenlet_spawn(db.check_in, invalidate=broken)


async def _to_completion(work: Awaitable[None]) -> None:
    """``work`` finished even if the caller is cancelled while it runs; the cancellation is raised
    once it has (a connection handed back half-way would be lost to its pool). SQLAlchemy's
    ``AsyncConnection`` closes itself so (``ext.asyncio.base._run_to_completion``), but that
    helper is private, so this is its twin rather than an import that a release may break."""
    task = asyncio.ensure_future(work)
    cancelled: BaseException | None = None
    while True:
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError as error:
            if task.done():
                raise
            cancelled = error
        else:
            break
    if cancelled is not None:
        raise cancelled


def single(engine: AsyncEngine) -> AbstractAsyncContextManager[AsyncConnection | HeldDb | AsyncpgDb]:
    """A unit of one statement, atomic by itself (a conditional ``UPDATE … RETURNING``): on
    PostgreSQL sent outside a transaction block, where it runs in a transaction of its own, all
    of it or none (one round trip, not three with ``BEGIN`` and ``COMMIT``; issue 15); a second
    statement is refused (``AsyncpgDb``), after the first has committed: a guard against a
    programming error, not a rollback. Elsewhere a unit as ``unit`` gives. Should SQLAlchemy's
    asyncpg adapter ever lack what ``AsyncpgDb`` uses, this is SQLAlchemy's ``engine.begin()``,
    where nothing counts statements: callers give it one, as its name says."""
    held = _HELD.get(engine)
    if held is not None:
        return held.unit()
    return _by_driver(engine, autocommit=True, limit=1) if _asyncpg(engine) else engine.begin()


def read(engine: AsyncEngine) -> AbstractAsyncContextManager[AsyncConnection | HeldDb | AsyncpgDb]:
    """A hot request's read of one statement: on PostgreSQL outside any transaction, where
    asyncpg's ``BEGIN`` and ``COMMIT`` are a round trip each and one statement sees one snapshot
    anyway (issue 15: an offer fetch was 3 round trips for 1 statement); on an SQLite file,
    in autocommit on the held connection (core.sqlite_held: no ``BEGIN IMMEDIATE``). Only for a
    read that is one statement, or whose statements need not agree."""
    held = _HELD.get(engine)
    if held is not None:
        return held.read()
    return _by_driver(engine, autocommit=True) if _asyncpg(engine) else _autocommit(engine)


@contextlib.asynccontextmanager
async def _autocommit(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A pooled connection in autocommit, set on the connection (no round trip on asyncpg: the
    adapter only stops beginning transactions) and reset by the pool when it goes back. Not an
    ``execution_options`` engine: that one works through an ``engine_connect`` listener, and a
    listener on the engine keeps every statement off core.prepared's path."""
    async with engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        yield connection


def sync_engines(engine: AsyncEngine) -> list[Engine]:
    """Every engine the store's statements run through (for event listeners): the async engine's,
    and its held connection's where there is one."""
    held = _HELD.get(engine)
    return [engine.sync_engine] + ([held.engine] if held is not None else [])


def dialect_insert(db: Db, table: Any) -> Any:
    """``INSERT`` of the session's dialect, which has ``on_conflict_do_nothing`` / ``_do_update``
    (SQLite and PostgreSQL spell the upsert alike): insert-or-ignore and upsert are one
    statement, never a read followed by an insert that a concurrent request can beat."""
    return insert_of(dialect_name(db), table)


def insert_of(dialect: str, table: Any) -> Any:
    """``INSERT`` for the dialect named: statements built once per dialect (issue 15) use it."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)


def private_dir(path: Path) -> None:
    """A directory only the node's user can enter (0700), made if missing."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.chmod(0o700)


def _private_database_file(database: Path) -> None:
    """The SQLite file readable by the node's user only (0600), made before SQLite opens it:
    SQLite gives its WAL, SHM and journal files the database file's mode, so they follow.
    They hold sealed secrets and digests, which are still nobody else's business."""
    # Never open an existing database file here: closing any descriptor of it drops every POSIX
    # lock this process holds on it, SQLite's included (seen as "disk I/O error" under load).
    with contextlib.suppress(FileExistsError):
        os.close(os.open(database, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600))  # an empty file is an empty database
    for suffix in ("", "-wal", "-shm", "-journal"):
        candidate = database.with_name(database.name + suffix)
        if candidate.exists() and candidate.stat().st_mode & 0o077:
            candidate.chmod(0o600)


def database_url(settings: Settings) -> str:
    if settings.database_url:
        url = make_url(settings.database_url)
        if url.drivername in ("postgresql", "postgres"):
            url = url.set(drivername="postgresql+asyncpg")
        return url.render_as_string(hide_password=False)
    return f"sqlite+aiosqlite:///{settings.data_dir / 'amana.db'}"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any, *, busy_timeout_ms: int = 0) -> None:
    cursor = dbapi_connection.cursor()
    # WAL + synchronous=NORMAL: one fsync per checkpoint instead of several per commit, and
    # readers never wait for the writer. Durable across process crashes; a power cut may
    # lose the last commits, never corrupt the file. busy_timeout=0 on a file: a locked database
    # answers at once and core.sqlite_inline waits for it without stopping the event loop.
    for pragma in (f"busy_timeout={busy_timeout_ms}", "foreign_keys=ON", "secure_delete=ON", "journal_mode=WAL",
                   "synchronous=NORMAL"):
        cursor.execute(f"PRAGMA {pragma}")
        if pragma == "journal_mode=WAL" and busy_timeout_ms == 0:
            # SQLite keeps its old journal where WAL cannot work (some network filesystems) and says
            # so only in this answer. core.sqlite_inline relies on WAL (a writer holding the lock is
            # never refused mid-transaction or at its commit): refuse to run rather than fail at random.
            mode = (cursor.fetchone() or ("?",))[0]
            if str(mode).lower() != "wal":
                cursor.close()
                raise RuntimeError(f"SQLite cannot use write-ahead logging here (journal mode {mode}): put the "
                                   "data directory on a local disk, or use PostgreSQL (DATABASE_URL)")
    cursor.close()


def _sqlite_no_implicit_begin(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite (and aiosqlite over it) opens a transaction only at the first write, so the
    # reads before it see a snapshot another writer may already have changed. We begin ourselves.
    dbapi_connection.isolation_level = None


def _sqlite_begin_immediate(connection: Any) -> None:
    """Every transaction takes SQLite's write lock when it begins (``BEGIN IMMEDIATE``).

    A read-then-write (the PIN lock, the single-use code, a sign-in counter) is then
    serialised as PostgreSQL's ``SELECT … FOR UPDATE`` serialises it: ``with_for_update()``
    compiles to nothing on SQLite, and a deferred transaction lets two writers read the same
    row before either writes (issue 11: 27 of 50 concurrent wrong PINs were checked, not 5).
    SQLite has one writer at a time anyway; WAL readers outside a transaction are not held up."""
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str, pool: int = 5) -> AsyncEngine:
    """SQLite: the held connection (core.sqlite_held) and the pragmas. PostgreSQL: a pool of
    ``pool`` connections (``Settings.database_pool``), opened as needed and kept; a unit of work
    past them waits for one to come back.

    No overflow: SQLAlchemy's default opens up to 10 more at a peak and closes each when it comes
    back, so every unit past the pool opened a connection (a server process forked, the SCRAM
    exchange, its statements prepared again) and closed it. Under bench.load's 50 wallets that
    was 840 connections in 40 seconds, and one worker did 82-84 flows a second where, waiting for
    a pooled connection instead, it does 130-136 (issue 15, bench/HISTORY.md). A wait costs nothing but the
    wait: two cores do no more at once than 16 units. So a task must never hold a connection of a
    pool while it waits for another of the same pool, itself or through a task it awaits (the
    verifier's consent records: recorded before the answer's unit opens). tests/pool_nesting
    checks the first kind on every test that runs a PostgreSQL node in process.
    Every service of a worker has its own engine, so PostgreSQL's ``max_connections`` must cover
    workers × services × pool (README, "Running it for real")."""
    if url.startswith("sqlite"):
        path = make_url(url).database
        if path and path != ":memory:":
            private_dir(Path(path).parent)
            _private_database_file(Path(path))
        # A file: each statement runs on the event loop's thread (core.sqlite_inline), not a hop
        # to aiosqlite's. ":memory:" keeps aiosqlite as it is (each connection its own database).
        inline = path is not None and path not in ("", ":memory:")
        engine = create_async_engine(url, async_creator=functools.partial(sqlite_inline.connect, path or "")) if (
            inline) else create_async_engine(url)
        pragmas = functools.partial(_sqlite_pragmas, busy_timeout_ms=0 if inline else 15000)
        event.listen(engine.sync_engine, "connect", pragmas)
        event.listen(engine.sync_engine, "connect", _sqlite_no_implicit_begin)
        event.listen(engine.sync_engine, "begin", _sqlite_begin_immediate)
        if inline:
            held = _HELD[engine] = HeldSqlite(path or "", lambda connection: _sqlite_pragmas(connection, None))
            event.listen(engine.sync_engine, "engine_disposed", lambda _engine: held.close())
        return engine
    engine = create_async_engine(url, pool_size=pool, max_overflow=0)
    event.listen(engine.sync_engine.pool, "checkin", _note_checkin)
    event.listen(engine.sync_engine.pool, "checkout", _ping_if_idle)
    return engine


IDLE_PING_S = 5.0  # a pooled PostgreSQL connection unused this long is pinged before it is handed out


def _note_checkin(_dbapi_connection: Any, record: Any) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """``pool_pre_ping``, but only for a connection that sat idle (issue 15).

    asyncpg's ping is three round trips (``BEGIN``, ``;``, ``ROLLBACK``), and ``pool_pre_ping``
    made them before every unit of work: 9 of an issuance's 32. A connection is lost while it sits
    in the pool (the server restarted, a proxy's idle timeout); one that came back moments ago
    is not worth asking. Raising ``DisconnectionError`` here is SQLAlchemy's documented way to
    have the pool throw the connection away and hand out a fresh one instead."""
    idle_since = record.info.get("idle_since")
    if idle_since is None or time.monotonic() - idle_since < IDLE_PING_S:
        return
    try:
        dbapi_connection.ping()
    except Exception as error:  # whatever the driver raises for a dead socket
        raise exc.DisconnectionError("a pooled connection did not answer its ping") from error


def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


_MIGRATION_LOCK = 0x616D616E61  # "amana": the advisory-lock key every node's migration takes


async def upgrade(engine: AsyncEngine) -> None:
    """Bring the schema to the newest Alembic revision (idempotent)."""
    from alembic import command
    from alembic.config import Config

    def run(connection: Any) -> None:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = connection
        command.upgrade(config, "head")

    async with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Several workers start at once (``amana serve --workers N``, or a fleet behind a load
            # balancer): one migrates, the others wait here, then find nothing left to do. The lock is
            # the transaction's, so a crash releases it. SQLite needs none: its BEGIN IMMEDIATE
            # already admits one writer at a time.
            await connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})")
        await connection.run_sync(run)
