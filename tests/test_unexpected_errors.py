"""An exception nobody mapped: the client gets a fixed 500 problem, and the log gets the type,
the route and the code location — never the message, which can carry a claim value or the
SQL parameters of a failed statement (issue 11: uvicorn logged them whole)."""

from __future__ import annotations

import logging
import re
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


def test_text_postgresql_cannot_keep_is_the_requests_fault(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """PostgreSQL's text holds no NUL: asyncpg refuses the value (helper-74: ``GET
    /verifier/requests/%00`` was a 500 there). Whichever layer raises it, the client gets a 400
    problem, the log no value; and a real node answers a NUL in any id as bad input or as unknown
    (400 on PostgreSQL, 404 on SQLite, where the lookup finds nothing), never as a fault."""
    import asyncpg
    from sqlalchemy.exc import DBAPIError

    node = RunningNode(tmp_path, propagate_logs=True)

    @node.app.get("/nul/{layer}")
    async def nul(layer: str) -> None:
        refused = asyncpg.CharacterNotInRepertoireError(f"invalid byte sequence: {SECRET}")
        if layer == "other":  # a database error that is not the request's text: still the fixed 500
            try:
                raise asyncpg.NumericValueOutOfRangeError(f"out of range: {SECRET}")
            except asyncpg.PostgresError as exc:
                raise DBAPIError("SELECT …", {"id": SECRET}, exc) from exc
        if layer == "driver":
            raise refused
        try:
            raise refused
        except asyncpg.PostgresError as exc:  # as SQLAlchemy wraps what its adapter raised
            raise DBAPIError("SELECT …", {"id": SECRET}, exc) from exc

    caplog.set_level(logging.DEBUG)
    with node:
        for layer in ("driver", "sqlalchemy"):
            r = httpx.get(f"{node.base}/nul/{layer}", timeout=10)
            assert r.status_code == 400 and r.headers["content-type"] == "application/problem+json", r.text
            assert r.json()["code"] == "invalid_input" and SECRET not in r.text
            assert r.headers["x-content-type-options"] == "nosniff"  # through every middleware, as any refusal
        other = httpx.get(f"{node.base}/nul/other", timeout=10)
        assert other.status_code == 500 and other.json()["code"] == "internal_error" and SECRET not in other.text
        for path in ("/verifier/requests/%00", "/verifier/requests/a%00b", "/issuers/ngo/offers/%00"):
            r = httpx.get(f"{node.base}{path}", timeout=10)
            assert r.status_code in (400, 404) and r.headers["content-type"] == "application/problem+json", r.text
        answered = httpx.post(f"{node.base}/verifier/responses/a%00", data={"vp_token": "x", "state": "y"}, timeout=10)
        assert answered.status_code in (400, 404), answered.text
    logged = "\n".join(f"{rec.name} {rec.getMessage()} {rec.exc_text or ''}" for rec in caplog.records)
    assert "refused CharacterNotInRepertoireError at GET /nul/{layer}" in logged
    assert "refused DBAPIError at GET /nul/{layer}" in logged
    assert SECRET not in logged and "unexpected CharacterNotInRepertoireError" not in logged
    assert "GET /nul/{layer} 400" in logged  # the access line says what the client got
    # re-raised by the mapping, the other error is logged where it was raised, not in core/web.py
    assert re.search(r"unexpected DBAPIError at GET /nul/\{layer\} \(test_unexpected_errors\.py:\d+\)", logged)
