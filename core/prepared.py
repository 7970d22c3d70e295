"""The hot requests' statements compiled once and run by the driver itself: sqlite3, or asyncpg.

SQLAlchemy's ``execute`` costs 30-40 µs of CPU a statement on the held SQLite connection
(core.sqlite_held), where sqlite3 spends 3-8 µs on the same indexed read or update: for each
execution it computes the statement's cache key, finds the compiled form, builds an execution
context and a cursor result (issue 15: about a fifth of the worker's CPU for an issuance, 17
statements). On PostgreSQL the same machinery runs, and then a greenlet switch into asyncpg, for
every statement. The hot requests' statements are built once, as module constants with
``bindparam`` for what varies (issuer.store.protocol, verifier.store). So the second time a
statement object comes with the same parameter names, it is compiled once for good, for the
connection's dialect, and from then on runs as:

- its parameters resolved as SQLAlchemy's ``construct_params`` resolves them (a given name, else
  the parameter's own value or callable), through each type's bind processor, in the SQL's order;
- the driver's own call: ``sqlite3``'s ``execute``, every row fetched and the cursor closed at
  once (no statement left open to hold the commit back); asyncpg's ``fetch`` (its statement
  cache prepares it once per connection) on the unit's connection, inside its transaction;
- each column through its type's result processor (JSON parsed, Boolean made ``bool``), into
  SQLAlchemy's own ``IteratorResult``, so a store function reads its rows as before.

Several parameter sets for a plain ``INSERT`` (no ``RETURNING``, no ``ON CONFLICT``) go in by the
driver's own ``executemany``: each row goes in or the statement fails, so its row count is the
number of sets. A statement built anew for each call is never the same object twice, and stays
with SQLAlchemy. So does anything this does not run exactly as SQLAlchemy would: several
parameter sets for anything else, an ``IN`` list (expanding parameters), a column default computed at execution
(an insert or update that leaves such a column out), result columns with the same name twice,
and every statement while an event listener is on the engine or connection (a test counting
statements sees them all). ``tests/test_prepared.py`` compares both ways' results on both stores.

On asyncpg a failing statement raises asyncpg's own error, not SQLAlchemy's: the hot requests
catch none (a refusal there is a 500, its type logged), and the unit rolls back as before.

No library does this: SQLAlchemy's compiled cache and asyncpg's statement cache are their fast
paths, and SQLAlchemy's still goes through the per-execution machinery above.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy import Connection, Dialect, Engine, PoolProxiedConnection
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection
from sqlalchemy.engine.result import IteratorResult, SimpleResultMetaData
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.dml import Delete, Insert, Update
from sqlalchemy.sql.selectable import Select

_KINDS = (Select, Insert, Update, Delete)
Parameters = dict[str, Any] | list[dict[str, Any]]  # one set, or a plain INSERT's rows
KEEP = 512  # compiled statements (and statements seen once) kept per store, then forgotten


@dataclass(frozen=True, slots=True)
class Prepared:
    statement: Any  # held, so its id() is not reused while it is a key
    sql: str
    # per parameter in the SQL's order: the name it is given by (None: its own value, or what its
    # callable gives), its own value, its callable, and its type's bind processor
    sources: tuple[tuple[str | None, Any, Callable[[], Any] | None, Callable[[Any], Any] | None], ...]
    metadata: SimpleResultMetaData | None  # result columns, None when the statement returns no rows
    loaders: tuple[Callable[[Any], Any] | None, ...] | None  # None when no column needs one

    def arguments(self, parameters: dict[str, Any]) -> list[Any]:
        out = []
        for name, own, make, binder in self.sources:
            value = parameters[name] if name is not None else own if make is None else make()
            out.append(value if binder is None else binder(value))
        return out

    def result(self, rows: list[Any], count: int) -> Rows:
        if self.loaders is not None:
            rows = [tuple(value if load is None else load(value) for value, load in zip(row, self.loaders, strict=True))
                    for row in rows]
        return Rows(self.metadata or _NO_COLUMNS, iter(rows), count)

    def run_sqlite(self, driver: sqlite3.Connection, parameters: Parameters) -> Rows:
        if isinstance(parameters, list):  # a plain INSERT's rows (Statements.find)
            driver.executemany(self.sql, [self.arguments(one) for one in parameters]).close()
            return self.result([], len(parameters))
        cursor = driver.execute(self.sql, self.arguments(parameters))
        try:
            rows = cursor.fetchall() if self.metadata is not None else []
            count = cursor.rowcount
        finally:
            cursor.close()
        return self.result(rows, count)

    async def run_asyncpg(self, driver: Any, parameters: Parameters) -> Rows:
        if isinstance(parameters, list):  # a plain INSERT's rows (Statements.find)
            await driver.executemany(self.sql, [self.arguments(one) for one in parameters])
            return self.result([], len(parameters))
        if self.metadata is not None:
            rows = await driver.fetch(self.sql, *self.arguments(parameters))
            return self.result([tuple(row) for row in rows], len(rows))
        status = await driver.execute(self.sql, *self.arguments(parameters))  # "UPDATE 2", "INSERT 0 1"
        return self.result([], int(status.rsplit(" ", 1)[-1]) if status[-1:].isdigit() else -1)


_NO_COLUMNS = SimpleResultMetaData(())


class Rows(IteratorResult[Any]):
    """SQLAlchemy's result of rows already fetched, with the ``rowcount`` a cursor result has."""

    def __init__(self, metadata: SimpleResultMetaData, rows: Any, rowcount: int) -> None:
        super().__init__(metadata, rows)
        self.rowcount = rowcount


