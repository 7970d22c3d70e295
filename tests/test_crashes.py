"""Crash safety (issue 16, item 4): a real node process is killed with SIGKILL at seeded random
moments while wallets run whole OpenID4VCI flows (batch 1 and 3), a desk sends class batches
from CSV and two desks revoke, suspend and reinstate; it is restarted after each kill and the
clients carry on (tests/crash_clients.py: what each does with a lost answer). On SQLite and on
PostgreSQL, ``KILLS`` kills each.

After the last restart, from the database and over HTTP:
- nothing acknowledged is lost: every acknowledged offer is there; every credential a wallet
  was given is in ``issuer_credentials`` (its list, index, holder key, offer) with its index
  allocated, and the served status list gives it the status its last acknowledged change set;
- nothing is half-written: a class is all its rows or none; an offer's state matches its rows
  (issued ⇔ its whole batch of credentials and no claims left; redeemed ⇔ one unused access
  token; offered ⇔ none); a list's allocation count and bitmap agree and cover its credentials,
  with at most the spare indices each life of the node kept unused (issuer.status_reserve);
- nothing worked twice: at most one access token per offer (HTTP and database), one answer per
  access token (a repeat of the same request gets the same bytes), at most a batch of
  credentials per offer, no two credentials on one (status list, index);
- no 5xx ever, no transport error without a kill, no traceback in any life of the node.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from core import keys
from core.encoding import decode_b64url_json_object
from core.settings import Settings
from core.statuslist import StatusList, verify_token
from issuer import store
from issuer.context import IssuerContext
from issuer.issuance import BATCH_SIZE
from issuer.offers import OfferState
from issuer.status_reserve import LOW_WATER, SPARE
from issuer.tables import AccessToken, Credential, Offer, StatusListRow
from tests import crash_clients as clients
from tests.server_process import POSTGRES_URL, NodeProcess, empty_postgres

KILLS = 6
SEED = 16
WALLETS = 6
FAST = {"AMANA_RATE_LIMIT_PER_S": "1000000", "AMANA_RATE_LIMIT_BURST": "1000000"}  # one address sends it all


@pytest.fixture(params=["sqlite", "postgresql"])
def node(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[NodeProcess, str]]:
    database_url = None
    if request.param == "postgresql":
        if not POSTGRES_URL:
            pytest.skip("no PostgreSQL (.ci/run starts one: eval \"$(.ci/postgres)\")")
        empty_postgres(POSTGRES_URL)
        database_url = POSTGRES_URL
    running = NodeProcess(tmp_path / "node", database_url=database_url, **FAST)
    created = running.cli("issuer", "create-org", "--slug", "crash", "--name", "en=Crash", "--type",
                          "SkillCertificate")
    yield running, created["api_key"]


async def _load_with_kills(running: NodeProcess, api_key: str) -> tuple[clients.Ledger, list[Counter[str]]]:
    ledger, rng, lives = clients.Ledger(), random.Random(SEED), []
    node = clients.Node(running.base, api_key, ledger)
    await asyncio.to_thread(running.__enter__)
    node.up.set()
    tasks = [asyncio.create_task(clients.wallet(node, random.Random(f"{SEED} wallet {i}"), f"w{i}"))
             for i in range(WALLETS)]
    tasks += [asyncio.create_task(clients.class_desk(node, random.Random(f"{SEED} class"))),
              *(asyncio.create_task(clients.status_desk(node, random.Random(f"{SEED} status {i}"), i, 2))
                for i in range(2))]
    at_kill: list[Counter[str]] = []
    for _ in range(KILLS):
        await asyncio.sleep(rng.uniform(0.5, 4.0))  # when to kill, not a wait for anything
        node.up.clear()
        at_kill.append(+ledger.inflight)
        node.kills += 1
        assert running.process is not None
        running.process.kill()
        running.process.wait(timeout=30)
        lives.append(running.log_text())
        await asyncio.to_thread(running.__enter__)  # restart; returns once it answers
        async with node.restarted:
            node.up.set()
            node.restarted.notify_all()
    node.stop.set()  # every client finishes the flow it is in, repeats included
    try:
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=120)
    finally:
        await node.http.aclose()
    for life in lives:
        assert "Traceback" not in life, life
    return ledger, at_kill


def test_kill_9_during_issuance_classes_and_revocation_loses_and_doubles_nothing(
        node: tuple[NodeProcess, str]) -> None:
    running, api_key = node
    try:
        ledger, at_kill = asyncio.run(_load_with_kills(running, api_key))
        print(f"in flight at each kill: {[dict(k) for k in at_kill]}\noutcomes: {dict(ledger.outcomes)}")
        assert not ledger.errors, "\n".join(ledger.errors[:20])
        # The kills landed on the work this test is about (which kind was in flight at each).
        hit = Counter(kind for inflight in at_kill for kind in inflight)
        assert hit["credential"] + hit["token"] and hit["class"] and hit["status"], (at_kill, ledger.outcomes)
        assert ledger.outcomes["credential"] and ledger.outcomes["class"] and ledger.outcomes["status change"]
        _check_http(running, ledger)
        asyncio.run(_check_database(running, ledger))
    finally:
        running.__exit__(None, None, None)
    assert "Traceback" not in running.log_text()


def _check_http(running: NodeProcess, ledger: clients.Ledger) -> None:
    assert all(n == 1 for n in ledger.tokens.values()), ledger.tokens  # one access token per code
    assert all(len(bodies) == 1 for bodies in ledger.answers.values())  # a repeat got the same bytes
    jwks = httpx.get(f"{running.base}/.well-known/jwt-vc-issuer/issuers/crash", timeout=30).json()["jwks"]["keys"]
    issuer_keys = [keys.PublicKey.from_jwk(k) for k in jwks]
    served: dict[str, Any] = {}
    for issued in ledger.issued.values():
        assert len(issued.credentials) == ledger.offers[issued.offer_id]
        for credential in issued.credentials:
            payload = decode_b64url_json_object(credential.split("~", 1)[0].split(".")[1], "payload")
            ref = payload["status"]["status_list"]
            if ref["uri"] not in served:
                response = httpx.get(ref["uri"], timeout=30)
                assert response.status_code == 200, response.text
                served[ref["uri"]] = verify_token(response.text, keys=issuer_keys, uri=ref["uri"],
                                                  now=int(time.time())).status_list
            assert served[ref["uri"]].get(ref["idx"]) == ledger.status[issued.offer_id], issued.reference


async def _check_database(running: NodeProcess, ledger: clients.Ledger) -> None:
    settings = Settings(data_dir=running.data_dir, database_url=running.env.get("AMANA_DATABASE_URL"))
    ctx = IssuerContext.create(settings)
    try:
        async with ctx.transaction() as session:
            offers = {o.id: o for o in (await session.execute(select(Offer))).scalars()}
            credentials = list((await session.execute(select(Credential))).scalars())
            tokens = list((await session.execute(select(AccessToken))).scalars())
            lists = {r.id: r for r in (await session.execute(select(StatusListRow))).scalars()}
            doubled = (await session.execute(
                select(Credential.status_list_id, Credential.status_idx, func.count())
                .group_by(Credential.status_list_id, Credential.status_idx).having(func.count() > 1))).all()
    finally:
        await ctx.engine.dispose()
    assert not doubled, doubled
    by_place = {(c.status_list_id, c.status_idx): c for c in credentials}
    assert len(by_place) == len(credentials)
    per_offer = Counter(c.offer_id for c in credentials)
    # A pre-authorized grant is one token, stored as one row per configuration it grants: the
    # SD-JWT batch (no claims sealed in the row) and the compact offline copy (issuer.offline;
    # its claims sealed in its row). These wallets ask for the SD-JWT batch only.
    tokens = [t for t in tokens if t.family_id is None and t.sealed_claims is None]
    tokens_per_offer = Counter(t.offer_id for t in tokens)

    assert set(ledger.offers) <= set(offers)  # no acknowledged offer lost
    for offer in offers.values():
        issued, minted = per_offer[offer.id], tokens_per_offer[offer.id]
        if offer.state == OfferState.ISSUED:
            assert issued == offer.batch_size and offer.sealed_claims is None and minted == 1, offer.id
            assert all(t.used for t in tokens if t.offer_id == offer.id)
        elif offer.state == OfferState.REDEEMED:
            assert issued == 0 and minted == 1 and not any(t.used for t in tokens if t.offer_id == offer.id)
        else:
            assert offer.state == OfferState.OFFERED and issued == 0 and minted == 0, (offer.id, offer.state)

    for issued_offer in ledger.issued.values():
        assert offers[issued_offer.offer_id].state == OfferState.ISSUED
        for credential in issued_offer.credentials:
            payload = decode_b64url_json_object(credential.split("~", 1)[0].split(".")[1], "payload")
            ref = payload["status"]["status_list"]
            row = by_place.get((ref["uri"].rsplit("/", 1)[1], ref["idx"]))
            assert row is not None, "a credential the wallet was given is not in issuer_credentials"
            assert row.offer_id == issued_offer.offer_id and row.holder_thumbprint in issued_offer.thumbprints
            assert keys.PublicKey.from_jwk(payload["cnf"]["jwk"]).thumbprint() == row.holder_thumbprint
            assert row.status == ledger.status[issued_offer.offer_id]

    # What each life of the node may leave allocated to no credential (issuer.status_reserve): the
    # reserve it kept (one refill on top of fewer than LOW_WATER left, and one batch's leftover), and
    # what the requests in flight when it was killed had taken from it (a wallet's batch is at most 3).
    unused_most = KILLS * (LOW_WATER + SPARE + BATCH_SIZE + WALLETS * 3) + LOW_WATER + SPARE + BATCH_SIZE
    for list_id, status_row in lists.items():  # allocation, bitmap and credentials agree
        members = [c for c in credentials if c.status_list_id == list_id]
        bitmap = int.from_bytes(status_row.allocated, "little")
        assert status_row.allocated_count == bitmap.bit_count(), list_id
        assert len(members) <= status_row.allocated_count <= len(members) + unused_most, list_id
        for c in members:
            byte, bit = divmod(c.status_idx, 8)
            assert status_row.allocated[byte] >> bit & 1
            assert StatusList(status_row.bits, bytearray(status_row.statuses)).get(c.status_idx) == c.status

    references = Counter[str]()
    for offer in offers.values():
        reference = store.offer_reference(ctx.node, offer.id, offer.sealed_reference) or ""
        if reference.startswith("class "):
            references[reference.rsplit(" #", 1)[0]] += 1
    for reference, rows in ledger.classes.items():  # a class is all its rows or none
        assert references[reference] in (0, rows), (reference, references[reference], rows)
    for reference, acknowledged in ledger.classes_acknowledged.items():
        assert references[reference] == ledger.classes[reference] and set(acknowledged) <= set(offers)
