"""``python -m bench.issuer`` and ``python -m bench.verifier`` run the wallet's whole flows in process and
over HTTP (a pinned uvicorn worker) and print every figure issue 15 asks for. Tiny runs: this checks
the benches work and what they print, never how fast anything is."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from core.settings import REPO_ROOT


def _run(module: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AMANA_") and k != "DATABASE_URL"}
    done = subprocess.run([sys.executable, "-m", module, "--flows", "3", "--wallets", "2"], capture_output=True,
                          text=True, cwd=REPO_ROOT, env=env, check=False, timeout=600)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _medians(out: str, step: str) -> list[float]:
    """The figures of one step's row (medians per phase, then crypto and bound), without the signed
    "over bound" at its end ("+3.23 ms", or "-0.28 ms" for a step that beats its bound)."""
    rows = [line.split() for line in out.splitlines() if line.startswith(f"  {step} ")]
    assert rows, f"no row for {step!r} in:\n{out}"
    cells = rows[0][len(step.split()):]
    if cells and cells[-1] == "ms":
        float(cells[-2])  # a number, whatever its sign
        cells = cells[:-2]
    return [float(cell) for cell in cells]


@pytest.mark.parametrize("module", ["bench.issuer", "bench.verifier"])
def test_the_end_to_end_benches_print_every_step(module: str) -> None:
    out = _run(module)
    if module == "bench.issuer":
        steps, phases = ("offer fetch", "token", "nonce", "credential"), ("in process b1", "HTTP b1", "HTTP b10")
        words = ("batch 1:", "batch 10:", "raw ES256 sign", "issue_vc", "raw bound, batch 1", "besides signatures",
                 "batch 1 over HTTP >= 300 flows/s ->", "batch 10 >= 1000 credentials/s ->")
    else:
        steps, phases = ("check", "request", "response", "result"), ("in process", "HTTP", "HTTP x2")
        words = ("a check:", "verifications per second, in process", "core.sdjwt.verify alone",
                 "raw two signature checks", "a whole check over HTTP >= 300/s ->", "besides signatures")
    for expected in (*words, *phases, "pinned to core 1" if (os.cpu_count() or 1) > 1 else "not pinned"):
        assert expected in out, f"{expected!r} missing from:\n{out}"
    for step in (*steps, "no-op"):
        figures = _medians(out, step)
        assert len(figures) >= 5 and all(f >= 0 for f in figures), out  # 3 phases, crypto, bound
        if step in ("check", "response", "result", "token", "credential"):
            assert figures[-2] > 0, out  # each counts its own cryptography (the result: a sealed box opened;
            # the token: the node key's digests and seals, bench.issuer.STEP_CRYPTO)
    verdicts = [line.split("->")[1].split()[0] for line in out.splitlines() if "->" in line]
    assert verdicts and set(verdicts) <= {"met", "NOT"}, out
