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


class NodeDidNotStart(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class BackgroundNode:
    """Started by ``with``: the block runs once uvicorn listens. A node that cannot start (its port
    taken, its lifespan failing) raises ``NodeDidNotStart`` as soon as its thread ends, or after
    ``STARTUP_S``, instead of leaving the caller (a test run, the demo) waiting for ever."""

    STARTUP_S = 60.0

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
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self._ended_by: BaseException | None = None

    def _serve(self) -> None:
        try:
            self.server.run()
        except BaseException as exc:  # uvicorn ends a failed startup by SystemExit: kept for the caller
            self._ended_by = exc

    def __enter__(self) -> BackgroundNode:
        self.thread.start()
        deadline = time.monotonic() + self.STARTUP_S
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                self.__exit__()
                raise NodeDidNotStart(f"the node at {self.base} did not start (its log says why)") from self._ended_by
            time.sleep(0.02)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
