"""``python -m bench.consent``: the consent log's appends beside a bare insert, and proof checks at 1M.

Printed in one run:

- **appends per second** on SQLite (a fresh file, the node's own engine settings: WAL,
  ``BEGIN IMMEDIATE``) and on PostgreSQL when ``--pg URL`` or ``AMANA_TEST_DATABASE_URL`` is
  given (in a schema of its own, dropped at the end: nothing of the database's is touched).
  Each is measured one leaf per transaction and in batches (``--batch``), beside a **bare
  insert** of the same rows (index, 32-byte commitment, time) into a table of the same shape,
  in the same run, interleaved transaction by transaction; the medians of the rounds are compared. An append
  is what consent.log.append does: hash the leaves, extend the frontier, and insert the leaves
  each after its predecessor (the last one carrying the new frontier; a subtree hash every 256
  leaves). Target (issue 14): appends >= 80 % of the bare rate.
- **inclusion-proof verification at 1,000,000 leaves**: the tree is built once in memory
  (consent.merkle.Levels over 1M leaf hashes; no 1M rows are stored) and proofs for random
  leaves come from consent.merkle.inclusion_proof, the code the store's proofs use. Timed:
  consent.log.verify_inclusion (leaf hash, 20 node hashes, the checks) per proof, beside the raw
  bound: the same 21 SHA-256 calls alone. Target: < 100 µs.
- an inclusion proof served from the store at its size after the appends, for scale.

Figures depend on the machine's load (the first line shows it); tests never assert them.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from sqlalchemy import BigInteger, Column, Integer, LargeBinary, MetaData, Table, insert, text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from consent import log, merkle
from core import db
from core.settings import Settings

BARE = Table("bench_bare_leaves", MetaData(), Column("idx", BigInteger, primary_key=True, autoincrement=False),
             Column("commitment", LargeBinary, nullable=False), Column("appended_at", BigInteger, nullable=False),
             Column("pad", Integer))


async def _engine(backend: str, where: str) -> tuple[AsyncEngine, Callable[[], Awaitable[None]]]:
    """A migrated engine on a fresh SQLite file or a fresh PostgreSQL schema, and its cleanup."""
    if backend == "sqlite":
        engine = db.make_engine(f"sqlite+aiosqlite:///{where}/bench.db")

        async def dispose() -> None:
            await engine.dispose()
    else:
        schema = f"bench_consent_{os.getpid()}"
        url = db.database_url(Settings(database_url=where))
        admin = create_async_engine(url)
        async with admin.begin() as c:
            await c.execute(text(f'CREATE SCHEMA "{schema}"'))
        engine = create_async_engine(url, connect_args={"server_settings": {"search_path": schema}})

        async def dispose() -> None:
            await engine.dispose()
            async with admin.begin() as c:
                await c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            await admin.dispose()
    await db.upgrade(engine)
    async with engine.begin() as c:
        await c.run_sync(BARE.metadata.create_all)
    return engine, dispose


def _commitments(n: int, rng: random.Random) -> list[bytes]:
    return [rng.randbytes(32) for _ in range(n)]


async def _bare(sessions: async_sessionmaker, rows: list[bytes], first: int) -> float:  # type: ignore[type-arg]
    start = time.perf_counter()
    async with sessions.begin() as s:
        await s.execute(insert(BARE), [{"idx": first + j, "commitment": c, "appended_at": 1}
                                       for j, c in enumerate(rows)])
    return time.perf_counter() - start


async def _append(sessions: async_sessionmaker, rows: list[bytes]) -> float:  # type: ignore[type-arg]
    start = time.perf_counter()
    async with sessions.begin() as s:
        await log.append(s, rows, 1)
    return time.perf_counter() - start


async def _appends(backend: str, where: str, n: int, batch: int, rounds: int) -> dict[str, object]:
    """Rates per round, bare insert and log append interleaved transaction by transaction (the
    order alternating), so both meet the same disk and the same neighbours: on a busy machine
    an fsync's cost swings tenfold within seconds, and two arms timed one after the other
    would measure the swings rather than the code."""
    engine, dispose = await _engine(backend, where)
    sessions = db.sessions(engine)
    rng, done = random.Random(1), 0
    figures: dict[str, list[float]] = {"bare 1": [], "log 1": [], f"bare {batch}": [], f"log {batch}": []}
    try:
        for _ in range(rounds):
            for size in (1, batch):
                count = n if size == 1 else n * 4
                rows = _commitments(count, rng)
                spent = {"bare": 0.0, "log": 0.0}
                for k, i in enumerate(range(0, count, size)):
                    chunk = rows[i:i + size]
                    for kind in (("bare", "log") if k % 2 == 0 else ("log", "bare")):
                        spent[kind] += await (_bare(sessions, chunk, done + i) if kind == "bare"
                                              else _append(sessions, chunk))
                done += count
                for kind, seconds in spent.items():
                    figures[f"{kind} {size}"].append(count / seconds)
        async with sessions.begin() as s:
            size = await log._tree_size(s)
            start = time.perf_counter()
            for index in random.Random(2).sample(range(size), 20):
                await log.inclusion(s, index, size)
            served_ms = (time.perf_counter() - start) / 20 * 1000
    finally:
        await dispose()
    return {"medians": {k: statistics.median(v) for k, v in figures.items()}, "size": size, "served_ms": served_ms}


def _proofs(leaves: int, samples: int, repeat: int) -> tuple[float, float, float]:
    """µs per verify (ours, raw hashes alone) at ``leaves``, and the seconds spent building."""
    start = time.perf_counter()
    entries = [hashlib.sha256(i.to_bytes(8, "big")).digest() for i in range(leaves)]
    tree = merkle.Levels([merkle.leaf_hash(e) for e in entries])
    root = merkle.range_hash(0, leaves, tree)
    built = time.perf_counter() - start
    ours, raw = [], []
    sha = hashlib.sha256
    for index in random.Random(3).sample(range(leaves), samples):
        proof = merkle.inclusion_proof(index, leaves, tree)
        leaf = entries[index]
        log.verify_inclusion(leaf, index, leaves, proof, root)
        t = time.perf_counter()
        for _ in range(repeat):
            log.verify_inclusion(leaf, index, leaves, proof, root)
        ours.append((time.perf_counter() - t) / repeat * 1e6)
        t = time.perf_counter()
        for _ in range(repeat):
            h = sha(b"\x00" + leaf).digest()
            for p in proof:
                h = sha(b"\x01" + p + h).digest()
        raw.append((time.perf_counter() - t) / repeat * 1e6)
    return statistics.median(ours), statistics.median(raw), built


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=2000, help="leaves per measurement, one per transaction")
    parser.add_argument("--batch", type=int, default=100, help="leaves per transaction when batched")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pg", default=os.environ.get("AMANA_TEST_DATABASE_URL"), help="PostgreSQL URL")
    parser.add_argument("--leaves", type=int, default=1_000_000, help="tree size for the proof check")
    parser.add_argument("--samples", type=int, default=50, help="random leaves whose proofs are checked")
    args = parser.parse_args()

    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    backends = [("sqlite", None), *([("postgresql", args.pg)] if args.pg else [])]
    if not args.pg:
        print("postgresql: skipped (give --pg URL or AMANA_TEST_DATABASE_URL)")
    with tempfile.TemporaryDirectory() as tmp:
        for backend, url in backends:
            got = asyncio.run(_appends(backend, url or str(Path(tmp)), args.n, args.batch, args.rounds))
            m: dict[str, float] = got["medians"]  # type: ignore[assignment]
            for size in (1, args.batch):
                ratio = m[f"log {size}"] / m[f"bare {size}"]
                print(f"{backend} appends, {size} per transaction: log {m[f'log {size}']:,.0f}/s, bare insert "
                      f"{m[f'bare {size}']:,.0f}/s, {ratio:.0%} of bare (target >= 80 %: "
                      f"{'met' if ratio >= 0.8 else 'not met'})")
            print(f"{backend} inclusion proof served from the store at size {got['size']:,}: "
                  f"{got['served_ms']:.2f} ms")
    ours, raw, built = _proofs(args.leaves, args.samples, repeat=200)
    print(f"inclusion proof verify at {args.leaves:,} leaves (tree built in memory in {built:.1f} s, "
          f"{args.samples} random leaves, median): log.verify_inclusion {ours:.1f} µs, raw bound "
          f"(the same SHA-256 calls alone) {raw:.1f} µs (target < 100 µs: "
          f"{'met' if ours < 100 else 'not met'})")


if __name__ == "__main__":
    main()
