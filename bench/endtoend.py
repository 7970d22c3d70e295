"""The runs ``bench.issuer`` and ``bench.verifier`` share: one wallet after another (what each
request costs), many at once (what a worker serves), in process and over HTTP, printed side by side.

Figures are medians of every request of a step. "flows/s, one at a time" is the number of flows
divided by the time spent inside the timed requests (the wallet's own computing between them
excluded); "flows/s, N at once" is flows divided by the wall clock, the client (this process,
on the other core, each of the N wallets with a client and connection of its own) included, so
it says what the client could drive as much as what the node can: "per CPU-s" says what the node
alone could serve.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench import node_setup, world
from bench.light_client import LightClient
from bench.world import Times, Wallets
from core.trust.local import HeldTrustList
from server.background import free_port

Prepare = Callable[[Wallets, int], Awaitable[list[Any]]]  # untimed: what each flow needs (offers, credentials)
Flow = Callable[[Wallets, Times, Any], Awaitable[None]]


@dataclass
class Phase:
    label: str
    times: Times
    elapsed: float = 0.0  # wall clock of the concurrent run; 0 for one-at-a-time
    noop: Times = field(default_factory=Times)
    cpu_s: float = float("nan")  # the node's CPU time for the flows (in process: this whole process)

    def median_ms(self, step: str) -> float:
        values = self.times.steps.get(step) or self.noop.steps.get(step) or [float("nan")]
        return statistics.median(values) * 1000

    def flows_per_s(self) -> float:
        if self.elapsed:
            return self.times.flows / self.elapsed
        inside = sum(sum(v) for v in self.times.steps.values())
        return self.times.flows / inside if inside else float("nan")


def arguments(prog: str, doc: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=prog, description=doc.split("\n\n")[0])
    parser.add_argument("--pg", default=None, help="a throwaway PostgreSQL database (its tables are dropped); "
                                                   "default: the embedded SQLite")
    parser.add_argument("--flows", type=int, default=300, help="flows per run (default 300)")
    parser.add_argument("--wallets", type=int, default=16, help="wallets at once in the concurrent run (default 16)")
    args = parser.parse_args()
    if args.pg and args.pg in (os.environ.get("AMANA_DATABASE_URL"), os.environ.get("DATABASE_URL")):
        parser.exit(2, f"{prog} drops every table: it refuses the node's own database\n")
    return args


@contextlib.contextmanager
def node_dir(pg: str | None) -> Iterator[tuple[Path, int, tuple[str, str]]]:
    """A fresh data directory and store, its port (the issuer's and the desk's ids carry it), the keys."""
    with tempfile.TemporaryDirectory(prefix="amana-bench-") as tmp:
        if pg:
            from bench.load_node import drop_tables

            drop_tables(pg)
        data_dir, port = Path(tmp) / "node", free_port()
        yield data_dir, port, node_setup.setup(data_dir, port, pg, world.SHOWN)


async def _noops(wallets: Wallets, n: int) -> Times:
    times = Times()
    for _ in range(n):
        await wallets.noop(times)
    return times


async def one_at_a_time(label: str, wallets: Wallets, n: int, prepare: Prepare, flow: Flow,
                        cpu: Callable[[], float] = time.process_time, *, settle_trust_list: bool = False) -> Phase:
    """``settle_trust_list``: the flows read the trust list, and this phase is a run's first (``_warm``)."""
    await _warm(wallets, prepare, flow, settle_trust_list)
    inputs = await prepare(wallets, n)
    times, used = Times(), cpu()
    for item in inputs:
        await flow(wallets, times, item)
    used = cpu() - used
    return Phase(label, times, noop=await _noops(wallets, max(n, 50)), cpu_s=used)


