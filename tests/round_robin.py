"""A round-robin load balancer on loopback, for tests and benches that run several workers.

Every HTTP request goes to the next backend in turn, whatever connection it arrived on: the
balancer reads one request, forwards it with ``Connection: close`` to the next worker, relays
the answer and closes. So two consecutive requests of one client, even on a kept-alive
connection, are served by different worker processes — the case a stateless worker must
survive, and the one a real balancer produces only by chance. ``served`` records which
backend answered each request, in order.

Hand-written because it is a test instrument of forty lines; a real proxy (nginx, HAProxy)
is not on these machines and would hide which worker served what.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
from collections.abc import Sequence
from types import TracebackType

HEADER_LIMIT = 64 * 1024


class RoundRobin:
    def __init__(self, port: int, backends: Sequence[int]) -> None:
        self.port, self.backends = port, list(backends)
        self.served: list[int] = []  # backend port per request, in arrival order
        self._next = itertools.cycle(self.backends)
        self._loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._server: asyncio.Server | None = None

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(asyncio.start_server(self._client, "127.0.0.1", self.port))
        self._started.set()
        self._loop.run_forever()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                if len(head) > HEADER_LIMIT:
                    break
                lines = head.decode("latin-1").split("\r\n")
                length = 0
                kept = [lines[0]]
                for line in lines[1:]:
                    name = line.split(":", 1)[0].strip().lower()
                    if name == "content-length":
                        length = int(line.split(":", 1)[1])
                    if name not in ("connection", "keep-alive") and line:
                        kept.append(line)
                body = await reader.readexactly(length) if length else b""
                backend = next(self._next)
                self.served.append(backend)
                up_reader, up_writer = await asyncio.open_connection("127.0.0.1", backend)
                up_writer.write(("\r\n".join([*kept, "Connection: close"]) + "\r\n\r\n").encode("latin-1") + body)
                await up_writer.drain()
                answer = await up_reader.read()  # the worker closes after one answer (Connection: close)
                up_writer.close()
                writer.write(answer)
                await writer.drain()
                break  # the answer said Connection: close; the client opens a new connection
        writer.close()

    def __enter__(self) -> RoundRobin:
        self._thread.start()
        if not self._started.wait(10):
            raise TimeoutError("the balancer did not start")
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        async def stop() -> None:
            assert self._server is not None
            self._server.close()

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
