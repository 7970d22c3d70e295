"""core.prepared: a statement run by the driver itself (sqlite3, asyncpg) answers exactly as
SQLAlchemy's run of it, on SQLite's held connection and on PostgreSQL.

Each statement runs twice in a unit: the first time SQLAlchemy runs it (first sight), the
second time the compiled-once path does, and both results (keys, rows, value types) must be
equal. What the path must leave to SQLAlchemy (a default computed at execution, an ``IN`` list,
several parameter sets, a listener on the engine) is checked to go
there, and still to be right. On PostgreSQL a unit whose every statement asyncpg ran is still
one transaction: an exception undoes all of it.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    bindparam,
    delete,
    event,
    insert,
    select,
    update,
)

from core import db
from core.prepared import AsyncpgDb
from core.sqlite_held import HeldSqlite
from tests.consent_log_world import BACKENDS, POSTGRES_URL, store_url

META = MetaData()
THINGS = Table(
    "things", META,
    Column("id", String, primary_key=True),
    Column("doc", JSON, nullable=True),
    Column("flag", Boolean, nullable=False),
    Column("n", BigInteger, nullable=True),
    Column("blob", LargeBinary, nullable=True),
    Column("tries", Integer, default=0),
)
OTHERS = Table("others", META, Column("id", String, primary_key=True), Column("thing_id", String))

ADD = insert(THINGS)
BY_ID = select(THINGS).where(THINGS.c.id == bindparam("id"))
FLAGGED = select(THINGS.c.id, THINGS.c.n).where(THINGS.c.flag == True).order_by(THINGS.c.id)  # noqa: E712 - SQL
FLIP = (update(THINGS).where(THINGS.c.id == bindparam("thing"), THINGS.c.flag == False)  # noqa: E712
        .values(flag=True, n=bindparam("new_n")).returning(THINGS.c.id, THINGS.c.flag, THINGS.c.doc))
DROP = delete(THINGS).where(THINGS.c.id == bindparam("id"))
SOME = select(THINGS.c.id).where(THINGS.c.id.in_(bindparam("ids", expanding=True)))
JOINED = select(THINGS.c.id, OTHERS.c.id).join(OTHERS, OTHERS.c.thing_id == THINGS.c.id)


class Store:
    """A unit of work on SQLite's held connection or on a PostgreSQL engine (core.db.unit)."""

    def __init__(self, backend: str, tmp_path: Path) -> None:
        self.backend, self.held, self.engine = backend, None, None
        if backend == "sqlite":
            self.held = HeldSqlite(str(tmp_path / "t.db"), lambda c: c.execute("PRAGMA journal_mode=WAL"))
            META.create_all(self.held.engine)
        else:
            self.engine = db.make_engine(store_url("postgresql", tmp_path))
        self.add_once = db.insert_of(backend, THINGS).on_conflict_do_nothing().returning(THINGS.c.id)

    async def start(self) -> None:
        if self.engine is not None:
            async with self.engine.begin() as connection:
                await connection.run_sync(META.create_all)

    def unit(self) -> Any:
        return self.held.unit() if self.held is not None else db.unit(self.engine)

    async def close(self) -> None:
        if self.held is not None:
            self.held.close()
        if self.engine is not None:
            await self.engine.dispose()


def _run(store: Store, story: Any) -> None:
    async def go() -> None:
        await store.start()
        try:
            await story()
        finally:
            await store.close()

    asyncio.run(go())


def _seen(result: Any) -> tuple[Any, ...]:
    rows = result.all()
    return tuple(result.keys()), [tuple((type(v), v) for v in row) for row in rows]


async def _twice(store: Store, statement: Any, parameters: Any = None) -> tuple[Any, Any, bool]:
    """The statement's result by SQLAlchemy, then again; and whether the second was the fast path."""
    async with store.unit() as unit:
        first = _seen(await unit.execute(statement, parameters))
        again = await unit.execute(statement, parameters)
        return first, _seen(again), type(again).__name__ == "Rows"


