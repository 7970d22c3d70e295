"""An exception nobody mapped: the client gets a fixed 500 problem, and the log gets the type,
the route and the code location — never the message, which can carry a claim value or the
SQL parameters of a failed statement (issue 11: uvicorn logged them whole)."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest

from tests.node import RunningNode

SECRET = "Amina-Rahimi-1990-05-01"


def test_an_unexpected_exception_is_logged_as_its_type_only(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    node = RunningNode(tmp_path, propagate_logs=True)

    @node.app.get("/boom/{anything}")
    async def boom(anything: str) -> None:
        raise RuntimeError(f"cannot store {SECRET} for {anything}")

    caplog.set_level(logging.DEBUG)
    with node:
        r = httpx.get(f"{node.base}/boom/{SECRET}", timeout=10)
    assert r.status_code == 500 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "internal_error" and SECRET not in r.text
    logged = "\n".join(f"{rec.name} {rec.getMessage()} {rec.exc_text or ''}" for rec in caplog.records)
    assert "unexpected RuntimeError at GET /boom/{anything}" in logged
    assert SECRET not in logged and "Traceback" not in logged
    assert "Exception in ASGI application" not in logged  # nothing reached the server's error log
    assert "/boom/{anything} 500" in logged  # the access line still sees the status