class Statements:
    """The compiled statements of one store (one engine, one dialect)."""

    def __init__(self) -> None:
        self.prepared: dict[tuple[int, frozenset[str]], Prepared | None] = {}
        self.seen: dict[tuple[int, frozenset[str]], Any] = {}
        self.combined: dict[tuple[tuple[int, int], ...], tuple[str, tuple[Prepared, ...]]] = {}  # by statements, rows

    def find(self, dialect: Dialect, listened: bool, statement: Any, parameters: Any
             ) -> tuple[Prepared, Parameters] | None:
        """The compiled statement and its parameters (one set, or a plain INSERT's several), or None:
        SQLAlchemy is to run this one. ``listened``: an event listener is on the engine or the
        connection (``listened(connection)``); it must see every statement, so SQLAlchemy runs them all."""
        if isinstance(parameters, list):
            if len(parameters) != 1:
                return self._rows(dialect, listened, statement, parameters)
            parameters = parameters[0]  # one parameter set: one execution, as SQLAlchemy runs it too
        if not isinstance(statement, _KINDS) or not (parameters is None or isinstance(parameters, dict)):
            return None
        if listened:
            return None
        given = parameters or {}
        key = (id(statement), frozenset(given))
        prepared = self.prepared.get(key)
        if prepared is None:
            if key in self.prepared or self.seen.get(key) is not statement:
                self._remember(self.seen, key, statement)  # first sight, or one that cannot be prepared
                return None
            prepared = _prepare(statement, key[1], dialect)
            self._remember(self.prepared, key, prepared)
            if prepared is None:
                return None
        return (prepared, given) if prepared.statement is statement else None

    def _rows(self, dialect: Dialect, listened: bool, statement: Any, rows: list[Any]
              ) -> tuple[Prepared, Parameters] | None:
        """A plain INSERT of several rows with the same names, compiled as for one of them."""
        if (not isinstance(statement, Insert) or statement._returning or statement._post_values_clause is not None
                or not rows or not all(isinstance(row, dict) and row.keys() == rows[0].keys() for row in rows)):
            return None
        found = self.find(dialect, listened, statement, rows[0])
        return None if found is None else (found[0], rows)

    def together(self, batch: list[tuple[Prepared, Parameters]]) -> tuple[str, list[Any]]:
        """Several writes as one PostgreSQL statement (``AsyncpgDb.later``) and its arguments: each a
        ``WITH`` query, its ``$n`` numbered on, a plain INSERT's rows as one multi-row ``VALUES``."""
        shape = tuple((id(prepared), len(p) if isinstance(p, list) else 0) for prepared, p in batch)
        kept = self.combined.get(shape)
        if kept is not None:
            sql = kept[0]
        else:
            parts, taken = [], 0
            for i, (prepared, parameters) in enumerate(batch):
                part, taken = _numbered_on(prepared, parameters, taken)
                parts.append(f"w{i} AS ({part})")
            sql = "WITH " + ", ".join(parts) + " SELECT 1"
            # the statements kept with it: an id is not reused while its object lives
            self._remember(self.combined, shape, (sql, tuple(prepared for prepared, _ in batch)))
        arguments = []
        for prepared, parameters in batch:
            for one in parameters if isinstance(parameters, list) else [parameters]:
                arguments += prepared.arguments(one)
        return sql, arguments

    @staticmethod
    def _remember(kept: dict[Any, Any], key: Any, value: Any) -> None:
        if len(kept) >= KEEP:
            kept.clear()
        kept[key] = value


_PLACEHOLDER = re.compile(r"(?<![\w$])\$(\d+)\b")  # not within a name such as ``a$1``


def _table(statement: Any) -> tuple[str | None, str]:
    """The table a write changes, by name: an ORM entity's annotated table is the same table."""
    return statement.table.schema, statement.table.name


def _numbered_on(prepared: Prepared, parameters: Parameters, taken: int) -> tuple[str, int]:
    """The statement's SQL with its ``$n`` after the ``taken`` before it, and how many are taken
    then; a plain INSERT of several rows with one ``VALUES`` tuple per row. Our compiled SQL has
    no literals (every value a bind parameter), so every ``$`` is a placeholder."""
    def on(sql: str, by: int) -> str:
        return _PLACEHOLDER.sub(lambda m: f"${int(m.group(1)) + by}", sql)

    width = len(prepared.sources)
    if not isinstance(parameters, list):
        return on(prepared.sql, taken), taken + width
    head, _, values = prepared.sql.rpartition(" VALUES ")
    rows = ", ".join(on(values, taken + i * width) for i in range(len(parameters)))
    return f"{head} VALUES {rows}", taken + width * len(parameters)


def listened(connection: Connection) -> bool:
    """Whether an event listener is on the connection or its engine (``Statements.find``)."""
    return connection._has_events or connection.engine._has_events


def _prepare(statement: Any, names: frozenset[str], dialect: Dialect) -> Prepared | None:
    """Compiled as SQLAlchemy compiles it for these parameter names; the parameters resolved as its
    ``construct_params`` resolves them (a given name first, else the parameter's own value)."""
    compiled: Any = statement.compile(dialect=dialect, column_keys=sorted(names))
    if (not compiled.positional or compiled.insert_prefetch or compiled.update_prefetch
            or compiled.literal_execute_params or compiled.post_compile_params):
        return None
    processors = compiled._bind_processors  # the processors SQLAlchemy applies itself
    sources = []
    for position in compiled.positiontup or ():
        bind = compiled.binds[position]
        given = bind.key if bind.key in names else position if position in names else None
        if given is None and bind.required:
            return None  # SQLAlchemy says which is missing
        sources.append((given, bind.value, bind.callable, processors.get(position)))
    metadata = loaders = None
    if isinstance(statement, Select) or getattr(statement, "_returning", None):
        columns = compiled._result_columns
        keys = [column.keyname for column in columns]
        if len(set(keys)) != len(keys):
            return None
        metadata = SimpleResultMetaData(keys)
        found = tuple(column.type._cached_result_processor(dialect, None) for column in columns)
        loaders = found if any(found) else None
    return Prepared(statement, str(compiled), tuple(sources), metadata, loaders)


_WRITES = ("INSERT", "UPDATE", "DELETE", "MERGE")  # the command tags that end with the rows changed


