"""core.group_commit: calls that arrive during a write go together in the next, and each call gets
exactly what a write of its item alone would give it: its result, or its own failure."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.group_commit import GroupCommit


class Bad(Exception):
    pass


class Store:
    """A write that stores everything or nothing, refuses a batch holding a bad item, and can be
    held open (``gate``) so that calls pile up behind it."""

    def __init__(self) -> None:
        self.rows: list[int] = []
        self.gate: asyncio.Event | None = None

    async def write(self, items: Sequence[int]) -> list[str]:
        if self.gate is not None:
            await self.gate.wait()
        await asyncio.sleep(0)
        if any(i < 0 for i in items):
            raise Bad(str(items))
        self.rows.extend(items)
        return [f"row {i}" for i in items]


def test_one_call_is_written_at_once_alone() -> None:
    store = Store()
    group = GroupCommit(store.write)
    assert asyncio.run(group.submit(7)) == "row 7"
    assert (group.writes, group.written, store.rows) == (1, 1, [7])


def test_calls_that_arrive_during_a_write_go_together_in_the_next() -> None:
    store, gate = Store(), None
    group = GroupCommit(store.write)

    async def run() -> list[str]:
        nonlocal gate
        store.gate = gate = asyncio.Event()
        first = asyncio.ensure_future(group.submit(0))
        await asyncio.sleep(0.01)  # the first write is open, held by the gate
        rest = [asyncio.ensure_future(group.submit(n)) for n in range(1, 6)]
        await asyncio.sleep(0.01)
        gate.set()
        return [await first, *[await r for r in rest]]

    assert asyncio.run(run()) == [f"row {n}" for n in range(6)]
    assert (group.writes, group.written) == (2, 6)  # the first alone, the five others together
    assert store.rows == list(range(6))


def test_a_batch_is_at_most_most_items() -> None:
    store = Store()
    group = GroupCommit(store.write, most=2)

    async def run() -> None:
        store.gate = gate = asyncio.Event()
        calls = [asyncio.ensure_future(group.submit(n)) for n in range(5)]
        await asyncio.sleep(0.01)
        gate.set()
        await asyncio.gather(*calls)

    asyncio.run(run())
    assert (group.writes, group.written) == (3, 5)
    with pytest.raises(ValueError):
        GroupCommit(store.write, most=0)


def test_a_bad_item_fails_only_its_own_call() -> None:
    store = Store()
    group = GroupCommit(store.write)

    async def run() -> list[object]:
        store.gate = gate = asyncio.Event()
        calls = [asyncio.ensure_future(group.submit(n)) for n in (1, 2, -3, 4)]
        await asyncio.sleep(0.01)
        gate.set()
        return await asyncio.gather(*calls, return_exceptions=True)

    one, two, bad, four = asyncio.run(run())
    assert (one, two, four) == ("row 1", "row 2", "row 4")
    assert isinstance(bad, Bad) and str(bad) == "[-3]"  # refused alone, after the batch was
    assert sorted(store.rows) == [1, 2, 4]


def test_a_caller_that_stops_waiting_leaves_the_batch_to_the_others() -> None:
    store = Store()
    group = GroupCommit(store.write)

    async def run() -> list[str]:
        store.gate = gate = asyncio.Event()
        first = asyncio.ensure_future(group.submit(1))
        await asyncio.sleep(0.01)
        gone, stays = asyncio.ensure_future(group.submit(2)), asyncio.ensure_future(group.submit(3))
        await asyncio.sleep(0.01)
        first.cancel()  # its request went away while its write was open
        gone.cancel()
        gate.set()
        return [await stays]

    assert asyncio.run(run()) == ["row 3"]
    assert sorted(store.rows) == [1, 2, 3]  # written all the same: the write is not the caller's


def test_a_closed_writer_rolls_back_and_leaves_nobody_waiting() -> None:
    """``aclose`` (a service stopping) cancels the open write and every caller still waiting."""
    store = Store()
    group = GroupCommit(store.write)

    async def run() -> list[object]:
        store.gate = asyncio.Event()  # never set: the write stays open
        calls = [asyncio.ensure_future(group.submit(n)) for n in range(3)]
        await asyncio.sleep(0.01)
        late = asyncio.ensure_future(group.submit(9))  # queued behind the open write
        await asyncio.sleep(0.01)
        await asyncio.wait_for(group.aclose(), 5)
        return await asyncio.wait_for(asyncio.gather(*calls, late, return_exceptions=True), 5)

    assert all(isinstance(r, asyncio.CancelledError) for r in asyncio.run(run()))
    assert store.rows == []


def test_a_writer_cancelled_before_its_first_step_leaves_nobody_waiting() -> None:
    store = Store()
    group = GroupCommit(store.write)

    async def run() -> list[object]:
        calls = [asyncio.ensure_future(group.submit(n)) for n in range(3)]
        await asyncio.sleep(0)  # the calls are queued; the writer has not run yet
        assert group._writer is not None
        group._writer.cancel()
        return await asyncio.wait_for(asyncio.gather(*calls, return_exceptions=True), 5)

    assert all(isinstance(r, asyncio.CancelledError) for r in asyncio.run(run()))


def test_a_failure_no_item_causes_fails_the_batch_once_not_once_per_item() -> None:
    """The database gone: every caller of the batch gets the error after one write, not after
    each item has been tried alone in turn."""
    store = Store()
    group = GroupCommit(store.write, alone=lambda exc: not isinstance(exc, ConnectionError))
    calls = 0

    async def gone(items: Sequence[int]) -> list[str]:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0)
        raise ConnectionError("no database")

    group._write = gone

    async def run() -> list[object]:
        return await asyncio.gather(*(group.submit(n) for n in range(5)), return_exceptions=True)

    assert all(isinstance(r, ConnectionError) for r in asyncio.run(run()))
    assert calls == 1


def test_a_write_that_gives_the_wrong_number_of_results_fails_its_batch_only() -> None:
    store = Store()

    async def short(items: Sequence[int]) -> list[str]:
        return (await store.write(items))[:-1] if len(items) > 1 else await store.write(items)

    group = GroupCommit(short)

    async def run() -> list[object]:
        return await asyncio.gather(*(group.submit(n) for n in range(3)), return_exceptions=True)

    assert asyncio.run(run()) == ["row 0", "row 1", "row 2"]  # retried alone, each gets its own


def test_each_event_loop_starts_afresh() -> None:
    store = Store()
    group = GroupCommit(store.write)
    assert asyncio.run(group.submit(1)) == "row 1"
    assert asyncio.run(group.submit(2)) == "row 2"  # a test's next asyncio.run
    assert store.rows == [1, 2]


@settings(max_examples=60, deadline=None)
@given(waves=st.lists(st.lists(st.integers(-3, 20), min_size=1, max_size=6), min_size=1, max_size=5),
       most=st.integers(1, 4))
def test_every_call_gets_what_a_write_of_its_item_alone_gives(waves: list[list[int]], most: int) -> None:
    """Calls in waves, each wave arriving while the writes before it may still be open: every call's
    outcome is its own item's (its row, or its refusal), and exactly the good items are stored."""
    store = Store()
    group = GroupCommit(store.write, most=most)

    async def run() -> list[object]:
        calls = []
        for wave in waves:
            calls += [asyncio.ensure_future(group.submit(n)) for n in wave]
            await asyncio.sleep(0)
        return await asyncio.gather(*calls, return_exceptions=True)

    items = [n for wave in waves for n in wave]
    outcomes = asyncio.run(run())
    for item, outcome in zip(items, outcomes, strict=True):
        if item < 0:
            assert isinstance(outcome, Bad) and str(outcome) == f"[{item}]"
        else:
            assert outcome == f"row {item}"
    assert sorted(store.rows) == sorted(n for n in items if n >= 0)
    if all(n >= 0 for n in items):
        assert group.written == len(items)  # nothing written twice
