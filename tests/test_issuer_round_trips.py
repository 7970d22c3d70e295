"""A credential request's round trips to PostgreSQL (issue 15): each costs the worker about 0.1 ms
of CPU, more than most of the request's own work, so the hot path's statements are few and this
test says which.

With the status reserve warm and the organisation's id known (issuer.discovery.known_org_id):
``BEGIN``; the token spent, its offer locked and read with the organisation's claim keeping and
signing key (one statement, issuer.store.protocol); the nonce spent; the batch's credentials
locked; every write of the request as one statement (core.prepared); ``COMMIT``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from fastapi.testclient import TestClient

from core import keys
from core.oid4vc import PRE_AUTHORIZED_GRANT
from core.settings import Settings
from server.app import build_app
from tests.oid4vci_wallet import BASE, Wallet
from tests.server_process import POSTGRES_URL, empty_postgres
from tests.test_issuer_flow import SKILL_EXAMPLE, _create_org


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    if not POSTGRES_URL:
        pytest.skip("no PostgreSQL (.ci/run starts one: eval \"$(.ci/postgres)\")")
    empty_postgres(POSTGRES_URL)
    with TestClient(build_app(Settings(data_dir=tmp_path, public_base_url=BASE, database_url=POSTGRES_URL)),
                    base_url=BASE) as c:
        yield c


@dataclass
class Sent:
    """The SQL of every round trip asyncpg makes while ``on`` (each still runs), with the asyncio task
    that sent it. The node's background work runs in tasks of its own, and a slow run can catch some
    of it in the window: the consent ledger's round (consent.schedule, at start-up and every 30 s, three
    transactions) failed a fresh clone's ``make test-postgres`` run beside ``make test``."""

    on: bool = False
    calls: list[tuple[object, str]] = field(default_factory=list)

    def of_task_sending(self, statement: str) -> list[str]:
        """Every statement of the task that sent one starting with ``statement``: a request's, which
        awaits its work in its own task from BEGIN to COMMIT (none if no task sent it)."""
        tasks = {task for task, sql in self.calls if sql.startswith(statement)}
        return [sql for task, sql in self.calls if task in tasks]


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Sent:
    recorded = Sent()

    def counting(name: str) -> None:
        real = getattr(asyncpg.connection.Connection, name)

        async def call(self: Any, query: str, *args: Any, **kwargs: Any) -> Any:
            if recorded.on:
                recorded.calls.append((asyncio.current_task(), " ".join(query.split())))
            return await real(self, query, *args, **kwargs)

        monkeypatch.setattr(asyncpg.connection.Connection, name, call)

    for name in ("execute", "executemany", "fetch", "fetchrow", "fetchval"):  # fetch* do not call execute
        counting(name)
    return recorded


def _issuance(client: TestClient, api_key: str, sent: Sent | None = None) -> None:
    """An offer's whole flow; with ``sent``, the credential request's round trips recorded."""
    r = client.post("/api/issuer/offers", headers={"Authorization": f"Bearer {api_key}"},
                    json={"type": "SkillCertificate", "claims": SKILL_EXAMPLE})
    assert r.status_code == 201, r.text
    wallet = Wallet(client)
    link = wallet.offer(r.json()["link"])
    meta = wallet.metadata(link["credential_issuer"])
    token = wallet.token(meta, link["grants"][PRE_AUTHORIZED_GRANT]["pre-authorized_code"], r.json()["pin"]).json()
    proof = wallet.proof(keys.generate(), meta["credential_issuer"], wallet.nonce(meta))
    if sent is not None:
        sent.on = True
    try:
        answer = wallet.credential(meta, token["access_token"], {"credential_configuration_id": "SkillCertificate",
                                                                 "proofs": {"jwt": [proof]}})
    finally:
        if sent is not None:
            sent.on = False
    assert answer.status_code == 200, answer.text


def test_a_credential_request_is_six_round_trips(client: TestClient, sent: Sent) -> None:
    api_key = _create_org(client, "round-trips", ["urn:amana:credential:SkillCertificate:1"])
    _issuance(client, api_key)  # the reserve filled, the organisation's id known, the statements prepared
    _issuance(client, api_key, sent)
    request = sent.of_task_sending("WITH used AS (UPDATE issuer_access_tokens")
    heads = [sql.split(" (")[0].split(" AS ")[0] for sql in request]
    assert len(request) == 6, "\n".join(request)
    assert heads[0].startswith("BEGIN") and heads[-1].startswith("COMMIT"), heads
    grant = request[1]
    assert grant.startswith("WITH used AS (UPDATE issuer_access_tokens SET used=")  # spent in the same statement
    assert "FROM used JOIN issuer_offers" in grant and "FOR NO KEY UPDATE OF issuer_offers" in grant  # the offer locked
    assert "issuer_signing_keys" in grant and "keep_claims_days" in grant  # and what issuing under it needs
    assert request[2].startswith("INSERT INTO issuer_nonces")
    assert request[3].startswith("SELECT issuer_credentials.status") and request[3].endswith("FOR UPDATE")
    assert request[4].startswith("WITH w0 AS (INSERT INTO issuer_credentials")  # every write at once


def test_a_staff_offer_is_two_round_trips(client: TestClient, sent: Sent) -> None:
    """The staff key and its organisation in one read outside any transaction; the offer's row its
    unit's one statement, sent without BEGIN and COMMIT (core.prepared.AsyncpgDb.flush). A session
    made it six: BEGIN, the staff, the organisation, COMMIT, then BEGIN, the offer and COMMIT."""
    api_key = _create_org(client, "staff-trips", ["urn:amana:credential:SkillCertificate:1"])
    for counted in (False, True):  # the first sight of a statement is SQLAlchemy's (core.prepared)
        sent.on = counted
        r = client.post("/api/issuer/offers", headers={"Authorization": f"Bearer {api_key}"},
                        json={"type": "SkillCertificate", "claims": SKILL_EXAMPLE})
        sent.on = False
        assert r.status_code == 201, r.text
    request = sent.of_task_sending("INSERT INTO issuer_offers")
    assert [sql.split(" ")[0] for sql in request] == ["SELECT", "INSERT"], "\n".join(request)
    assert "JOIN issuer_organisations" in request[0] and request[1].startswith("INSERT INTO issuer_offers")
    refused = client.post("/api/issuer/offers", headers={"Authorization": "Bearer amk_not-a-key"},
                          json={"type": "SkillCertificate", "claims": SKILL_EXAMPLE})
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_token"
