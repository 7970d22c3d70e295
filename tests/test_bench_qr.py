"""``python -m bench.qr`` runs and prints every figure issue 13 asks for: for 1, 3 and 6 claims the bytes,
the QR version at M and the verify time, beside the SD-JWT VC presentation, and the raw bound. Short timing:
this checks the bench works, never how fast anything is."""

from __future__ import annotations

import os
import subprocess
import sys

from core.settings import REPO_ROOT


def test_the_qr_bench_prints_its_table() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AMANA_") and k != "DATABASE_URL"}
    done = subprocess.run([sys.executable, "-m", "bench.qr", "--target-s", "0.01"], capture_output=True, text=True,
                          cwd=REPO_ROOT, env=env, check=False, timeout=300)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for words in ("raw bound (2 ES256 verify, 1 key imported)", "AO1 bytes", "SD-JWT bytes", "zlib+b45",
                  "target: 3 claims with binding at QR version <= 16 at M"):
        assert words in out, f"{words!r} missing from:\n{out}"
    rows = {row.split()[0]: row.split() for row in out.splitlines() if row[:1].isdigit()}
    assert sorted(rows) == ["1", "3", "6"], out
    assert int(rows["3"][3]) <= 16 and int(rows["3"][7]) > 16  # ours fits, the plain SD-JWT VC does not
    assert out.rstrip().splitlines()[-1].split("->")[1].strip().startswith("met")
