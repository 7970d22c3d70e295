"""The second independent stack (Sphereon OID4VC 0.20.1, tests/interop2/README.md), driven from pytest.

``wallet(command)`` runs tests/interop2/wallet.mjs once: a JSON command on stdin, a JSON answer on
stdout. Every run has a deadline; ``node`` missing is the one reason to skip. The npm packages are
pinned by tests/interop2/package-lock.json and installed by ``make interop2`` (the tests run it when
a bare ``pytest`` on a fresh clone has not).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
NODE = shutil.which("node")
SKIP_REASON = "node is not installed: the second interop stack (Sphereon OID4VC) runs on Node.js"


def installed() -> None:
    """Install the pinned npm packages if `make interop2` has not."""
    if not (HERE / "node_modules" / ".stamp").exists():
        make = shutil.which("make")
        assert make is not None, "make is needed to install the second interop stack's npm packages (make interop2)"
        subprocess.run([make, "-s", "interop2"], cwd=HERE.parent.parent, check=True, timeout=600)


def wallet(command: dict[str, Any], *, ok: bool = True) -> dict[str, Any]:
    """One wallet.mjs run; ``ok`` says whether it must succeed (exit 0) or fail with ``{"error": …}``."""
    assert NODE is not None, SKIP_REASON
    installed()
    done = subprocess.run([NODE, "wallet.mjs"], cwd=HERE, input=json.dumps(command), capture_output=True, text=True,
                          check=False, timeout=120)
    assert (done.returncode == 0) == ok, f"{command['cmd']}: {done.stdout}\n{done.stderr}"
    answer: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer
