"""Issue 11, defect 5, as its acceptance asks: against a node in its own process (``amana
serve``), on SQLite and on PostgreSQL. Wallets collect more than the old fixed 200
credentials concurrently, all on one day (``issued_at`` is rounded to the day); staff then
reach every one of them over the staff API, page by page in a stable order, revoke the one a
newest-200 list never showed, and find a person's credentials by the offer's reference.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.credtypes import load_registry
from core.settings import Settings
from tests.server_process import POSTGRES_URL, NodeProcess, empty_postgres
from wallet.receive import receive

SKILL = json.loads(Path("specs/credentials/SkillCertificate/example.json").read_text())
OFFERS, BATCH = 21, 10  # 210 credentials: more than the old limit of 200


@pytest.fixture(params=["sqlite", "postgresql"])
def node(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[NodeProcess, str]]:
    database_url = None
    if request.param == "postgresql":
        if not POSTGRES_URL:
            pytest.skip("no PostgreSQL (set AMANA_TEST_DATABASE_URL)")
        empty_postgres(POSTGRES_URL)
        database_url = POSTGRES_URL
    running = NodeProcess(tmp_path / "node", database_url=database_url)
    created = running.cli("issuer", "create-org", "--slug", "open-doors", "--name", "en=Open Doors",
                          "--type", "SkillCertificate")
    with running:
        yield running, created["api_key"]
    assert "Traceback" not in running.log_text()


async def _collect(node: NodeProcess, api_key: str) -> None:
    """Staff make the offers; the wallets collect them all at once."""
    headers = {"Authorization": f"Bearer {api_key}"}
    types = load_registry(Settings().specs_dir)
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=OFFERS)) as http:
        offers = []
        for i in range(OFFERS):
            r = await http.post(f"{node.base}/api/issuer/offers", headers=headers,
                                json={"type": "SkillCertificate", "claims": SKILL, "batch_size": BATCH,
                                      "reference": f"Case {4700 + i}"})
            assert r.status_code == 201, r.text
            offers.append(r.json())
        await asyncio.gather(*(receive(http, o["link"], o["pin"], copies=BATCH, types=types) for o in offers))


def _every_page(node: NodeProcess, api_key: str, first: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    url: str | None = f"{node.base}{first}"
    while url:
        r = httpx.get(url, headers={"Authorization": f"Bearer {api_key}"}, timeout=30)
        assert r.status_code == 200, r.text
        rows += r.json()
        url = r.links.get("next", {}).get("url")
        if url and url.startswith("/"):
            url = f"{node.base}{url}"
    return rows


def test_every_credential_of_a_busy_day_is_reachable_and_revocable(node: tuple[NodeProcess, str]) -> None:
    running, api_key = node
    asyncio.run(_collect(running, api_key))
    every = _every_page(running, api_key, "/api/issuer/credentials?limit=37")
    assert len(every) == OFFERS * BATCH and len({c["id"] for c in every}) == len(every)  # each exactly once
    order = [(-c["issued_at"], c["id"]) for c in every]
    assert order == sorted(order)  # a total, stable order
    oldest = every[-1]
    r = httpx.post(f"{running.base}/api/issuer/credentials/{oldest['id']}/revoke",
                   headers={"Authorization": f"Bearer {api_key}"}, timeout=30)
    assert r.status_code == 200 and r.json()["status"] == "revoked", r.text
    found = _every_page(running, api_key, f"/api/issuer/credentials?reference={oldest['reference'].upper()}")
    assert len(found) == BATCH and {c["offer_id"] for c in found} == {oldest["offer_id"]}
    assert {c["status"] for c in found} == {"revoked"}  # revoking a copy revokes its batch
