"""A whole node as its own operating-system process (uvicorn on loopback), for tests that race
real concurrent requests against it: a thread in the test process would share its event loop's
timing with the client and hide the races a deployment sees.

The process is bounded: it is killed when the test ends, and every wait here has a deadline.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from core import db
from core.settings import REPO_ROOT, Settings
from tests.node import free_port

POSTGRES_URL = os.environ.get("AMANA_TEST_DATABASE_URL")
AMANA = [sys.executable, "-m", "server.cli"]
# ``amana serve`` took 6-8 s to answer on a 2-core machine at a load of 5 (the 10 s some tests allowed
# were nearly spent): the bound is for a node that never will. A node that exits fails the wait at once.
START_S = 120


def wait_until_serving(url: str, process: subprocess.Popen[Any], log: Callable[[], str] = str) -> None:
    """Return once ``url`` answers at all (the node has started); ``log()`` says why not."""
    deadline = time.monotonic() + START_S
    while True:
        assert process.poll() is None, f"amana serve exited: {log()}"
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"amana serve did not start within {START_S} s: {log()}") from None
            time.sleep(0.05)  # waiting for start-up, not for a result


STILL_WAITING = 3  # `amana verifier result`'s exit status while the check is pending


def until_concluded(run: Callable[[], subprocess.CompletedProcess[str]],
                    tries: int = 120) -> subprocess.CompletedProcess[str]:
    """``run()`` (an ``amana verifier result``) again while it says "still waiting", as a person
    would: the node answers the wallet after at most ``verifier_answer_wait_s`` (3 s) and ends a
    slower check in the background, so a loaded machine may show the result a moment after the
    wallet's answer. Bounded: ``tries`` runs, 0.5 s apart."""
    for _ in range(tries):
        done = run()
        if done.returncode != STILL_WAITING:
            return done
        time.sleep(0.5)
    raise AssertionError(f"the check stayed pending: {done.stdout}")


def verifier_result(env: dict[str, str], check_id: str) -> subprocess.CompletedProcess[str]:
    """``amana verifier result <check_id>`` with ``env``, once the check is no longer pending; what
    came without ending it (a decline, an answer not bound to the check) is taken with ``--close``,
    as a clerk would once they see it."""
    def run() -> subprocess.CompletedProcess[str]:
        done = subprocess.run([*AMANA, "verifier", "result", check_id], capture_output=True, text=True,
                              cwd=REPO_ROOT, env=env, check=False, timeout=120)
        if done.returncode == STILL_WAITING and json.loads(done.stdout).get("declined"):
            done = subprocess.run([*AMANA, "verifier", "result", check_id, "--close"], capture_output=True,
                                  text=True, cwd=REPO_ROOT, env=env, check=False, timeout=120)
        return done

    return until_concluded(run)


def empty_postgres(url: str) -> None:
    """Drop every table of the test database: each test starts from an empty store."""
    from sqlalchemy import text

    async def run() -> None:
        engine = db.make_engine(db.database_url(Settings(database_url=url)))
        async with engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
        await engine.dispose()

    asyncio.run(run())


class NodeProcess:
    """``amana serve`` in a child process, with its own data directory."""

    def __init__(self, data_dir: Path, *, database_url: str | None = None, **env: str) -> None:
        self.data_dir, self.port = data_dir, free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "AMANA_DATA_DIR": str(data_dir), "AMANA_PUBLIC_BASE_URL": self.base,
                    **env}
        self.env.pop("DATABASE_URL", None)
        if database_url:
            self.env["AMANA_DATABASE_URL"] = database_url
        else:
            self.env.pop("AMANA_DATABASE_URL", None)
        self.log = data_dir.parent / f"{data_dir.name}.node.log"  # beside, not in, what the node writes
        self.process: subprocess.Popen[bytes] | None = None

    def cli(self, *args: str) -> Any:
        """Run an ``amana`` command against this node's store; its JSON output."""
        done = subprocess.run([*AMANA, *args], capture_output=True, text=True, cwd=REPO_ROOT, env=self.env,
                              check=False, timeout=60)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def __enter__(self) -> NodeProcess:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [*AMANA, "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                cwd=REPO_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        wait_until_serving(f"{self.base}/trust-list", self.process, self.log_text)
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        assert self.process is not None
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")
