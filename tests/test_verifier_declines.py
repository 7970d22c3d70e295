"""Issue 11: whoever reads the public request object knows its ``state`` and can send
``error=access_denied`` first. A decline is a hint: the check stays open for a presentation
(which proves itself by its Key Binding JWT) and ends as declined only when it expires."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from core import _jose
from tests.node import RunningNode
from tests.verifier_desk import Desk
from wallet import present as wallet


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    data_dir = tmp_path_factory.mktemp("declines")
    with RunningNode(data_dir) as node:
        yield Desk(node, data_dir)


async def _forge_decline(http: httpx.AsyncClient, check: dict[str, Any]) -> httpx.Response:
    """A bystander: reads the QR's request_uri, takes state and response_uri, declines."""
    request_uri = check["link"].split("request_uri=", 1)[1]
    request = _jose.parse_compact((await http.get(request_uri)).text, "request").unverified_payload()
    return await http.post(request["response_uri"], data={"error": "access_denied", "state": request["state"]})


def test_a_forged_decline_does_not_end_a_check_a_real_wallet_then_answers(desk: Desk) -> None:
    async def story() -> tuple[httpx.Response, httpx.Response, httpx.Response, dict[str, Any]]:
        async with httpx.AsyncClient(timeout=20) as http:
            check = await desk.check(http)
            forged = await _forge_decline(http, check)
            waiting = await desk.result(http, check)
            answered = await desk.present(http, check, desk.credential(None))
            return forged, waiting, answered, await desk.outcome(http, check)

    forged, waiting, answered, result = asyncio.run(story())
    assert forged.status_code == 200  # taken (section 8.2), but as a hint only
    assert waiting.status_code == 202 and waiting.json() == {"phase": "pending", "declined": True}
    assert answered.status_code == 200, answered.text
    assert result["accepted"] is True and result["reason"] is None, result


def test_a_decline_becomes_the_result_when_the_check_expires_unanswered(desk: Desk) -> None:
    async def story() -> tuple[httpx.Response, dict[str, Any], httpx.Response, list[dict[str, Any]]]:
        async with httpx.AsyncClient(timeout=20) as http:
            check = await desk.check(http)
            await _forge_decline(http, check)
            await _forge_decline(http, check)  # a second decline changes nothing
            request = await wallet.fetch_request(http, check["link"])  # a holder who is too slow
            desk.ctx.offset = 601  # the request's lifetime (REQUEST_TTL_S) has passed
            vp = wallet.vp_token(request, {"registration": desk.credential(None)}, int(time.time()) + 601)
            late = await wallet.answer(http, request, vp)
            result = await desk.outcome(http, check)
            again = await desk.result(http, check)
            audit = (await http.get(f"{desk.base}/api/verifier/audit", headers=desk.auth)).json()
            return late, result, again, audit

    try:
        late, result, again, audit = asyncio.run(story())
    finally:
        desk.ctx.offset = 0
    assert late.status_code == 400 and late.json()["error"] == "invalid_request"  # expired
    assert result["accepted"] is False and result["reason"] == "declined"
    assert again.status_code == 404  # shown once
    assert audit[0]["reason"] == "declined" and audit[0]["accepted"] is False


def test_an_open_check_is_polled_while_another_writer_holds_the_database(desk: Desk) -> None:
    """A poll of an open check writes nothing, so on SQLite it takes no transaction
    (verifier.checks.take_result, ``declined``; on PostgreSQL it is one ``UPDATE`` that finds no row
    to change and waits for no other writer, ``store.check_taking_answer``): on SQLite one would
    wait for the database's write lock, and every desk polling its checks would queue behind, and
    hold back, the node's writers. Here another connection holds that lock throughout, and the
    desk's poll still answers "pending" (a transaction would have waited out the busy timeout and
    failed)."""
    if desk.node.settings.database_url:
        pytest.skip("the embedded SQLite's write lock")

    async def story() -> tuple[httpx.Response, httpx.Response]:
        async with httpx.AsyncClient(timeout=60) as http:
            check = await desk.check(http)
            holder = sqlite3.connect(desk.data_dir / "amana.db", isolation_level=None)
            try:
                holder.execute("BEGIN IMMEDIATE")
                waiting = await desk.result(http, check)
            finally:
                holder.close()  # rolls the empty transaction back
            return waiting, await desk.result(http, check)

    waiting, after = asyncio.run(story())
    assert waiting.status_code == 202 and waiting.json() == {"phase": "pending", "declined": False}, waiting.text
    assert after.status_code == 202
