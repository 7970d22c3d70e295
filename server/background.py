"""A whole node on this machine's loopback, in a background thread: for the demo and for tests
that need real HTTP (uvicorn, real sockets), with its own data directory and free port."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import Any

import uvicorn

from core.settings import Settings
from server.app import build_app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class BackgroundNode:
    def __init__(self, data_dir: Path, *, port: int | None = None, propagate_logs: bool = False,
                 **settings: Any) -> None:
        port = port or free_port()
        self.base = f"http://127.0.0.1:{port}"
        self.settings = Settings(data_dir=data_dir, public_base_url=self.base, **settings)
        self.app = build_app(self.settings)
        # propagate_logs: no logging config of uvicorn's own, so its access log reaches the root logger.
        extra: dict[str, Any] = {"log_config": None, "log_level": "debug"} if propagate_logs else {
            "log_level": "warning"}
        extra["access_log"] = False  # concrete paths carry ids: core.web.AccessLog logs route templates
        proxies = self.settings.trusted_proxies
        extra.update(proxy_headers=bool(proxies), forwarded_allow_ips=proxies or None)
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=port, **extra))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> BackgroundNode:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.02)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