async def at_once(label: str, wallets: Wallets, n: int, c: int, prepare: Prepare, flow: Flow,
                  cpu: Callable[[], float] = time.process_time) -> Phase:
    """``n`` flows by ``c`` wallets at once, after one untimed flow each at once: a node in its
    steady state has as many database connections open as it serves requests at once, and the
    first ``c`` at once open them (on PostgreSQL a server process and SCRAM each, about 10 ms:
    a sixth of a 300-flow run's wall clock, session 13)."""
    warm = await prepare(wallets, c)

    async def warming(item: Any) -> None:
        async with wallets.one_of_many() as alone:
            await flow(alone, Times(), item)

    await asyncio.gather(*(warming(item) for item in warm))
    inputs = await prepare(wallets, n)
    times, used = Times(), cpu()
    queue = list(inputs)

    async def wallet() -> None:
        async with wallets.one_of_many() as alone:
            while queue:
                await flow(alone, times, queue.pop())

    async def noops() -> None:
        async with wallets.one_of_many() as alone:
            await _noops(alone, max(n, 50) // c + 1)

    started = time.perf_counter()
    await asyncio.gather(*(wallet() for _ in range(c)))
    elapsed, used = time.perf_counter() - started, cpu() - used
    noop, started = Times(), time.perf_counter()
    await asyncio.gather(*(noops() for _ in range(c)))
    noop.steps["no-op"] = [(time.perf_counter() - started) / (c * (max(n, 50) // c + 1))]  # seconds per request
    return Phase(label, times, elapsed, noop, used)


async def _warm(wallets: Wallets, prepare: Prepare, flow: Flow, settle_trust_list: bool = False) -> None:
    """A few untimed flows first: a worker's first requests load types, keys, the trust list.

    ``settle_trust_list`` then waits out the trust list's racy window: a desk's first check
    writes its held copy of the list, and for ``HeldTrustList.RACY_NS`` (2 s) after a write each
    read of the list compares the bytes of its three files, where a settled node compares their
    ``stat`` (core.trust.local). A phase timed inside that window (the in-process one, 300 checks in
    about a second) measured the transient: 0.05-0.09 ms more a check's creation and 0.13-0.19 ms
    more its ``direct_post`` (two runs of each). Later phases start seconds after the write, and an
    issuance reads no trust list."""
    times = Times()
    for item in await prepare(wallets, 3):
        await flow(wallets, times, item)
    await _noops(wallets, 20)
    if settle_trust_list:
        await asyncio.sleep(HeldTrustList.RACY_NS / 1e9)


@contextlib.asynccontextmanager
async def in_process(data_dir: Path, port: int, pg: str | None, secrets: tuple[str, str]) -> AsyncIterator[Wallets]:
    async with world.in_process(world.settings(data_dir, port, pg), port) as http:
        yield Wallets(http, f"http://127.0.0.1:{port}", *secrets)


@contextlib.asynccontextmanager
async def over_http(port: int, secrets: tuple[str, str]) -> AsyncIterator[Wallets]:
    async with httpx.AsyncClient(timeout=60) as http:
        yield Wallets(http, f"http://127.0.0.1:{port}", *secrets, own_client=LightClient)


def print_steps(title: str, steps: Sequence[str], phases: Sequence[Phase], crypto_ms: dict[str, float]) -> None:
    """Per step, each phase's median beside the step's bound: the no-op + its cryptography + 0.3 ms."""
    print(f"\n{title}: median ms per request (lower is better)")
    head = "".join(f"{p.label:>16}" for p in phases)
    print(f"  {'step':<14}{head}{'crypto':>9}{'bound*':>9}  over bound*")
    first = phases[0]
    for step in (*steps, "no-op"):
        crypto = crypto_ms.get(step, 0.0)
        bound = first.median_ms("no-op") + crypto + 0.3
        cells = "".join(f"{p.median_ms(step):>16.2f}" for p in phases)
        over = "" if step == "no-op" else f"  {first.median_ms(step) - bound:+.2f} ms"
        print(f"  {step:<14}{cells}{crypto:>9.3f}{bound:>9.2f}{over}")
    print("  * bound = the first column's no-op + the step's raw cryptography + 0.3 ms (issue 15); the over-bound "
          "column is the first column's")


def print_rates(title: str, phases: Sequence[Phase], unit: str) -> None:
    """Rates, and the CPU each flow cost: on a shared machine the CPU time is the steadier figure
    (waiting for a core does not count), and 1000 / (CPU ms per flow) is what one core could do."""
    print(f"\n{title}")
    print(f"  {'':<34}{unit + '/s':>12}{'CPU ms/flow':>13}{'per CPU-s':>11}")
    for p in phases:
        how = f"{p.times.flows} flows in {p.elapsed:.2f} s wall clock" if p.elapsed else \
            f"{p.times.flows} flows, {sum(sum(v) for v in p.times.steps.values()):.2f} s inside requests"
        cpu_ms = p.cpu_s / max(p.times.flows, 1) * 1000
        per_cpu_s = 1000 / cpu_ms if cpu_ms else 0
        print(f"  {p.label:<34}{p.flows_per_s():>12.0f}{cpu_ms:>13.2f}{per_cpu_s:>11.0f}   ({how})")
    print("  CPU ms/flow: in process, this whole process (the client's share included); over HTTP, the node's worker")


def load_line() -> str:
    load = os.getloadavg()
    return f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores"
