"""Group commit: calls that arrive while a batch is being written wait and go together in the next.

Why (issue 15): every accepted check appends a leaf to the consent log, and the log takes one
appender at a time (its lock, held to the commit: consent/log.py). Under 50 wallets a worker's
answers queued on that lock one transaction each, and the wallet's ``direct_post`` waited 0.9 s
at the median (bench.load). Databases solve the same problem for their own log the same way:
whoever finds the log busy joins the next write, and one commit makes a whole batch durable.

- The first call runs at once, alone: no call waits for company, so one at a time costs what it did.
- A batch runs on a task of its own, not a caller's: a caller whose request is cancelled stops
  waiting, and the batch it was in goes on for the others (its own item may still be written).
- A batch that fails is tried again one item at a time, so one bad item (a duplicate, a refusal)
  fails only its own call, and the others get exactly what they would have alone.
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

    def __init__(self, write: Callable[[Sequence[Item]], Awaitable[Sequence[Done]]], most: int = 64) -> None:
        if most < 1:
            raise ValueError("a batch holds at least one item")
        self._write, self._most = write, most
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
        return await done

    async def _drain(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[:self._most], self._waiting[self._most:]
            try:
                await self._run(batch)
            except BaseException as exc:  # the writer itself cancelled (shutdown): nobody waits forever
                for _, done in [*batch, *self._waiting]:
                    _fail(done, exc)
                self._waiting = []
                raise

    async def _run(self, batch: list[tuple[Item, asyncio.Future[Done]]]) -> None:
        self.writes, self.written = self.writes + 1, self.written + len(batch)
        try:
            results = await self._write([item for item, _ in batch])
        except Exception as exc:
            if len(batch) == 1:
                _fail(batch[0][1], exc)
                return
            for one in batch:  # each alone: only the bad one fails
                await self._run([one])
            return
        for (_, done), result in zip(batch, results, strict=True):
            if not done.done():
                done.set_result(result)


def _fail(done: asyncio.Future[Any], exc: BaseException) -> None:
    if not done.done():
        done.set_exception(exc if isinstance(exc, Exception) else asyncio.CancelledError())
