"""core.sqlite_prepared: a statement run by sqlite3 itself answers exactly as SQLAlchemy's run of it.

Each statement runs twice in a held unit: the first time SQLAlchemy runs it (first sight), the
second time the compiled-once path does, and both results (keys, rows, value types) must be
equal. What the path must leave to SQLAlchemy (a default computed at execution, an ``IN`` list,
several parameter sets, a listener on the engine) is checked to go
there, and still to be right.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

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
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from core.sqlite_held import HeldSqlite

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
ADD_ONCE = sqlite_insert(THINGS).on_conflict_do_nothing().returning(THINGS.c.id)
DROP = delete(THINGS).where(THINGS.c.id == bindparam("id"))
SOME = select(THINGS.c.id).where(THINGS.c.id.in_(bindparam("ids", expanding=True)))
JOINED = select(THINGS.c.id, OTHERS.c.id).join(OTHERS, OTHERS.c.thing_id == THINGS.c.id)


def _held(tmp_path: Path) -> HeldSqlite:
    held = HeldSqlite(str(tmp_path / "t.db"), lambda connection: connection.execute("PRAGMA journal_mode=WAL"))
    META.create_all(held.engine)
    return held


def _seen(result: Any) -> tuple[Any, ...]:
    rows = result.all()
    return tuple(result.keys()), [tuple((type(v), v) for v in row) for row in rows]


async def _twice(held: HeldSqlite, statement: Any, parameters: Any = None) -> tuple[Any, Any, bool]:
    """The statement's result by SQLAlchemy, then again; and whether the second was the fast path."""
    async with held.unit() as db:
        first = _seen(await db.execute(statement, parameters))
        again = await db.execute(statement, parameters)
        return first, _seen(again), type(again).__name__ == "Rows"


def _row(thing_id: str, **values: Any) -> dict[str, Any]:
    return {"id": thing_id, "doc": None, "flag": False, "n": None, "blob": None, "tries": 0, **values}


def test_reads_writes_and_returning_rows_answer_alike(tmp_path: Path) -> None:
    held = _held(tmp_path)

    async def story() -> None:
        async with held.unit() as db:
            await db.execute(ADD, [_row("a", doc={"k": [1, "é"]}, n=2**40, blob=b"\x00\xff"), _row("b", flag=True)])
        first, again, fast = await _twice(held, BY_ID, {"id": "a"})
        assert fast and first == again and again[1][0][1] == (dict, {"k": [1, "é"]})
        assert again[1][0][2] == (bool, False) and again[1][0][4] == (bytes, b"\x00\xff")
        first, again, fast = await _twice(held, FLAGGED)
        assert fast and first == again == (("id", "n"), [((str, "b"), (type(None), None))])
        async with held.unit() as db:  # an update with RETURNING: the first flips, the second finds nothing
            flipped = _seen(await db.execute(FLIP, {"thing": "a", "new_n": 5}))
            assert flipped == (("id", "flag", "doc"), [((str, "a"), (bool, True), (dict, {"k": [1, "é"]}))])
            assert _seen(await db.execute(FLIP, {"thing": "a", "new_n": 6})) == (("id", "flag", "doc"), [])
        first, again, fast = await _twice(held, ADD_ONCE, _row("c"))
        assert fast and first == (("id",), [((str, "c"),)]) and again == (("id",), [])
        async with held.unit() as db:
            await db.execute(insert(OTHERS), {"id": "o", "thing_id": "a"})
        first, again, fast = await _twice(held, JOINED)  # two columns named id: SQLAlchemy's keys, id and id_1
        assert fast and first == again == (("id", "id_1"), [((str, "a"), (str, "o"))])
        async with held.unit() as db:  # a delete without RETURNING: its rowcount, as a cursor result's
            await db.execute(DROP, {"id": "zz"})
            gone = await db.execute(DROP, {"id": "c"})
            assert type(gone).__name__ == "Rows" and gone.rowcount == 1
        async with held.unit() as db:
            assert (await db.execute(BY_ID, {"id": "c"})).one_or_none() is None
            assert (await db.execute(BY_ID, {"id": "a"})).one().n == 5

    asyncio.run(story())


def test_what_sqlalchemy_must_run_goes_to_sqlalchemy(tmp_path: Path) -> None:
    held = _held(tmp_path)

    async def story() -> None:
        leave_out = {k: v for k, v in _row("d").items() if k != "tries"}  # "tries" has a default to compute
        async with held.unit() as db:
            for parameters in (leave_out, {**leave_out, "id": "e"}):
                assert type(await db.execute(ADD, parameters)).__name__ != "Rows"
            for parameters in ([_row("f"), _row("g")], [_row("h"), _row("i")]):  # several sets: executemany
                assert type(await db.execute(ADD, parameters)).__name__ != "Rows"
            for _ in range(2):
                some = await db.execute(SOME, {"ids": ["d", "f", "x"]})  # an IN list
                assert type(some).__name__ != "Rows" and sorted(some.scalars()) == ["d", "f"]
        async with held.unit() as db:
            assert (await db.execute(BY_ID, {"id": "d"})).one().tries == 0  # the default was applied

        statements: list[str] = []
        event.listen(held.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
        _, _, fast = await _twice(held, BY_ID, {"id": "d"})
        assert not fast and len(statements) == 2  # a listener sees every statement

    asyncio.run(story())


@settings(max_examples=60, deadline=None)
@given(doc=st.recursive(st.none() | st.booleans() | st.integers(-2**53, 2**53) | st.text(max_size=8),
                        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner,
                                                                                    max_size=3), max_leaves=8),
       flag=st.booleans(), n=st.none() | st.integers(-2**63, 2**63 - 1), blob=st.none() | st.binary(max_size=16),
       text=st.text(min_size=1, max_size=12))
def test_any_values_come_back_alike(tmp_path_factory: Any, doc: Any, flag: bool, n: int | None,
                                    blob: bytes | None, text: str) -> None:
    held = _held(tmp_path_factory.mktemp("p"))

    async def story() -> None:
        first, again, fast = await _twice(held, ADD_ONCE, _row(text, doc=doc, flag=flag, n=n, blob=blob))
        assert fast and first == (("id",), [((str, text),)])
        first, again, fast = await _twice(held, BY_ID, {"id": text})
        assert fast and first == again
        assert [v for _, v in again[1][0]] == [text, doc, flag, n, blob, 0]

    try:
        asyncio.run(story())
    finally:
        held.close()
