"""The second independent stack (Sphereon OID4VC 0.20.1, tests/interop2/README.md), driven from pytest.

``wallet(command)`` runs tests/interop2/wallet.mjs once: a JSON command on stdin, a JSON answer on
stdout. Every run has a deadline; ``node`` missing is the one reason to skip. The npm packages are
pinned by tests/interop2/package-lock.json and installed by ``make interop2`` (the tests run it when
a bare ``pytest`` on a fresh clone has not).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

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


class Peer:
    """``node peer.mjs``: Sphereon's issuer and verifier; ``base`` is http://127.0.0.1:PORT, ``admin`` calls
    its test endpoints. Bounded like tests/interop/peer.py: loopback only, deadlines, terminated on exit."""

    def __init__(self, log: Path) -> None:
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None
        self.base = ""

    def __enter__(self) -> Peer:
        assert NODE is not None, SKIP_REASON
        installed()
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("wb") as err:
            self.process = subprocess.Popen([NODE, "peer.mjs"], cwd=HERE, stdout=subprocess.PIPE, stderr=err,
                                            env={**os.environ, "PORT": "0"})
        assert self.process.stdout is not None
        line = self.process.stdout.readline()  # the peer prints its port first; a crash closes the pipe
        if not line:
            self.process.wait(timeout=10)
            raise RuntimeError(f"the Sphereon peer did not start: {self.log.read_text()}")
        self.base = f"http://127.0.0.1:{json.loads(line)['port']}"
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        assert self.process is not None
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def admin(self, path: str, body: dict[str, Any] | None = None) -> Any:
        url = f"{self.base}/admin/{path}"
        response = httpx.post(url, json=body, timeout=30) if body is not None else httpx.get(url, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()
