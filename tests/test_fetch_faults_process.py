"""Issue 11, defect 3, as its acceptance asks: real concurrent presentations against a node in
its own operating-system process (``amana serve``), on SQLite and on PostgreSQL, whose
credentials name status-list URLs that httpx cannot parse or reach. Every wallet's
``direct_post`` is answered 200 and every check ends "status unknown" — never a 500, never
left pending. (tests/test_verifier_fetch_faults.py runs the same forms against an in-process
node, where an unresolvable host can be simulated by replacing the resolver.)

Only forms that fail without touching any network are used here: the process resolves names
with the system resolver, and tests leave loopback never.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from core.settings import Settings
from tests.server_process import POSTGRES_URL, NodeProcess, empty_postgres
from tests.verifier_desk import Desk

OFFLINE_ODD_URIS = [
    "https://0177.0.0.1:8821/status",  # octal IPv4: httpx.InvalidURL (was a 500)
    "https://[::1/status",  # unclosed IPv6 literal: ValueError from urlsplit (was a 500)
    "https://[::1]:99999/status",  # port out of range
    "https:///status",  # no host at all
    "http://127.0.0.1:1/status",  # nothing listens: connection refused on loopback
]


class _Shim:
    """What tests.verifier_desk.Desk reads of a node, for a node in another process (its clock
    is the machine's: offset 0)."""

    def __init__(self, node: NodeProcess) -> None:
        self.base = node.base
        self.settings = Settings(data_dir=node.data_dir, public_base_url=node.base,
                                 database_url=node.env.get("AMANA_DATABASE_URL"))
        self.app = SimpleNamespace(state=SimpleNamespace(verifier=SimpleNamespace(
            offset=0, now=lambda: int(time.time()))))


@pytest.fixture(params=["sqlite", "postgresql"])
def desk(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Desk, NodeProcess]]:
    database_url = None
    if request.param == "postgresql":
        if not POSTGRES_URL:
            pytest.skip("no PostgreSQL (set AMANA_TEST_DATABASE_URL)")
        empty_postgres(POSTGRES_URL)
        database_url = POSTGRES_URL
    node = NodeProcess(tmp_path / "node", database_url=database_url, AMANA_FETCH_DEADLINE_S="5")
    node.data_dir.mkdir(mode=0o700)
    node.cli("verifier", "init")  # the store's tables and the verifier's identity, as an operator does
    desk = Desk(_Shim(node), node.data_dir)  # type: ignore[arg-type]  # the surface Desk reads
    with node:
        yield desk, node
    assert "Traceback" not in node.log_text()


async def _answer_all(desk: Desk, uris: list[str]) -> list[tuple[int, dict[str, Any]]]:
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=len(uris))) as http:
        checks = [await desk.check(http) for _ in uris]

        async def one(check: dict[str, Any], uri: str) -> tuple[int, dict[str, Any]]:
            response = await desk.present(http, check, desk.credential(uri))
            return response.status_code, await desk.outcome(http, check)

        return await asyncio.gather(*(one(c, u) for c, u in zip(checks, uris, strict=True)))


def test_odd_status_uris_at_once_against_a_node_process(desk: tuple[Desk, NodeProcess]) -> None:
    running, node = desk
    answers = asyncio.run(_answer_all(running, OFFLINE_ODD_URIS * 3))
    assert [code for code, _ in answers] == [200] * len(answers), answers
    for _, result in answers:
        assert result["accepted"] is False and result["reason"] == "status_unknown", result
        assert result["credentials"][0]["status"] == "unknown"
    # The access log's lines end "<route> <status> <duration>ms": no 5xx status (a duration may be 500.3ms).
    assert not re.search(r" 5\d\d [\d.]+ms$", node.log_text(), re.MULTILINE), node.log_text()
