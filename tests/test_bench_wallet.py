"""``python -m bench.wallet`` runs end to end and prints every figure it promises (issue 12's last
acceptance point). Two rounds, one unlock: this checks the bench works, never how fast anything is."""

from __future__ import annotations

import os
import subprocess
import sys

from core.settings import REPO_ROOT


def test_the_wallet_bench_prints_its_lines() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AMANA_") and k != "DATABASE_URL"}
    done = subprocess.run([sys.executable, "-m", "bench.wallet", "--rounds", "2", "--unlocks", "1"],
                          capture_output=True, text=True, cwd=REPO_ROOT, env=env, check=False, timeout=300)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for line in ("unlock at Argon2id opslimit 3, memlimit 64 MiB", "holder.unlock", "vault.unlock",
                 "raw bound: nacl.pwhash.argon2id.kdf", "receive, batch of 1", "receive, batch of 3",
                 "present (2 claims)", "wallet use cases", "bare protocol", "target: the wallet's own overhead"):
        assert line in out, f"{line!r} missing from:\n{out}"
    rows = [row for row in out.splitlines() if row.startswith(("receive, batch", "present ("))]
    assert len(rows) == 3 and all(row.endswith("met") for row in rows), out  # each with its verdict, whichever
