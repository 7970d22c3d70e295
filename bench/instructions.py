"""``python -m bench.instructions``: a whole flow's instructions, counted, to compare two commits.

On a shared VM time drifts by half between runs minutes apart (README, "Speed, measured"): the
CPU a check cost the HTTP worker read 6.9 ms in one run and 12.8 ms in the next, for the same
commit, so a change worth 5 % cannot be seen in time. The number of instructions the flow runs
does not drift: valgrind's callgrind counts them (4 runs of two commits: within 1 %).

The process runs under ``valgrind --tool=callgrind --instr-atstart=no`` (it starts itself so),
with the instrumentation switched on only around what is counted (``callgrind_control -i``),
each part dumped on its own: ``--flows`` whole flows in process (httpx's ASGI transport, the
client's share included, as ``bench.issuer``'s and ``bench.verifier``'s "in process" column),
as many no-op requests through the same app, and the flow's raw cryptography (``bench.sdjwt``'s
ES256 calls). Counted, not timed: the figure says nothing of cache misses or the network, only
of work done, so it is for A/B comparisons (``cd <other checkout> && python -m bench.instructions``),
not for the issue's targets.

    python -m bench.instructions check --flows 20
    python -m bench.instructions issue --flows 20
    python -m bench.instructions issue --pg postgresql://u:p@127.0.0.1/throwaway
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import endtoend
from bench import verifier as checks
from bench.issuer import _issuance
from bench.sdjwt import raw_es256
from bench.world import Times

UNDER = "AMANA_BENCH_UNDER_CALLGRIND"
WARM = 5


def totals(dump: str) -> int:
    """The instructions a callgrind dump counted: its ``totals:`` line (its ``summary:`` may read 0)."""
    for line in dump.splitlines():
        if line.startswith("totals:"):
            return int(line.split()[1])
    raise ValueError("not a callgrind dump: no totals line")


def label(dump: str) -> str | None:
    """What ``callgrind_control --dump=<label>`` named the dump (``desc: Trigger: dump <label>``)."""
    for line in dump.splitlines():
        if line.startswith("desc: Trigger: dump "):
            return line.removeprefix("desc: Trigger: dump ").strip()
    return None


def _control(*flags: str) -> None:
    control = shutil.which("callgrind_control") or "callgrind_control"
    subprocess.run([control, *flags, str(os.getpid())], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def _counted(label: str) -> None:
    """Dump what was counted since the last dump, as part ``label``."""
    _control(f"--dump={label}")


def _measure(kind: str, flows: int, pg: str | None) -> None:
    with endtoend.node_dir(pg) as node:  # outside the event loop: it drops PostgreSQL's tables with its own
        asyncio.run(_counting(kind, flows, pg, *node))


async def _counting(kind: str, flows: int, pg: str | None, data_dir: Path, port: int,
                    secrets: tuple[str, str]) -> None:
    prepare, flow = (checks.prepare, checks.flow) if kind == "check" else _issuance(1)
    async with endtoend.in_process(data_dir, port, pg, secrets) as wallets:
        items = await prepare(wallets, flows + WARM)
        for item in items[:WARM]:  # a worker's first requests load what it keeps
            await flow(wallets, Times(), item)
        _control("--zero")
        _control("-i", "on")
        for item in items[WARM:]:
            await flow(wallets, Times(), item)
        _control("-i", "off")
        _counted("flows")
        _control("-i", "on")
        for _ in range(flows):
            await wallets.noop(Times())
        _control("-i", "off")
        _counted("noop")
    sign, verify, import_verify = raw_es256(b"x" * 700)
    raw: list[Callable[[], object]] = [sign, import_verify] if kind == "issue" else [sign, verify, import_verify]
    _control("-i", "on")
    for _ in range(flows):
        for call in raw:
            call()
    _control("-i", "off")
    _counted("raw")


def _run_under_callgrind(args: argparse.Namespace) -> dict[str, int]:
    valgrind = shutil.which("valgrind")
    if valgrind is None or shutil.which("callgrind_control") is None:
        sys.exit("bench.instructions needs valgrind (Debian: apt install valgrind)")
    with tempfile.TemporaryDirectory(prefix="amana-callgrind-") as tmp:
        out = Path(tmp) / "callgrind.out"
        subprocess.run([valgrind, "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}",
                        "--log-file=" + str(Path(tmp) / "valgrind.log"), sys.executable, "-m", "bench.instructions",
                        args.kind, "--flows", str(args.flows), *(["--pg", args.pg] if args.pg else [])],
                       check=True, env={**os.environ, UNDER: "1"})
        parts: dict[str, int] = {}
        for dump in Path(tmp).glob("callgrind.out*"):
            text = dump.read_text(errors="replace")
            part = label(text)
            if part is not None:
                parts[part] = totals(text)
        return parts


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.instructions", description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("kind", choices=["check", "issue"])
    parser.add_argument("--flows", type=int, default=20, help="flows counted (default 20)")
    parser.add_argument("--pg", help="a throwaway PostgreSQL database (its tables are dropped); default: the "
                        "embedded SQLite. Only this process is counted, not the database server")
    args = parser.parse_args()
    if os.environ.get(UNDER):
        _measure(args.kind, args.flows, args.pg)
        return
    parts = _run_under_callgrind(args)
    missing = {"flows", "noop", "raw"} - set(parts)
    if missing:
        sys.exit(f"bench.instructions: callgrind dumped no {sorted(missing)}")
    per: dict[str, Any] = {k: v / args.flows for k, v in parts.items()}
    what = "a check (create, request, direct_post, result)" if args.kind == "check" else \
        "an issuance at batch 1 (offer fetch, token, nonce, credential)"
    store = "PostgreSQL (its server not counted)" if args.pg else "SQLite"
    print(f"bench.instructions: {what}, {args.flows} in process, {store}, client included (counted by callgrind)")
    print(f"  a flow                {per['flows'] / 1e6:10.2f} million instructions")
    print(f"  a no-op request       {per['noop'] / 1e6:10.2f} million")
    ops = "1 ES256 sign, 1 import-and-verify" if args.kind == "issue" else "1 ES256 sign, 2 verifies, 1 key imported"
    print(f"  the flow's raw crypto {per['raw'] / 1e6:10.2f} million  ({ops})")


if __name__ == "__main__":
    main()
