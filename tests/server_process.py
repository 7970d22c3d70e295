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
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from core import db
from core.settings import REPO_ROOT, Settings
from tests.node import free_port

POSTGRES_URL = os.environ.get("AMANA_TEST_DATABASE_URL")
AMANA = [sys.executable, "-m", "server.cli"]


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
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()
            try:
                httpx.get(f"{self.base}/trust-list", timeout=1)
                return self
            except httpx.TransportError:
                time.sleep(0.1)
        raise TimeoutError(f"the node did not start: {self.log.read_text()}")

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
