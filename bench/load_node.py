"""The node under ``bench.load``: a throwaway PostgreSQL schema, an issuer and a desk on a signed
trust list (``bench.node_setup``, as the README's path makes them), and ``amana serve --workers N`` in its own process
group on loopback, stopped when the phase ends. Its log is read afterwards for the failures a
client never sees in full (a 500 says only "internal_error"): locked databases, serialization
failures, deadlocks, unexpected exceptions."""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import re
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path
from types import TracebackType

import httpx

from bench.node_setup import AMANA, node_env
from core.settings import REPO_ROOT

# What must never happen under load, as the node logs it (core.web logs each unexpected error once).
FAILURES = re.compile(r"database is locked|could not serialize|deadlock detected|unexpected \w+ at .*|Traceback")


def drop_tables(pg: str) -> None:
    """Every table of the throwaway database goes: each run starts from an empty store."""
    from sqlalchemy import text

    from core import db
    from core.settings import Settings

    async def run() -> None:
        engine = db.make_engine(db.database_url(Settings(database_url=pg)))
        async with engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
        await engine.dispose()

    asyncio.run(run())


class LoadNode:
    """``amana serve --workers N`` for one phase; its whole process group is stopped at the end."""

    def __init__(self, data_dir: Path, pg: str, workers: int, port: int) -> None:
        self.env, self.workers, self.port = node_env(data_dir, port, pg), workers, port
        self.base = f"http://127.0.0.1:{port}"
        self.log = data_dir.parent / f"node-{workers}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> LoadNode:
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [*AMANA, "serve", "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(self.workers)],
                cwd=REPO_ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the node stopped: {self.log.read_text()}")
            try:
                if httpx.get(f"{self.base}/health", timeout=2).status_code == 200 and self._all_workers_up():
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        self._stop()
        raise TimeoutError(f"the node did not start: {self.log.read_text()}")

    def _all_workers_up(self) -> bool:
        return self.log.read_text(errors="replace").count("Application startup complete") >= self.workers

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop()

    def _stop(self) -> None:
        assert self.process is not None
        group = self.process.pid  # start_new_session: the node leads its own group, workers included
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)
            self.process.wait(timeout=30)

    def cpu_seconds(self, pg: str) -> tuple[float, float]:
        """CPU time used so far by the node's processes and by the PostgreSQL backends serving this
        database (alive now: the workers' pooled connections), from /proc; NaN where there is none."""
        from urllib.parse import urlsplit

        parts = urlsplit(pg)
        backend = f" {parts.username} {parts.path.lstrip('/')} "
        node = database = 0.0
        ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
                command = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except (OSError, IndexError):
                continue  # gone meanwhile
            used = (int(fields[11]) + int(fields[12])) / ticks
            if self.process is not None and int(fields[2]) == self.process.pid:
                node += used
            elif command.startswith("postgres: ") and backend in command:
                database += used
        return node, database

    @staticmethod
    def machine_seconds() -> tuple[float, float]:
        """CPU time every core of the machine has spent busy so far, and the kernel's part of it
        (/proc/stat): node, PostgreSQL (short-lived backends too), wallets and kernel alike. Whether
        the machine is saturated shows here, not in the processes' own sums (session 20: those
        said 1.3 of 2 cores while the machine was 98 % busy)."""
        try:
            fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        except (OSError, ValueError):
            return math.nan, math.nan
        ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
        return (user + nice + system + irq + softirq + steal) / ticks, (system + irq + softirq) / ticks

    def log_errors(self) -> Counter[str]:
        return Counter(m.group(0) for m in FAILURES.finditer(self.log.read_text(errors="replace")))
