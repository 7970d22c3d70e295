"""Group commit: calls that arrive while a batch is being written wait and go together in the next.

Why (issue 15): every accepted check appends a leaf to the consent log, and the log takes one
appender at a time (its lock, held to the commit: consent/log.py). Under 50 wallets a worker's
answers queued on that lock one transaction each, and the wallet's ``direct_post`` waited 0.9 s
at the median (bench.load). Databases solve the same problem for their own log the same way:
whoever finds the log busy joins the next write, and one commit makes a whole batch durable.

- A call is written as soon as no write is in progress: nobody waits for company, so one at a
  time costs what it did (calls made in the same turn of the event loop go together).
- A batch runs on a task of its own, not a caller's: a caller whose request is cancelled stops
  waiting, and the batch it was in goes on for the others (its own item may still be written).
  ``aclose`` (a service stopping) cancels the writer: its open transaction rolls back, and every
  caller still waiting gets ``CancelledError``, as work cancelled at shutdown always did.
- A batch that fails is tried again one item at a time when an item could be the cause (``alone``
  says which errors: a refused row, a receipt that cannot be signed), so one bad item fails only
  its own call and the others get exactly what they would have alone. A failure no item causes
  (the database gone, a timeout) fails the whole batch at once, not once per item in turn.
- One event loop at a time (a process of the node); a new loop (a test's next ``asyncio.run``)
  starts afresh.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

Item = TypeVar("Item")
Done = TypeVar("Done")


class GroupCommit(Generic[Item, Done]):
    """``await submit(item)`` is ``(await write([item]))[0]``, with the items that arrive while a
    write runs written together by the next (at most ``most`` at once)."""

    def __init__(self, write: Callable[[Sequence[Item]], Awaitable[Sequence[Done]]], most: int = 64,
                 alone: Callable[[Exception], bool] = lambda _exc: True) -> None:
        if most < 1:
            raise ValueError("a batch holds at least one item")
        self._write, self._most, self._alone = write, most, alone
        self._waiting: list[tuple[Item, asyncio.Future[Done]]] = []
        self._writer: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.writes = self.written = 0  # batches and items written (tests and benchmarks read them)

    async def submit(self, item: Item) -> Done:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a new event loop: nothing of the old one can still run
            self._loop, self._waiting, self._writer = loop, [], None
        done: asyncio.Future[Done] = loop.create_future()
        self._waiting.append((item, done))
        if self._writer is None or self._writer.done():
            self._writer = loop.create_task(self._drain())
            self._writer.add_done_callback(self._ended)
        return await done

    async def aclose(self) -> None:
        """Cancel the writer (its transaction rolls back); whoever still waits gets CancelledError."""
        writer = self._writer
        if writer is not None and not writer.done() and self._loop is asyncio.get_running_loop():
            writer.cancel()
            await asyncio.wait({writer})

    def _ended(self, writer: asyncio.Task[None]) -> None:
        """The writer stopped early (cancelled, even before its first step): nobody waits forever."""
        if writer.cancelled() or writer.exception() is not None:
            waiting, self._waiting = self._waiting, []
            for _, done in waiting:
                done.cancel()

    async def _drain(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[:self._most], self._waiting[self._most:]
            try:
                await self._run(batch)
            except BaseException:  # the writer cancelled: so is what it was writing
                for _, done in batch:
                    done.cancel()
                raise

    async def _run(self, batch: list[tuple[Item, asyncio.Future[Done]]]) -> None:
        self.writes, self.written = self.writes + 1, self.written + len(batch)
        try:
            results = list(await self._write([item for item, _ in batch]))
            if len(results) != len(batch):
                raise RuntimeError(f"a write of {len(batch)} items gave {len(results)} results")
        except Exception as exc:
            if len(batch) == 1 or not self._alone(exc):
                for _, done in batch:
                    _fail(done, exc)
                return
            for one in batch:  # each alone: only the bad one fails
                if not one[1].done():  # its caller still waits
                    await self._run([one])
            return
        for (_, done), result in zip(batch, results, strict=True):
            if not done.done():
                done.set_result(result)


def _fail(done: asyncio.Future[Any], exc: BaseException) -> None:
    if not done.done():
        done.set_exception(exc)