class AsyncpgDb:
    """What a store function gets from a PostgreSQL unit (``core.db.unit``/``read``/``single``):
    ``execute`` as on an ``AsyncConnection``, a statement seen before run by asyncpg itself.

    It holds the pool's connection itself (``Engine.raw_connection``): SQLAlchemy's ``Connection``
    around it is made only when a statement is SQLAlchemy's to run (``connection``: first sight,
    or one not prepared here). The transaction is SQLAlchemy's adapter's own, begun before the
    first statement (its ``BEGIN``, one round trip; none in autocommit, ``core.db.read``), and ended
    by asyncpg at the unit's end (``end``), as the adapter's ``commit`` would end it through a
    greenlet; a ``Connection`` made meanwhile then finds no transaction left to roll back.

    ``later`` takes a write whose result nobody reads: it is sent with the unit's other such
    writes as one statement, before the unit's next ``execute`` or its commit (``flush``). Each
    is a data-modifying ``WITH`` query of that statement; PostgreSQL runs them all, on one
    snapshot, and checks foreign keys at the statement's end (its manual, "Data-Modifying
    Statements in WITH"). On one snapshot none sees another's rows, and two changes to one row
    in one statement are unpredictable, so writes to a table already in the batch start a new
    one: each table once per statement, in the order the writes came.

    ``limit``: how many statements it may run (None: any number). ``core.db.single`` gives one,
    on a connection outside any transaction: a second statement there would not be atomic with
    the first, so it is refused as the programming error it is (the first has committed by then)."""

    __slots__ = ("_adapter", "_connection", "_engine", "_later", "_left", "_pooled", "_statements", "dialect",
                 "interrupted")
    # What this uses of SQLAlchemy's asyncpg adapter (``FITS``: another SQLAlchemy version may lack
    # some; core.db then lets SQLAlchemy run every statement, as before)
    ADAPTER_PARTS = ("_execute_mutex", "_transaction", "_start_transaction", "_connection", "autocommit")
    FITS = all(hasattr(AsyncAdapt_asyncpg_connection, part) for part in ADAPTER_PARTS)

    def __init__(self, engine: AsyncEngine, pooled: PoolProxiedConnection, statements: Statements, *,
                 autocommit: bool, limit: int | None = None) -> None:
        self._engine, self._pooled, self._statements = engine, pooled, statements
        adapter: Any = pooled.dbapi_connection
        adapter.autocommit = autocommit  # put back by ``check_in``
        self._adapter = adapter
        self.dialect = engine.dialect
        self._connection: tuple[Connection, AsyncConnection] | None = None
        self._later: list[tuple[Prepared, Parameters]] = []
        self._left = limit
        self.interrupted = False  # a statement or the end cut short: the connection's state unknown

    @property
    def sync_engine(self) -> Engine:
        return self._engine.sync_engine

    @property
    def connection(self) -> AsyncConnection:
        """SQLAlchemy's connection over the same pooled one, made the first time it is needed."""
        if self._connection is None:
            made = Connection(self._engine.sync_engine, self._pooled)
            self._connection = made, AsyncConnection(self._engine, made)
        return self._connection[1]

    def _find(self, statement: Any, parameters: Any) -> tuple[Prepared, Parameters] | None:
        made = self._connection
        heard = self._engine.sync_engine._has_events or (made is not None and listened(made[0]))
        return self._statements.find(self.dialect, heard, statement, parameters)

    async def end(self, *, commit: bool) -> None:
        """The transaction, if one began, committed or rolled back. The server refusing the commit
        ends the transaction too (PostgreSQL rolls it back); anything else that stops it midway (a
        lost connection, a cancellation) leaves the connection ``interrupted``."""
        transaction = self._adapter._transaction
        if transaction is None:
            return
        self.interrupted = True
        try:
            await (transaction.commit() if commit else transaction.rollback())
            self.interrupted = False
        except asyncpg.PostgresError:
            self.interrupted = self._adapter._connection.is_closed()  # a server shutting it, say
            raise
        finally:
            self._adapter._transaction = None

    def check_in(self, *, invalidate: bool = False) -> None:
        """Back to the pool, in SQLAlchemy's greenlet: the adapter out of autocommit again,
        SQLAlchemy's connection closed if one was made (it gives the pooled one back). A connection
        ``invalidate``d or ``interrupted``, that asyncpg found closed (the server gone: a statement
        run here meets no SQLAlchemy to notice), or still in a transaction once the unit has ended
        (a ``BEGIN`` the adapter never recorded) is closed instead, its place in the pool given
        back: the pool opens another when it needs one."""
        driver = self._adapter._connection
        broken = invalidate or self.interrupted or driver.is_closed() or driver.is_in_transaction()
        try:
            self._adapter.autocommit = False
        finally:
            if self._connection is not None:
                if broken:
                    self._connection[0].invalidate()
                self._connection[0].close()
            elif broken:
                self._pooled.invalidate()  # which gives it back
            else:
                self._pooled.close()

    def _one_more(self) -> None:
        if self._left is not None:
            if self._left <= 0:
                raise RuntimeError("a unit of one statement (core.db.single) was given another")
            self._left -= 1

    async def execute(self, statement: Any, parameters: Any = None) -> Any:
        self._one_more()
        await self.flush()
        return await self._now(statement, parameters, self._find(statement, parameters))

    async def _now(self, statement: Any, parameters: Any, found: tuple[Prepared, Parameters] | None) -> Any:
        """The statement run at once: by SQLAlchemy, or by the driver when ``find`` found it."""
        if found is None:
            return await self.connection.execute(statement, parameters)
        return await self._run(found[0].run_asyncpg, found[1])

    async def later(self, statement: Any, parameters: Any) -> None:
        """An ``INSERT … VALUES`` or an ``UPDATE`` of one table that reads no other table (what
        may wait: ``core.db.later``), compiled without ``RETURNING``; anything else runs now."""
        self._one_more()
        found = self._find(statement, parameters)
        if found is None or not isinstance(statement, (Insert, Update)) or " RETURNING " in found[0].sql:
            await self.flush()
            await self._now(statement, parameters, found)
            return
        if any(_table(prepared.statement) == _table(statement) for prepared, _ in self._later):
            await self.flush()
        self._later.append(found)

    async def flush(self, *, last: bool = False) -> None:
        """The writes ``later`` took, sent now: one statement, or one ``WITH`` query of several.

        ``last``: the unit ends with them. When it ran nothing before, that one statement is all
        it does, and it goes without ``BEGIN`` and ``COMMIT``: PostgreSQL runs a statement sent
        outside a transaction block in a transaction of its own, all of it or none (its manual,
        "Transactions"; asyncpg's ``executemany`` too, since 0.22), so the unit is as atomic in
        one round trip as in three (issue 15: a new check, a new offer)."""
        batch, self._later = self._later, []
        if not batch:
            return
        begin = not last or self._adapter._transaction is not None
        if len(batch) == 1:
            await self._run(batch[0][0].run_asyncpg, batch[0][1], begin=begin)
        else:
            sql, arguments = self._statements.together(batch)
            await self._run(lambda driver, args: driver.execute(sql, *args), arguments, begin=begin)

    async def _run(self, run: Callable[[Any, Any], Any], parameters: Any, *, begin: bool = True) -> Any:
        """The statement on the unit's connection, its transaction begun first. Cut short (a
        cancellation, a lost connection) rather than refused by the server, it leaves the connection
        ``interrupted``: a ``BEGIN`` cancelled once sent may have begun a transaction the adapter never
        recorded, and asyncpg's own record of it would turn the next unit's ``BEGIN`` into a
        savepoint that nothing commits."""
        adapter = self._adapter
        async with adapter._execute_mutex:
            try:
                if begin and adapter._transaction is None:
                    await adapter._start_transaction()  # a no-op when autocommit
                return await run(adapter._connection, parameters)
            except asyncpg.PostgresError:
                raise  # the server refused it: the connection is sound, the unit rolls back
            except BaseException:
                self.interrupted = True
                raise

    async def changed_rows(self, sql: str, parameters: tuple[Any, ...]) -> int:
        """A write as asyncpg takes it (``$n`` placeholders), run by asyncpg: the rows it changed,
        read from its command tag ("INSERT 0 3", "UPDATE 2", "DELETE 1": the count comes last)."""
        self._one_more()
        await self.flush()
        tag = await self._run(lambda driver, args: driver.execute(sql, *args), parameters)
        command, _, count = tag.rpartition(" ")
        if not command.startswith(_WRITES) or not count.isdigit():
            raise RuntimeError(f"changed_rows is for a write: the statement's tag was {command!r}")
        return int(count)

    async def exec_driver_sql(self, sql: str, parameters: Any = None) -> Any:
        """SQL as asyncpg takes it (``$n`` placeholders), through SQLAlchemy's adapter."""
        self._one_more()
        await self.flush()
        return await self.connection.exec_driver_sql(sql, parameters)
