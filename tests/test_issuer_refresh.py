"""The refresh token grant (issue 12 item 7; OpenID4VCI 1.0 "Refreshing Issued Credentials", RFC 6749
section 6, RFC 9700 section 4.14.2): fresh copies of the same credential with new status indexes
that share the originals' fate; rotation, reuse revoking the family, revocation, suspension, expiry
and client binding; nothing in the clear in the database. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from core import _jose, keys
from core.credtypes import TypeRegistry
from core.oid4vc import PRE_AUTHORIZED_GRANT
from core.settings import Settings
from core.statuslist import INVALID, SUSPENDED, VALID, verify_token
from issuer import metadata, refresh, store
from issuer.app import build_app
from tests.issuer_orgs import org_on
from tests.oid4vci_wallet import BASE, Wallet, path_of
from tests.server_process import POSTGRES_URL, empty_postgres

SKILL = json.loads(Path("specs/credentials/SkillCertificate/example.json").read_text())
ISSUER = f"{BASE}/issuers/open-doors"
DAY = 86400


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def client(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    if request.param == "postgresql":
        if not POSTGRES_URL:
            pytest.skip("no PostgreSQL (.ci/run starts one)")
        empty_postgres(POSTGRES_URL)
    data_dir = tmp_path_factory.mktemp("refresh") / request.param
    app = build_app(Settings(data_dir=data_dir, public_base_url=BASE,
                             database_url=POSTGRES_URL if request.param == "postgresql" else None))
    with TestClient(app, base_url=BASE) as c:
        yield c


def _org(client: TestClient, slug: str) -> str:
    return org_on(client, slug)


@pytest.fixture(scope="module")
def ngo(client: TestClient) -> str:
    return _org(client, "open-doors")


@pytest.fixture()
def clock(client: TestClient) -> Iterator[Any]:
    ctx = client.app.state.issuer  # type: ignore[attr-defined]
    yield ctx.clock
    ctx.clock.offset = 0


class Holder:
    """A wallet that received a batch: its metadata, credentials and its latest refresh token."""

    def __init__(self, client: TestClient, api_key: str, batch: int = 2, **token_extra: str) -> None:
        self.client, self.wallet = client, Wallet(client)
        r = client.post("/api/issuer/offers", headers={"Authorization": f"Bearer {api_key}"},
                        json={"type": "SkillCertificate", "claims": SKILL, "batch_size": batch})
        offer = r.json()
        o = self.wallet.offer(offer["link"])
        self.meta = self.wallet.metadata(o["credential_issuer"])
        self.config = o["credential_configuration_ids"][0]
        answer = self.wallet.token(self.meta, o["grants"][PRE_AUTHORIZED_GRANT]["pre-authorized_code"], offer["pin"],
                                   **token_extra)
        assert answer.status_code == 200, answer.text
        self.refresh_token: str = answer.json()["refresh_token"]
        self.credentials = self.batch(answer.json()["access_token"], batch)

    def batch(self, access_token: str, n: int) -> list[str]:
        r = self.credential(access_token, n)
        assert r.status_code == 200, r.text
        return [c["credential"] for c in r.json()["credentials"]]

    def credential(self, access_token: str, n: int) -> Any:
        nonce = self.wallet.nonce(self.meta)
        proofs = [self.wallet.proof(keys.generate(), self.meta["credential_issuer"], nonce) for _ in range(n)]
        return self.wallet.credential(self.meta, access_token,
                                      {"credential_configuration_id": self.config, "proofs": {"jwt": proofs}})

    def refresh(self, token: str | None = None, **extra: str) -> Any:
        form = {"grant_type": "refresh_token", "refresh_token": token or self.refresh_token, **extra}
        return self.client.post(path_of(self.meta["token_endpoint"]), data=form)

    def refreshed(self, **extra: str) -> str:
        """Refresh with the latest token (kept), returning the new access token."""
        r = self.refresh(**extra)
        assert r.status_code == 200 and r.headers["cache-control"] == "no-store", r.text
        body = r.json()
        assert body["token_type"] == "Bearer" and body["refresh_token"] != self.refresh_token
        self.refresh_token = body["refresh_token"]
        return str(body["access_token"])


def _error(r: Any) -> str:
    assert r.status_code == 400, r.text
    return str(r.json()["error"])


def _payload(credential: str) -> dict[str, Any]:
    return _jose.parse_compact(credential.split("~")[0]).unverified_payload()


def _act(client: TestClient, api_key: str, credential: str, action: str) -> None:
    staff = {"Authorization": f"Bearer {api_key}"}
    thumbprint = keys.PublicKey.from_jwk(_payload(credential)["cnf"]["jwk"]).thumbprint()
    listed = client.get("/api/issuer/credentials?limit=500", headers=staff).json()
    cred_id = next(c["id"] for c in listed if c["holder_key_thumbprint"] == thumbprint)
    assert client.post(f"/api/issuer/credentials/{cred_id}/{action}", headers=staff).status_code == 200


def _served_status(client: TestClient, credential: str) -> int:
    ref = _payload(credential)["status"]["status_list"]
    jwks = client.get("/.well-known/jwt-vc-issuer/issuers/open-doors").json()["jwks"]["keys"]
    token = verify_token(client.get(path_of(ref["uri"])).text, keys=[keys.PublicKey.from_jwk(k) for k in jwks],
                         uri=ref["uri"], now=int(time.time()))
    return token.status_list.get(ref["idx"])


def test_a_refresh_gives_fresh_copies_of_the_same_credential_sharing_its_fate(
        client: TestClient, ngo: str, types: TypeRegistry) -> None:
    holder = Holder(client, ngo)
    fresh = holder.batch(holder.refreshed(), 2)
    assert len(fresh) == 2
    olds, news = [_payload(c) for c in holder.credentials], [_payload(c) for c in fresh]
    for new in news:
        checked = holder.wallet.check(fresh[0], ISSUER, types)
        assert checked.claims["skill"] == SKILL["skill"]
        assert new["exp"] == olds[0]["exp"] and new["vct"] == olds[0]["vct"]  # the same credential, not a longer one
    refs = {json.dumps(p["status"]["status_list"], sort_keys=True) for p in olds + news}
    holder_keys = {json.dumps(p["cnf"]["jwk"], sort_keys=True) for p in olds + news}
    assert len(refs) == 4 and len(holder_keys) == 4  # no index or key shared: copies stay unlinkable
    assert all(_served_status(client, c) == VALID for c in fresh)
    _act(client, ngo, holder.credentials[0], "suspend")  # one original suspended: every copy, the fresh ones too
    assert {_served_status(client, c) for c in holder.credentials + fresh} == {SUSPENDED}
    assert _error(holder.refresh()) == "invalid_grant"  # not while suspended...
    _act(client, ngo, holder.credentials[0], "reinstate")
    third = holder.batch(holder.refreshed(), 1)  # ...and again once reinstated: the family lived on
    _act(client, ngo, fresh[1], "revoke")  # a fresh copy revoked: the originals go with it
    assert {_served_status(client, c) for c in holder.credentials + fresh + third} == {INVALID}
    r = holder.refresh()
    assert _error(r) == "invalid_grant" and holder.refresh_token not in r.text


def test_a_rotated_token_used_again_revokes_the_whole_family(client: TestClient, ngo: str) -> None:
    holder = Holder(client, ngo)
    first = holder.refresh_token
    access = holder.refreshed()
    assert _error(holder.refresh(first)) == "invalid_grant"  # the old one is dead...
    assert _error(holder.refresh()) == "invalid_grant"  # ...and its reuse killed the live one too
    r = holder.credential(access, 1)  # an access token it already gave still works: it was the holder's
    assert r.status_code == 200, r.text


def test_a_revoked_credential_cannot_be_refreshed_even_with_an_access_token_in_hand(
        client: TestClient, ngo: str) -> None:
    holder = Holder(client, ngo)
    access = holder.refreshed()
    _act(client, ngo, holder.credentials[1], "revoke")
    r = holder.credential(access, 1)
    assert r.status_code == 400 and r.json()["error"] == "credential_request_denied"
    assert _error(holder.refresh()) == "invalid_grant"


def test_an_expired_refresh_token_is_refused(client: TestClient, ngo: str, clock: Any) -> None:
    holder = Holder(client, ngo)
    clock.offset = 179 * DAY
    holder.refreshed()  # the lifetime counts from the first token, not the last refresh
    clock.offset = 180 * DAY
    assert _error(holder.refresh()) == "invalid_grant"


def test_wrong_client_unknown_token_and_another_issuer_are_invalid_grant(client: TestClient, ngo: str) -> None:
    other = _org(client, "elsewhere")
    holder = Holder(client, ngo, client_id="wallet-a")
    assert _error(holder.refresh(client_id="wallet-b")) == "invalid_grant"
    assert _error(holder.refresh()) == "invalid_grant"  # bound to a client: it must say which
    assert _error(holder.refresh("x" * 43)) == "invalid_grant"
    theirs = Holder(client, other)
    assert _error(holder.refresh(theirs.refresh_token)) == "invalid_grant"  # not at this issuer's endpoint
    theirs.refreshed()  # and refused there without harm to its family
    holder.refreshed(client_id="wallet-a")  # no wrong attempt hurt the right client's family
    r = holder.client.post(path_of(holder.meta["token_endpoint"]), data={"grant_type": "refresh_token"})
    assert _error(r) == "invalid_request"


def test_a_refresh_access_token_buys_one_batch_within_the_offers_size(client: TestClient, ngo: str) -> None:
    holder = Holder(client, ngo, batch=2)
    access = holder.refreshed()
    assert len(holder.batch(access, 3)) == 2  # three keys, an offer of two: two credentials
    r = holder.credential(access, 1)
    assert r.status_code == 401 and r.json()["error"] == "invalid_token"


def test_a_refresh_access_token_keeps_its_claims_only_until_used(client: TestClient, ngo: str) -> None:
    """The claims a refreshed access token carries (sealed under it) go when it buys its batch,
    in the same unit (store.keep_response): the grant of the compact copy, a row of its own under
    the same token, keeps its copy until it is used in turn."""
    ctx = client.app.state.issuer  # type: ignore[attr-defined]
    holder = Holder(client, ngo, batch=1)
    access = holder.refreshed()

    async def sealed() -> dict[str, bool]:
        from sqlalchemy import select

        from issuer.tables import AccessToken

        async with ctx.transaction() as session:
            rows = (await session.execute(select(AccessToken.digest, AccessToken.sealed_claims))).all()
        purposes = {ctx.node.digest(store.SD_JWT_GRANT, access): "sd-jwt",
                    ctx.node.digest(store.OFFLINE_GRANT, access): "compact"}
        return {purposes[r.digest]: r.sealed_claims is not None for r in rows if r.digest in purposes}

    assert client.portal.call(sealed) == {"sd-jwt": True, "compact": True}  # type: ignore[union-attr]
    assert len(holder.batch(access, 1)) == 1
    assert client.portal.call(sealed) == {"sd-jwt": False, "compact": True}  # type: ignore[union-attr]


def test_the_database_holds_no_refresh_token_and_no_claim(client: TestClient, ngo: str) -> None:
    ctx = client.app.state.issuer  # type: ignore[attr-defined]
    holder = Holder(client, ngo)
    holder.refreshed()
    values = [SKILL["skill"]["label"], holder.refresh_token]

    async def dump() -> bytes:
        from sqlalchemy import select

        from core import db

        out = []
        async with ctx.transaction() as session:
            for table in db.Base.metadata.sorted_tables:
                out += [repr(tuple(row)).encode() for row in (await session.execute(select(table))).all()]
        return b"\n".join(out)

    stored = client.portal.call(dump)  # type: ignore[union-attr]
    for value in values:
        assert value.encode() not in stored, value


def test_the_token_endpoint_announces_the_grant_it_takes() -> None:
    assert metadata.authorization_server("https://i.example")["grant_types_supported"] == [PRE_AUTHORIZED_GRANT]
    assert "refresh_token" in metadata.authorization_server("https://i.example", refresh=True)[
        "grant_types_supported"]


def test_the_decision_table() -> None:
    base = refresh.FamilyState(rotated=False, revoked=False, expires_at=100, client_digest=None, dpop_jkt=None,
                               offer_issued=True, statuses=(VALID, VALID), credentials_expire_at=200)
    assert refresh.judge(base, None, 50).verdict is refresh.Verdict.GRANT
    assert refresh.judge(base, "any-client", 50).verdict is refresh.Verdict.GRANT  # unbound: a name changes nothing
    refuse, revoke = refresh.Verdict.REFUSE, refresh.Verdict.REVOKE
    cases = [(None, refuse), (dict(rotated=True), revoke), (dict(rotated=True, revoked=True), refuse),
             (dict(revoked=True), refuse), (dict(expires_at=50), refuse), (dict(client_digest="a"), refuse),
             (dict(offer_issued=False), refuse), (dict(statuses=(VALID, INVALID)), revoke),
             (dict(statuses=(SUSPENDED, VALID)), refuse), (dict(credentials_expire_at=50), refuse)]
    from dataclasses import replace

    for change, verdict in cases:
        state = None if change is None else replace(base, **change)  # type: ignore[arg-type]
        decision = refresh.judge(state, None, 50)
        assert decision.verdict is verdict and decision.error is not None, change
        assert decision.error.error == "invalid_grant"
    # RFC 9449 section 5: a family bound to a DPoP key is refreshed only with a proof by that key; a
    # refusal, not a revocation (the holder still has the key).
    bound = replace(base, dpop_jkt="key-a")
    assert refresh.judge(bound, None, 50, "key-a").verdict is refresh.Verdict.GRANT
    for proof_jkt in (None, "key-b"):
        decision = refresh.judge(bound, None, 50, proof_jkt)
        assert decision.verdict is refuse and decision.error is not None and decision.error.error == "invalid_grant"
    assert refresh.judge(base, None, 50, "any-key").verdict is refresh.Verdict.GRANT  # a bearer family: any proof
    # A rotated token leaked without its key cannot end the holder's family: refused, not revoked.
    assert refresh.judge(replace(bound, rotated=True), None, 50, None).verdict is refuse
    assert refresh.judge(replace(bound, rotated=True), None, 50, "key-a").verdict is revoke  # with it: reuse


def test_a_cancelled_offer_takes_its_refresh_family_with_it(client: TestClient, ngo: str) -> None:
    """Staff cancel an offer redeemed but never collected: the claims a refresh family kept go at
    once, as the offer's own do, not 180 days later."""
    ctx = client.app.state.issuer  # type: ignore[attr-defined]
    r = client.post("/api/issuer/offers", headers={"Authorization": f"Bearer {ngo}"},
                    json={"type": "SkillCertificate", "claims": SKILL, "batch_size": 1})
    offer_id = r.json()["offer_id"]
    wallet = Wallet(client)
    o = wallet.offer(r.json()["link"])
    answer = wallet.token(wallet.metadata(o["credential_issuer"]),
                          o["grants"][PRE_AUTHORIZED_GRANT]["pre-authorized_code"], r.json()["pin"])
    assert "refresh_token" in answer.json()

    async def family() -> tuple[Any, ...]:
        from sqlalchemy import select

        from issuer.tables import RefreshFamily

        async with ctx.transaction() as session:
            row = (await session.execute(select(RefreshFamily.sealed_claims, RefreshFamily.revoked_at)
                                         .where(RefreshFamily.offer_id == offer_id))).one()
        return tuple(row)

    assert client.portal.call(family)[0] is not None  # type: ignore[union-attr]
    staff = {"Authorization": f"Bearer {ngo}"}
    assert client.post(f"/api/issuer/offers/{offer_id}/cancel", headers=staff).status_code == 204
    sealed, revoked_at = client.portal.call(family)  # type: ignore[union-attr]
    assert sealed is None and revoked_at is not None
