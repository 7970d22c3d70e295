"""A real node on loopback for tests that need real HTTP (uvicorn in a thread, a temp data dir)."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import uvicorn

from core.settings import Settings
from server.app import build_app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RunningNode:
    def __init__(self, data_dir: Path, *, propagate_logs: bool = False, **settings: object) -> None:
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        self.settings = Settings(data_dir=data_dir, public_base_url=self.base, **settings)  # type: ignore[arg-type]
        self.app = build_app(self.settings)
        # propagate_logs: no logging config of uvicorn's own, so its access log reaches pytest's caplog.
        extra = {"log_config": None, "log_level": "debug"} if propagate_logs else {"log_level": "warning"}
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=port, **extra))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> RunningNode:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.02)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
