"""Spare status indices (issuer.status_reserve): taken with a credential's own, kept only once
that transaction has committed, never handed out twice; on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from core import keys
from core.oid4vc import PRE_AUTHORIZED_GRANT
from core.settings import Settings
from issuer import store
from issuer.status_reserve import SPARE, Allocated, StatusReserve
from issuer.tables import Credential, StatusListRow
from server.app import build_app
from tests.oid4vci_wallet import BASE, Wallet
from tests.server_process import POSTGRES_URL, empty_postgres
from tests.test_issuer_flow import SKILL_EXAMPLE, _create_org

# --- the reserve itself ----------------------------------------------------------------------

_steps = st.lists(st.one_of(st.tuples(st.just("keep"), st.sampled_from("ab"), st.integers(0, 12)),
                            st.tuples(st.just("take"), st.sampled_from("ab"), st.integers(1, 10))), max_size=40)


@given(_steps)
def test_an_index_kept_is_handed_out_once_from_one_list(steps: list[tuple[str, str, int]]) -> None:
    reserve, fresh, kept, given_out = StatusReserve(), iter(range(10**6)), set[tuple[str, int]](), []
    for kind, list_id, n in steps:
        if kind == "keep":
            batch = Allocated(list_id, ord(list_id), [next(fresh) for _ in range(n)])
            reserve.keep("org", batch)
            kept |= {(list_id, i) for i in batch.indices}
            continue
        before = reserve.count("org")
        taken = reserve.take("org", n)
        if taken is None:  # only when no one list holds n
            assert all(len(b.indices) < n for b in reserve.kept.get("org", [])) and reserve.count("org") == before
            continue
        assert len(taken.indices) == n and reserve.count("org") == before - n
        assert taken.number == ord(taken.list_id)
        given_out += [(taken.list_id, i) for i in taken.indices]
    assert len(given_out) == len(set(given_out)) and set(given_out) <= kept
    left = {(b.list_id, i) for b in reserve.kept.get("org", []) for i in b.indices}
    assert left == kept - set(given_out) and reserve.take("other", 1) is None
    assert len({b.list_id for b in reserve.kept.get("org", [])}) == len(reserve.kept.get("org", []))  # one per list


def test_one_request_at_a_time_takes_a_spare_and_only_a_committed_one_is_kept() -> None:
    reserve = StatusReserve()
    spare = Allocated("list", 1, [5, 6, 7])
    with reserve.refill() as first, reserve.refill() as second:
        assert first.spare_wanted("org") == SPARE
        assert second.spare_wanted("org") == 0  # a burst leaves one spare, not one per request
        assert second.spare_wanted("other") == SPARE  # per organisation
        first.taken(spare)
    assert reserve.count("org") == 0 and not reserve.refilling  # left without committing: nothing kept
    with reserve.refill() as again:
        assert again.spare_wanted("org") == SPARE  # the claim went with the block
        again.taken(spare)
        again.committed()
    assert reserve.count("org") == 3 and not reserve.refilling
    with pytest.raises(RuntimeError), reserve.refill() as failing:
        assert failing.spare_wanted("org") == SPARE
        failing.taken(Allocated("list", 1, [8]))
        raise RuntimeError("the transaction rolled back")
    assert not reserve.refilling and reserve.count("org") == 3


# --- in a node ------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def client(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    if request.param == "postgresql":
        if not POSTGRES_URL:
            pytest.skip("no PostgreSQL (.ci/run starts one: eval \"$(.ci/postgres)\")")
        empty_postgres(POSTGRES_URL)
    data_dir: Path = tmp_path_factory.mktemp(request.param)
    app = build_app(Settings(data_dir=data_dir, public_base_url=BASE,
                             database_url=POSTGRES_URL if request.param == "postgresql" else None))
    with TestClient(app, base_url=BASE) as c:
        yield c


def _issue_one(client: TestClient, api_key: str) -> Any:
    r = client.post("/api/issuer/offers", headers={"Authorization": f"Bearer {api_key}"},
                    json={"type": "SkillCertificate", "claims": SKILL_EXAMPLE})
    assert r.status_code == 201, r.text
    wallet = Wallet(client)
    return wallet, r.json()


def _credential_request(client: TestClient, api_key: str) -> Any:
    """A new offer's whole flow, its credential request's answer as it came."""
    wallet, offer = _issue_one(client, api_key)
    link = wallet.offer(offer["link"])
    meta = wallet.metadata(link["credential_issuer"])
    token = wallet.token(meta, link["grants"][PRE_AUTHORIZED_GRANT]["pre-authorized_code"], offer["pin"]).json()
    proof = wallet.proof(keys.generate(), meta["credential_issuer"], wallet.nonce(meta))
    return wallet.credential(meta, token["access_token"], {"credential_configuration_id": "SkillCertificate",
                                                           "proofs": {"jwt": [proof]}})


def _lists_and_credentials(client: TestClient) -> tuple[list[Any], list[Any]]:
    ctx = client.app.state.issuer  # type: ignore[attr-defined]

    async def read() -> tuple[list[Any], list[Any]]:
        async with ctx.transaction() as session:
            return (list((await session.execute(select(StatusListRow))).scalars()),
                    list((await session.execute(select(Credential))).scalars()))

    return client.portal.call(read)  # type: ignore[no-any-return, union-attr]


def _org_id(client: TestClient, slug: str) -> str:
    ctx = client.app.state.issuer  # type: ignore[attr-defined]

    async def read() -> str:
        async with ctx.transaction() as session:
            return str((await store.org_by_slug(session, slug)).id)

    return client.portal.call(read)  # type: ignore[no-any-return, union-attr]


def test_a_list_is_read_and_written_once_per_spare_and_the_bitmap_covers_every_credential(
        client: TestClient) -> None:
    api_key = _create_org(client, "reserve", ["urn:amana:credential:SkillCertificate:1"])
    ctx = client.app.state.issuer  # type: ignore[attr-defined]
    for i in range(3):
        wallet, offer = _issue_one(client, api_key)
        assert len(wallet.receive(offer["link"], offer["pin"], [keys.generate()])) == 1
        lists, credentials = _lists_and_credentials(client)
        (row,) = [r for r in lists if r.org_id in {c.org_id for c in credentials}]
        assert row.allocated_count == 1 + SPARE  # the first request took the spare; the next two, none
        assert ctx.statuses.count(credentials[0].org_id) == SPARE - i
    bitmap = int.from_bytes(row.allocated, "little")
    assert bitmap.bit_count() == row.allocated_count
    indices = [c.status_idx for c in credentials]
    assert len(set(indices)) == 3 and all(bitmap >> i & 1 for i in indices)


def test_a_credential_request_that_rolls_back_keeps_no_spare(
        client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """Spare indices kept before the commit would be handed out again after a rollback freed them."""
    api_key = _create_org(client, "rolled-back", ["urn:amana:credential:SkillCertificate:1"])
    ctx = client.app.state.issuer  # type: ignore[attr-defined]
    before_lists, before_credentials = _lists_and_credentials(client)
    kept_before = {org: ctx.statuses.count(org) for org in ctx.statuses.kept}

    async def fails(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(store, "keep_response", fails)  # the transaction's last statement
    r = _credential_request(client, api_key)
    assert r.status_code == 500 and r.json()["code"] == "internal_error"
    lists, credentials = _lists_and_credentials(client)
    assert len(credentials) == len(before_credentials)
    assert sorted((r.id, r.allocated_count) for r in lists) == sorted((r.id, r.allocated_count) for r in before_lists)
    assert {org: ctx.statuses.count(org) for org in ctx.statuses.kept} == kept_before  # nothing kept


def test_indices_taken_from_the_reserve_go_back_when_the_request_fails_before_its_commit(
        client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """They are allocated in the list already: a refused request a client can repeat would
    otherwise leave them allocated to no credential, each time."""
    from issuer import minting

    api_key = _create_org(client, "given-back", ["urn:amana:credential:SkillCertificate:1"])
    ctx = client.app.state.issuer  # type: ignore[attr-defined]
    wallet, offer = _issue_one(client, api_key)
    assert len(wallet.receive(offer["link"], offer["pin"], [keys.generate()])) == 1  # the reserve filled
    org_id = _org_id(client, "given-back")
    assert ctx.statuses.count(org_id) == SPARE
    allocated = sorted((r.id, r.allocated_count) for r in _lists_and_credentials(client)[0])

    def refused(*_args: Any, **_kwargs: Any) -> str:
        raise minting.OAuthError("credential_request_denied", "refused as it is signed")

    monkeypatch.setattr(minting, "issue_vc", refused)
    r = _credential_request(client, api_key)
    assert r.status_code == 400 and r.json()["error"] == "credential_request_denied"
    assert ctx.statuses.count(org_id) == SPARE  # given back, not lost
    assert sorted((r.id, r.allocated_count) for r in _lists_and_credentials(client)[0]) == allocated


def test_a_reserve_running_low_is_refilled_by_a_request_it_still_serves(client: TestClient) -> None:
    """Fewer than LOW_WATER kept: the next request takes its index from the reserve and, once it
    has committed, a spare from the list, so requests arriving during the refill still find
    indices kept and do not queue on the organisation's lock (refilled only when empty, each of
    them did)."""
    from issuer.status_reserve import LOW_WATER

    api_key = _create_org(client, "low-water", ["urn:amana:credential:SkillCertificate:1"])
    ctx = client.app.state.issuer  # type: ignore[attr-defined]
    wallet, offer = _issue_one(client, api_key)
    assert len(wallet.receive(offer["link"], offer["pin"], [keys.generate()])) == 1
    org_id = _org_id(client, "low-water")
    assert ctx.statuses.count(org_id) == SPARE and not ctx.statuses.running_low(org_id)
    taken = ctx.statuses.take(org_id, SPARE - LOW_WATER)  # as if that many requests had come since
    assert taken is not None
    left = {i for batch in ctx.statuses.kept[org_id] for i in batch.indices}
    assert len(left) == LOW_WATER and not ctx.statuses.running_low(org_id)
    ctx.statuses.take(org_id, 1)
    assert ctx.statuses.running_low(org_id)
    left = {i for batch in ctx.statuses.kept[org_id] for i in batch.indices}
    before = {c.id for c in _lists_and_credentials(client)[1]}

    wallet, offer = _issue_one(client, api_key)
    assert len(wallet.receive(offer["link"], offer["pin"], [keys.generate()])) == 1
    lists, credentials = _lists_and_credentials(client)
    (row,) = [r for r in lists if r.org_id == org_id]
    (newest,) = [c for c in credentials if c.id not in before]
    assert newest.status_idx in left  # served from the reserve ...
    assert row.allocated_count == 1 + 2 * SPARE  # ... which got a spare beside it
    assert ctx.statuses.count(org_id) == LOW_WATER - 2 + SPARE
    bitmap = int.from_bytes(row.allocated, "little")
    assert bitmap.bit_count() == row.allocated_count


def test_a_refill_ahead_that_fails_fails_nothing_else(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """The refill runs after the request's commit, in its own transaction: its failure leaves the
    credential issued, the reserve as the request left it and the list as it was."""
    from issuer.status_reserve import LOW_WATER

    api_key = _create_org(client, "refill-fails", ["urn:amana:credential:SkillCertificate:1"])
    ctx = client.app.state.issuer  # type: ignore[attr-defined]
    wallet, offer = _issue_one(client, api_key)
    assert len(wallet.receive(offer["link"], offer["pin"], [keys.generate()])) == 1
    org_id = _org_id(client, "refill-fails")
    ctx.statuses.take(org_id, SPARE - LOW_WATER + 1)
    assert ctx.statuses.running_low(org_id)
    (row,) = [r for r in _lists_and_credentials(client)[0] if r.org_id == org_id]

    async def fails(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(store, "allocate_status", fails)
    wallet, offer = _issue_one(client, api_key)
    assert len(wallet.receive(offer["link"], offer["pin"], [keys.generate()])) == 1
    assert ctx.statuses.count(org_id) == LOW_WATER - 2 and not ctx.statuses.refilling
    (after,) = [r for r in _lists_and_credentials(client)[0] if r.org_id == org_id]
    assert after.allocated_count == row.allocated_count