def _row(thing_id: str, **values: Any) -> dict[str, Any]:
    return {"id": thing_id, "doc": None, "flag": False, "n": None, "blob": None, "tries": 0, **values}


@pytest.mark.parametrize("backend", BACKENDS)
def test_reads_writes_and_returning_rows_answer_alike(backend: str, tmp_path: Path) -> None:
    store = Store(backend, tmp_path)

    async def story() -> None:
        async with store.unit() as unit:
            await unit.execute(ADD, [_row("a", doc={"k": [1, "é"]}, n=2**40, blob=b"\x00\xff"), _row("b", flag=True)])
        first, again, fast = await _twice(store, BY_ID, {"id": "a"})
        assert fast and first == again and again[1][0][1] == (dict, {"k": [1, "é"]})
        assert again[1][0][2] == (bool, False) and again[1][0][4] == (bytes, b"\x00\xff")
        first, again, fast = await _twice(store, FLAGGED)
        assert fast and first == again == (("id", "n"), [((str, "b"), (type(None), None))])
        async with store.unit() as unit:  # an update with RETURNING: the first flips, the second finds nothing
            flipped = _seen(await unit.execute(FLIP, {"thing": "a", "new_n": 5}))
            assert flipped == (("id", "flag", "doc"), [((str, "a"), (bool, True), (dict, {"k": [1, "é"]}))])
            assert _seen(await unit.execute(FLIP, {"thing": "a", "new_n": 6})) == (("id", "flag", "doc"), [])
        first, again, fast = await _twice(store, store.add_once, _row("c"))
        assert fast and first == (("id",), [((str, "c"),)]) and again == (("id",), [])
        async with store.unit() as unit:
            await unit.execute(insert(OTHERS), {"id": "o", "thing_id": "a"})
        first, again, fast = await _twice(store, JOINED)  # two columns named id: SQLAlchemy's keys, id and id_1
        assert fast and first == again == (("id", "id_1"), [((str, "a"), (str, "o"))])
        async with store.unit() as unit:  # a plain INSERT of several rows: the driver's executemany, all or none
            for first in ("p", "r"):
                rows = [_row(first, n=1), _row(first + "2", doc=[first], blob=b"\x01")]
                added = await unit.execute(ADD, rows)
                assert added.rowcount == 2 and (first == "p" or type(added).__name__ == "Rows")
        with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
            async with store.unit() as unit:
                await unit.execute(ADD, [_row("s"), _row("p")])  # the second row is there already: neither goes in
        async with store.unit() as unit:
            assert (await unit.execute(BY_ID, {"id": "s"})).one_or_none() is None
            assert (await unit.execute(BY_ID, {"id": "r2"})).one().doc == ["r"]
        async with store.unit() as unit:  # a delete without RETURNING: its rowcount, as a cursor result's
            await unit.execute(DROP, {"id": "zz"})
            gone = await unit.execute(DROP, {"id": "c"})
            assert type(gone).__name__ == "Rows" and gone.rowcount == 1
        async with store.unit() as unit:
            assert (await unit.execute(BY_ID, {"id": "c"})).one_or_none() is None
            assert (await unit.execute(BY_ID, {"id": "a"})).one().n == 5

    _run(store, story)


