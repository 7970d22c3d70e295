"""Runnable benchmarks: ``python -m bench.sdjwt``, ``python -m bench.issuer``, ``python -m bench.wallet``,
``python -m bench.qr``, ``python -m bench.verifier``, ``python -m bench.load``."""

from __future__ import annotations

import os


def pin_to_one_core() -> str:
    """Run this process (and the threads it starts) on one core, as the figures say.

    Unpinned, the event loop and aiosqlite's worker thread may sit on different cores,
    and every hand-off between them wakes the other core: on a 2-core VM that alone moved
    the issuer's end-to-end figure by about 30 %, run to run. Returns a line saying which.
    """
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (no sched_setaffinity here)"
    core = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {core})
    return f"pinned to core {core}"
