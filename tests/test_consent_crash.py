"""``kill -9`` during appends, on SQLite and PostgreSQL: two processes append in a loop (each
acknowledging a leaf only after its commit) and are killed several times, mid-stream; after
every restart the audit passes, and every acknowledged leaf is in the log at its index."""

from __future__ import annotations

import asyncio
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from consent.audit import audit
from consent.store import log as store
from core import db
from core.settings import REPO_ROOT
from tests.consent_log_world import BACKENDS, migrated, store_url

ROUNDS = 4
WRITERS = 2


def _read_until(procs: list[subprocess.Popen[str]], want: int, acked: dict[int, str], limit_s: float) -> None:
    """Collect acknowledged lines until ``want`` more arrived (or the bound passes), then return
    with the writers still running, so the kill lands mid-stream."""
    selector = selectors.DefaultSelector()
    for p in procs:
        assert p.stdout is not None
        selector.register(p.stdout, selectors.EVENT_READ, p)
    got, deadline = 0, time.monotonic() + limit_s
    while got < want and time.monotonic() < deadline:
        for key, _ in selector.select(timeout=1):
            line = key.fileobj.readline()  # type: ignore[union-attr]
            if not line:
                selector.unregister(key.fileobj)
                continue
            index, commitment = line.split()
            assert acked.setdefault(int(index), commitment) == commitment, "one index acknowledged twice"
            got += 1
    selector.close()
    assert got >= want, "the writers did not get going"


def _audit_and_check(url: str, acked: dict[int, str]) -> int:
    async def run() -> int:
        engine = await migrated(url)
        try:
            async with db.sessions(engine).begin() as s:
                report = await audit(s)
                assert report.ok, report.failures
                stored = await store.commitments(s, 0, report.size)
        finally:
            await engine.dispose()
        missing = [i for i, c in acked.items() if i >= len(stored) or stored[i].hex() != c]
        assert not missing, f"{len(missing)} acknowledged appends lost"
        assert report.checkpoints > 0
        return report.size
    return asyncio.run(run())


@pytest.mark.parametrize("backend", BACKENDS)
def test_killed_writers_lose_nothing_acknowledged(backend: str, tmp_path: Path) -> None:
    url = store_url(backend, tmp_path)
    asyncio.run(_migrate(url))
    acked: dict[int, str] = {}
    sizes = []
    for round_ in range(ROUNDS):
        procs = [subprocess.Popen([sys.executable, "-m", "tests.consent_appender", url, str(round_ * 10 + w)],
                                  cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for w in range(WRITERS)]
        try:
            _read_until(procs, 40 + 17 * round_, acked, limit_s=120)
        finally:
            for p in procs:
                p.send_signal(signal.SIGKILL)
            for p in procs:
                p.wait(timeout=30)
                assert p.stdout is not None and p.stderr is not None
                for line in p.stdout.read().splitlines():  # acknowledged before the kill
                    index, commitment = line.split()
                    acked.setdefault(int(index), commitment)
                assert "Traceback" not in p.stderr.read()
        sizes.append(_audit_and_check(url, acked))
    assert sizes == sorted(sizes) and len(acked) <= sizes[-1]


async def _migrate(url: str) -> None:
    engine = await migrated(url)
    await engine.dispose()
