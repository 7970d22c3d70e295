"""``core.db.later``: writes nobody reads the result of, sent together at the unit's next read or
its commit. What they leave must be what running each at once leaves, on both stores; on
PostgreSQL they are fewer round trips, a table written twice is two statements (one snapshot
cannot see its own rows, and two changes to one row in one statement are unpredictable), and
a failing one rolls the whole unit back."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Table, bindparam, delete, insert, select, update

from core import db
from tests.asyncpg_sent import record_sent
from tests.consent_log_world import BACKENDS, POSTGRES_URL
from tests.test_prepared import Store

META = MetaData()
PARENTS = Table("parents", META, Column("id", String, primary_key=True), Column("n", Integer, nullable=False))
CHILDREN = Table("children", META, Column("id", String, primary_key=True),
                 Column("parent_id", String, ForeignKey("parents.id"), nullable=False))
NOTES = Table("notes", META, Column("id", Integer, primary_key=True), Column("text", String))  # a server-made key

ADD_PARENT = insert(PARENTS)
ADD_CHILD = insert(CHILDREN)
SET_N = update(PARENTS).where(PARENTS.c.id == bindparam("pid")).values(n=bindparam("new_n"))
DROP_CHILD = delete(CHILDREN).where(CHILDREN.c.id == bindparam("cid"))
EVERYTHING = (select(PARENTS.c.id, PARENTS.c.n).order_by(PARENTS.c.id),
              select(CHILDREN.c.id, CHILDREN.c.parent_id).order_by(CHILDREN.c.id))


class LaterStore(Store):
    """``tests.test_prepared.Store`` with these tables, and the driver's round trips counted."""

    def __init__(self, backend: str, tmp_path: Path) -> None:
        super().__init__(backend, tmp_path)
        self.trips = 0
        if self.held is not None:
            META.create_all(self.held.engine)

    async def start(self) -> None:
        """Both tables made, and empty."""
        await super().start()
        if self.engine is not None:
            async with self.engine.begin() as connection:
                await connection.run_sync(META.create_all)
        async with self.unit() as unit:
            await unit.execute(delete(CHILDREN))
            await unit.execute(delete(PARENTS))
            await unit.execute(delete(NOTES))

    async def contents(self) -> list[Any]:
        async with self.unit() as unit:
            return [[tuple(row) for row in (await unit.execute(query)).all()] for query in EVERYTHING]


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The SQL of each statement asyncpg is given (``execute`` and ``fetch``; BEGIN/COMMIT too)."""
    return record_sent(monkeypatch)


# A story: writes to two tables, each run at once (``execute``) or left for later (``later``).
_ids = st.sampled_from(["p1", "p2", "p3"])
_write = st.one_of(
    st.tuples(st.just("parent"), _ids, st.integers(0, 9)),
    st.tuples(st.just("parents"), _ids, st.integers(0, 9)),  # two rows: the multi-row VALUES
    st.tuples(st.just("set"), _ids, st.integers(0, 9)),
    st.tuples(st.just("child"), st.sampled_from(["c1", "c2", "c3", "c4"]), _ids),
    st.tuples(st.just("drop"), st.sampled_from(["c1", "c2", "c3", "c4"]), st.none()),
    st.tuples(st.just("read"), st.none(), st.none()),
)


def _statement(kind: str, a: Any, b: Any) -> tuple[Any, Any]:
    if kind == "parents":
        return ADD_PARENT, [{"id": a, "n": b}, {"id": a + "x", "n": b + 1}]
    return {"parent": (ADD_PARENT, {"id": a, "n": b}), "set": (SET_N, {"pid": a, "new_n": b}),
            "child": (ADD_CHILD, {"id": a, "parent_id": b}), "drop": (DROP_CHILD, {"cid": a})}[kind]


def _valid(story: list[tuple[str, Any, Any]]) -> list[tuple[str, Any, Any]]:
    """Only writes that succeed when run in order (no duplicate key, no child without its parent)."""
    parents, children, kept = set(), set(), []
    for kind, a, b in story:
        if ((kind == "parent" and a in parents) or (kind == "parents" and {a, a + "x"} & parents)
                or (kind == "child" and (a in children or b not in parents))):
            continue
        parents |= {a} if kind == "parent" else {a, a + "x"} if kind == "parents" else set()
        children = children | {a} if kind == "child" else children - {a} if kind == "drop" else children
        kept.append((kind, a, b))
    return kept


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=40, deadline=None)
@given(story=st.lists(_write, max_size=12).map(_valid))
def test_writes_left_for_later_leave_what_writes_run_at_once_leave(
        backend: str, tmp_path_factory: Any, story: list[tuple[str, Any, Any]]) -> None:
    store = LaterStore(backend, tmp_path_factory.mktemp(backend))

    async def run(deferred: bool) -> tuple[list[Any], list[list[Any]]]:
        await store.start()
        reads = []
        async with store.unit() as unit:
            for kind, a, b in story:
                if kind == "read":
                    reads.append([tuple(r) for r in (await unit.execute(EVERYTHING[0])).all()])
                elif deferred:
                    await db.later(unit, *_statement(kind, a, b))
                else:
                    await unit.execute(*_statement(kind, a, b))
        return await store.contents(), reads

    async def both() -> None:
        try:
            await run(deferred=True)  # every statement seen once: from now on the driver's path, and batched
            assert await run(deferred=True) == await run(deferred=False)
        finally:
            await store.close()

    asyncio.run(both())


def test_later_writes_to_four_tables_are_one_round_trip_and_a_table_twice_is_two(
        tmp_path: Path, counted: list[str]) -> None:
    if not POSTGRES_URL:
        pytest.skip("no PostgreSQL (.ci/run starts one)")
    store = LaterStore("postgresql", tmp_path)

    async def story() -> list[Any]:
        await store.start()
        for _ in range(2):  # the first sight of a statement is SQLAlchemy's (core.prepared); count the second
            await store.start()
            counted.clear()
            async with store.unit() as unit:
                await db.later(unit, ADD_PARENT, [{"id": "p1", "n": 1}, {"id": "p2", "n": 2}])
                await db.later(unit, ADD_CHILD, {"id": "c1", "parent_id": "p1"})  # its parent in the same statement
                await db.later(unit, ADD_CHILD, {"id": "c2", "parent_id": "p2"})  # children again: a new statement
                await db.later(unit, SET_N, {"pid": "p2", "new_n": 7})
        writes = [q for q in counted if q.startswith(("WITH", "INSERT", "UPDATE", "DELETE"))]
        assert len(writes) == 2 and writes[0].startswith("WITH"), writes
        assert "VALUES ($1::VARCHAR, $2::INTEGER), ($3::VARCHAR, $4::INTEGER)" in writes[0]
        return await store.contents()

    async def go() -> list[Any]:
        try:
            return await story()
        finally:
            await store.close()

    assert asyncio.run(go()) == [[("p1", 1), ("p2", 7)], [("c1", "p1"), ("c2", "p2")]]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_failing_later_write_rolls_back_the_unit_and_a_refused_unit_sends_none(
        backend: str, tmp_path: Path) -> None:
    store = LaterStore(backend, tmp_path)

    async def story() -> None:
        await store.start()
        async with store.unit() as unit:
            await unit.execute(ADD_PARENT, {"id": "p1", "n": 1})
        for _ in range(2):  # SQLAlchemy's first sight, then the driver's path
            with pytest.raises(Exception) as failed:
                async with store.unit() as unit:
                    await unit.execute(SET_N, {"pid": "p1", "new_n": 5})
                    await db.later(unit, ADD_CHILD, {"id": "c1", "parent_id": "p1"})
                    await db.later(unit, ADD_PARENT, {"id": "p1", "n": 2})  # a duplicate key
            assert "p1" in str(failed.value) or "UNIQUE" in str(failed.value).upper()
            assert await store.contents() == [[("p1", 1)], []]  # neither the update nor the child
        with pytest.raises(RuntimeError):
            async with store.unit() as unit:
                await db.later(unit, ADD_CHILD, {"id": "c9", "parent_id": "p1"})
                raise RuntimeError("refused")
        assert await store.contents() == [[("p1", 1)], []]

    async def go() -> None:
        try:
            await story()
        finally:
            await store.close()

    asyncio.run(go())


def test_a_driver_sql_read_sees_later_writes_and_a_server_made_key_is_not_left_for_later(
        tmp_path: Path, counted: list[str]) -> None:
    """``exec_driver_sql`` sends what waits first; an insert SQLAlchemy compiles with ``RETURNING``
    (a key the server makes) runs at once, rows and all, and the rest still waits."""
    if not POSTGRES_URL:
        pytest.skip("no PostgreSQL (.ci/run starts one)")
    store = LaterStore("postgresql", tmp_path)
    add_notes = insert(NOTES)

    async def story() -> tuple[Any, list[Any]]:
        await store.start()
        for _ in range(2):  # the second time on the driver's path
            await store.start()
            async with store.unit() as unit:
                await db.later(unit, ADD_PARENT, {"id": "p1", "n": 1})
                seen = (await db.exec_driver_sql(unit, "SELECT n FROM parents WHERE id = $1", ("p1",))).all()
                await db.later(unit, add_notes, [{"text": "a"}, {"text": "b"}])
                await db.later(unit, ADD_CHILD, {"id": "c1", "parent_id": "p1"})
        async with store.unit() as unit:
            notes = sorted(r.text for r in (await unit.execute(select(NOTES.c.text))).all())
        return seen, notes

    async def go() -> tuple[Any, list[Any]]:
        try:
            return await story()
        finally:
            await store.close()

    seen, notes = asyncio.run(go())
    assert [tuple(r) for r in seen] == [(1,)] and notes == ["a", "b"]


def test_a_unit_of_later_writes_alone_is_one_round_trip_and_stays_atomic(tmp_path: Path, counted: list[str]) -> None:
    """A unit that ran nothing before its later writes sends them as its one statement, without
    BEGIN and COMMIT (PostgreSQL runs it in a transaction of its own); it still applies all of
    it or none: a duplicate key in it leaves no child behind either."""
    if not POSTGRES_URL:
        pytest.skip("no PostgreSQL (.ci/run starts one)")
    store = LaterStore("postgresql", tmp_path)

    async def story() -> tuple[list[str], list[Any]]:
        for _ in range(2):  # the first sight of a statement is SQLAlchemy's (core.prepared); count the second
            await store.start()
            counted.clear()
            async with store.unit() as unit:
                await db.later(unit, ADD_PARENT, {"id": "p1", "n": 1})
                await db.later(unit, ADD_CHILD, {"id": "c1", "parent_id": "p1"})
        sent = list(counted)
        with pytest.raises(asyncpg.UniqueViolationError):
            async with store.unit() as unit:
                await db.later(unit, ADD_CHILD, {"id": "c2", "parent_id": "p1"})
                await db.later(unit, ADD_PARENT, {"id": "p1", "n": 2})
        return sent, await store.contents()

    async def go() -> tuple[list[str], list[Any]]:
        try:
            return await story()
        finally:
            await store.close()

    sent, contents = asyncio.run(go())
    assert len(sent) == 1 and sent[0].startswith("WITH"), sent
    assert contents == [[("p1", 1)], [("c1", "p1")]]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_single_statement_unit_is_one_round_trip_and_refuses_a_second_statement(
        backend: str, tmp_path: Path, counted: list[str]) -> None:
    """``core.db.single``: on PostgreSQL the statement alone, no BEGIN or COMMIT; a second one
    there would not be atomic with the first, so it is refused. On SQLite a unit as any other."""
    store = LaterStore(backend, tmp_path)

    def single() -> Any:
        return store.held.unit() if store.held is not None else db.single(store.engine)

    async def story() -> tuple[list[str], int, list[Any]]:
        await store.start()
        async with store.unit() as unit:
            await unit.execute(ADD_PARENT, {"id": "p1", "n": 1})
        for _ in range(2):  # SQLAlchemy's first sight, then the driver's path
            counted.clear()
            async with single() as one:
                changed = (await one.execute(SET_N, {"pid": "p1", "new_n": 5})).rowcount
        sent = list(counted)
        if store.held is None:
            with pytest.raises(RuntimeError, match="one statement"):
                async with single() as one:
                    await one.execute(SET_N, {"pid": "p1", "new_n": 6})
                    await one.execute(SET_N, {"pid": "p1", "new_n": 7})
        return sent, changed, await store.contents()

    async def go() -> tuple[list[str], int, list[Any]]:
        try:
            return await story()
        finally:
            await store.close()

    sent, changed, contents = asyncio.run(go())
    assert changed == 1
    if backend == "postgresql":
        assert [q.split()[0] for q in sent] == ["UPDATE"], sent
        assert contents == [[("p1", 6)], []]  # the first statement stood alone: it is kept
    else:
        assert contents == [[("p1", 5)], []]