@pytest.mark.parametrize("backend", BACKENDS)
def test_what_sqlalchemy_must_run_goes_to_sqlalchemy(backend: str, tmp_path: Path) -> None:
    store = Store(backend, tmp_path)

    async def story() -> None:
        leave_out = {k: v for k, v in _row("d").items() if k != "tries"}  # "tries" has a default to compute
        async with store.unit() as unit:
            for parameters in (leave_out, {**leave_out, "id": "e"}):
                assert type(await unit.execute(ADD, parameters)).__name__ != "Rows"
            upsert = db.insert_of(backend, THINGS).on_conflict_do_nothing()  # several sets, a row count to know
            for parameters in ([_row("f"), _row("g")], [_row("h"), _row("i")]):
                assert type(await unit.execute(upsert, parameters)).__name__ != "Rows"
            for _ in range(2):
                some = await unit.execute(SOME, {"ids": ["d", "f", "x"]})  # an IN list
                assert type(some).__name__ != "Rows" and sorted(some.scalars()) == ["d", "f"]
        async with store.unit() as unit:
            assert (await unit.execute(BY_ID, {"id": "d"})).one().tries == 0  # the default was applied

        statements: list[str] = []
        listened = store.held.engine if store.held is not None else store.engine.sync_engine  # type: ignore[union-attr]
        event.listen(listened, "before_cursor_execute", lambda *a: statements.append(a[2]))
        _, _, fast = await _twice(store, BY_ID, {"id": "d"})
        assert not fast and len(statements) == 2  # a listener sees every statement

    _run(store, story)


TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_any_values_come_back_alike(backend: str, tmp_path_factory: Any) -> None:
    @settings(max_examples=40, deadline=None)
    @given(doc=st.recursive(st.none() | st.booleans() | st.integers(-2**53, 2**53) | TEXT,
                            lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
                            max_leaves=8),
           flag=st.booleans(), n=st.none() | st.integers(-2**63, 2**63 - 1), blob=st.none() | st.binary(max_size=16),
           text=TEXT.filter(bool))
    def check(doc: Any, flag: bool, n: int | None, blob: bytes | None, text: str) -> None:
        store = Store(backend, tmp_path_factory.mktemp("p"))

        async def story() -> None:
            first, _, fast = await _twice(store, store.add_once, _row(text, doc=doc, flag=flag, n=n, blob=blob))
            assert fast and first == (("id",), [((str, text),)])
            first, again, fast = await _twice(store, BY_ID, {"id": text})
            assert fast and first == again
            assert [v for _, v in again[1][0]] == [text, doc, flag, n, blob, 0]

        _run(store, story)

    check()


@pytest.mark.skipif(not POSTGRES_URL, reason="no PostgreSQL (.ci/run starts one)")
def test_a_postgresql_unit_run_by_asyncpg_is_still_one_transaction(tmp_path: Path) -> None:
    store = Store("postgresql", tmp_path)

    async def story() -> None:
        for _ in range(2):  # the second time, every statement is asyncpg's
            with contextlib.suppress(RuntimeError):
                async with store.unit() as unit:
                    added = await unit.execute(store.add_once, _row("t", n=1))
                    assert [r.id for r in added] == ["t"]
                    assert (await unit.execute(BY_ID, {"id": "t"})).one().n == 1  # seen inside
                    raise RuntimeError("refused after the writes")
            assert type(added).__name__ == "Rows" or _ == 0
        async with store.unit() as unit:
            assert (await unit.execute(BY_ID, {"id": "t"})).one_or_none() is None  # undone, both times

    _run(store, story)


@pytest.mark.skipif(not POSTGRES_URL, reason="no PostgreSQL (.ci/run starts one)")
def test_an_adapter_without_the_parts_used_leaves_every_statement_to_sqlalchemy(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another SQLAlchemy version's asyncpg adapter may lack them: units work as before, by
    SQLAlchemy's ``engine.begin()``. This version's has them all."""
    from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection

    assert AsyncpgDb.FITS and all(hasattr(AsyncAdapt_asyncpg_connection, part) for part in AsyncpgDb.ADAPTER_PARTS)
    monkeypatch.setattr(AsyncpgDb, "FITS", False)
    store = Store("postgresql", tmp_path)

    async def story() -> None:
        first, again, fast = await _twice(store, store.add_once, _row("u"))
        assert not fast and first == (("id",), [((str, "u"),)]) and again == (("id",), [])

    _run(store, story)
