"""``python -m bench.instructions`` counts a whole flow's instructions under callgrind (issue 15: time
on a shared VM drifts by half, instructions do not). Reads its dumps right, and runs: a small
count, never how many instructions anything takes."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

from bench.instructions import label, totals
from core.settings import REPO_ROOT
from tests.server_process import POSTGRES_URL, empty_postgres

DUMP = """# callgrind format
version: 1
creator: callgrind-3.19.0
part: 1
desc: I1 cache:
desc: Timerange: Basic block 0 - 4998706
desc: Trigger: dump flows
events: Ir
summary: 0
totals: 18294585
"""


def test_a_dump_gives_its_label_and_its_totals_not_its_summary() -> None:
    assert label(DUMP) == "flows" and totals(DUMP) == 18294585
    ended = DUMP.replace("Trigger: dump flows", "Trigger: Program termination")
    assert label(ended) is None
    with pytest.raises(ValueError):
        totals(DUMP.replace("totals: 18294585", ""))


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="no valgrind (.ci/run installs it)")
@pytest.mark.parametrize(("kind", "store"), [("check", "sqlite"), ("issue", "postgresql")])
def test_the_instruction_count_runs_and_prints_its_three_parts(kind: str, store: str) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "AMANA_DATABASE_URL")}
    pg = []
    if store == "postgresql":
        if not POSTGRES_URL:
            pytest.skip("no PostgreSQL (.ci/run starts one)")
        empty_postgres(POSTGRES_URL)
        pg = ["--pg", POSTGRES_URL]
    done = subprocess.run([sys.executable, "-m", "bench.instructions", kind, "--flows", "2", *pg], capture_output=True,
                          text=True, cwd=REPO_ROOT, env=env, check=False, timeout=600)
    assert done.returncode == 0, done.stderr
    assert ("PostgreSQL" if pg else "SQLite") in done.stdout.splitlines()[0]
    parts = r"  (a flow|a no-op request|the flow's raw crypto) +([0-9.]+)"
    figures = {name: float(n) for name, n in re.findall(parts, done.stdout)}
    assert set(figures) == {"a flow", "a no-op request", "the flow's raw crypto"}, done.stdout
    # a check is four requests and its cryptography, and more: counted parts cannot come out smaller
    assert figures["a flow"] > 4 * figures["a no-op request"] > 0
    assert figures["a flow"] > figures["the flow's raw crypto"] > 0
