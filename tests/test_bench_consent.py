"""``python -m bench.consent`` runs and prints every figure it promises (issue 14's last acceptance
point), on SQLite and, when the tests have one, PostgreSQL. Small sizes: this checks the bench
works, never how fast anything is."""

from __future__ import annotations

import os
import subprocess
import sys

from core.settings import REPO_ROOT


def test_the_consent_bench_prints_its_lines() -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL" and k != "AMANA_DATABASE_URL"}
    done = subprocess.run([sys.executable, "-m", "bench.consent", "--n", "20", "--batch", "10", "--rounds", "2",
                           "--leaves", "5000", "--samples", "5"],
                          capture_output=True, text=True, cwd=REPO_ROOT, env=env, check=False, timeout=300)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    backends = ["sqlite", *(["postgresql"] if os.environ.get("AMANA_TEST_DATABASE_URL") else [])]
    for backend in backends:
        for line in (f"{backend} appends, 1 per transaction: log", f"{backend} appends, 10 per transaction: log",
                     f"{backend} inclusion proof served from the store"):
            assert line in out, f"{line!r} missing from:\n{out}"
    assert "inclusion proof verify at 5,000 leaves" in out and "raw bound" in out
    rows = [row for row in out.splitlines() if " appends, " in row or "proof verify" in row]
    assert len(rows) == 2 * len(backends) + 1 and all(row.endswith(("met)", "not met)")) for row in rows), out
