"""Issue 11: a tampered trust-list file on the node is a server fault. Check creation keeps
working from the last good list the verifier holds; with none, it answers 503, not 400."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import httpx
import pytest

from tests.node import RunningNode
from tests.verifier_desk import Desk


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    data_dir = tmp_path_factory.mktemp("trust-faults")
    with RunningNode(data_dir) as node:
        yield Desk(node, data_dir)


def _create(desk: Desk) -> httpx.Response:
    async def go() -> httpx.Response:
        async with httpx.AsyncClient(timeout=20) as http:
            return await http.post(f"{desk.base}/api/verifier/checks", json={"query": "right-to-work"},
                                   headers=desk.auth)

    return asyncio.run(go())


def _tamper(token: str) -> str:
    head, payload, signature = token.strip().split(".")
    return ".".join([head, payload, ("A" if signature[5] != "A" else "B").join([signature[:5], signature[6:]])])


def test_a_tampered_trust_list_file_falls_back_to_the_held_copy_then_503(
        desk: Desk, caplog: pytest.LogCaptureFixture) -> None:
    good = desk.trust_list_file.read_text()
    held = desk.data_dir / "verifier" / "trust-list.jwt"
    try:
        assert _create(desk).status_code == 201  # the good list is now held by the verifier
        assert held.exists()
        desk.trust_list_file.write_text(_tamper(good))
        caplog.set_level(logging.WARNING)
        r = _create(desk)
        assert r.status_code == 201, r.text  # served from the last good copy
        assert any("was not accepted: invalid_signature" in rec.getMessage() for rec in caplog.records)
        held.write_text(_tamper(held.read_text()))  # and the held copy damaged too: nothing good is left
        r = _create(desk)
        assert r.status_code == 503 and r.json()["code"] == "trust_list_unavailable", r.text
        desk.trust_list_file.write_text(good)  # the operator repairs the file: a damaged held copy is replaced
        assert _create(desk).status_code == 201
    finally:
        desk.trust_list_file.write_text(good)
