"""What staff need to act on the right credential (issues 10 and 11): a reference per offer,
every credential reachable page by page and by reference, open offers listed, cancelled and
replaced. Over HTTP, on SQLite and PostgreSQL (the fixtures of test_issuer_flow)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from core import keys
from core.oid4vc import PRE_AUTHORIZED_GRANT
from issuer.tables import AccessToken
from tests.oid4vci_wallet import Wallet
from tests.test_issuer_flow import SKILL_EXAMPLE, client, data_dir, ngo  # noqa: F401  (fixtures)


def _offer(http: TestClient, api_key: str, reference: str | None = None, batch: int = 1) -> dict[str, Any]:
    body: dict[str, Any] = {"type": "SkillCertificate", "claims": SKILL_EXAMPLE, "batch_size": batch}
    if reference is not None:
        body["reference"] = reference
    r = http.post("/api/issuer/offers", headers={"Authorization": f"Bearer {api_key}"}, json=body)
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()
    return created


def _staff(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"}


def _all_pages(http: TestClient, api_key: str, first: str) -> list[dict[str, Any]]:
    rows, url = [], first
    while url:
        r = http.get(url, headers=_staff(api_key))
        assert r.status_code == 200, r.text
        rows += r.json()
        url = r.links.get("next", {}).get("url", "")
    return rows


def test_every_credential_is_reachable_page_by_page(client: TestClient, ngo: str) -> None:  # noqa: F811
    """More than the old fixed 200, all issued on one day (issued_at is rounded to the day)."""
    for _ in range(21):
        offer = _offer(client, ngo, batch=10)
        Wallet(client).receive(offer["link"], offer["pin"], [keys.generate() for _ in range(10)])
    every = _all_pages(client, ngo, "/api/issuer/credentials?limit=37")
    assert len(every) >= 210 and len({c["id"] for c in every}) == len(every)  # each exactly once
    order = [(-c["issued_at"], c["id"]) for c in every]
    assert order == sorted(order)
    oldest = every[-1]["id"]  # the one a fixed newest-200 list never showed
    r = client.post(f"/api/issuer/credentials/{oldest}/suspend", headers=_staff(ngo))
    assert r.status_code == 200 and r.json() == {"id": oldest, "status": "suspended", "copies": 10}  # its batch of 10
    bad = client.get("/api/issuer/credentials?after=nonsense", headers=_staff(ngo))
    assert bad.status_code == 400


def test_a_reference_finds_the_persons_credentials_in_any_spelling(client: TestClient, ngo: str) -> None:  # noqa: F811
    offer = _offer(client, ngo, reference="Case 4711 Rahimi", batch=2)
    Wallet(client).receive(offer["link"], offer["pin"], [keys.generate(), keys.generate()])
    _offer(client, ngo, reference="Case 4712 Haddad")
    found = client.get("/api/issuer/credentials", params={"reference": "  case ٤٧١١   RAHIMI "}, headers=_staff(ngo))
    assert found.status_code == 200
    rows = found.json()
    assert len(rows) == 2 and {r["reference"] for r in rows} == {"Case 4711 Rahimi"}
    assert len({r["offer_id"] for r in rows}) == 1  # the two copies of one batch
    assert client.get("/api/issuer/credentials", params={"reference": "Case 47"}, headers=_staff(ngo)).json() == []


def test_open_offers_can_be_listed_cancelled_and_replaced(client: TestClient, ngo: str) -> None:  # noqa: F811
    lost = _offer(client, ngo, reference="lost sheet")
    listed = client.get("/api/issuer/offers", headers=_staff(ngo)).json()
    assert {"offer_id": lost["offer_id"], "reference": "lost sheet", "state": "offered"}.items() <= next(
        o for o in listed if o["offer_id"] == lost["offer_id"]).items()
    wallet = Wallet(client)
    code = wallet.offer(lost["link"])["grants"][PRE_AUTHORIZED_GRANT]["pre-authorized_code"]
    assert client.post(f"/api/issuer/offers/{lost['offer_id']}/cancel", headers=_staff(ngo)).status_code == 204
    r = client.post("/issuers/open-doors/token",
                    data={"grant_type": PRE_AUTHORIZED_GRANT, "pre-authorized_code": code, "tx_code": lost["pin"]})
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"  # the found sheet opens nothing
    assert client.post(f"/api/issuer/offers/{lost['offer_id']}/cancel", headers=_staff(ngo)).status_code == 404
    assert lost["offer_id"] not in {o["offer_id"] for o in client.get("/api/issuer/offers", headers=_staff(ngo)).json()}

    # A holder who locked the offer with wrong PINs gets a new sheet, with the same reference.
    locked = _offer(client, ngo, reference="locked out")
    code = wallet.offer(locked["link"])["grants"][PRE_AUTHORIZED_GRANT]["pre-authorized_code"]
    for _ in range(5):
        client.post("/issuers/open-doors/token",
                    data={"grant_type": PRE_AUTHORIZED_GRANT, "pre-authorized_code": code, "tx_code": "x"})
    r = client.post(f"/api/issuer/offers/{locked['offer_id']}/reoffer", headers=_staff(ngo))
    assert r.status_code == 201 and r.headers["cache-control"] == "no-store"
    fresh = r.json()
    assert fresh["offer_id"] != locked["offer_id"] and fresh["pin"]
    [credential] = wallet.receive(fresh["link"], fresh["pin"], [keys.generate()])
    assert credential.count("~") >= 2
    assert client.get("/api/issuer/credentials", params={"reference": "LOCKED OUT"},
                      headers=_staff(ngo)).json()[0]["offer_id"] == fresh["offer_id"]
    assert client.post(f"/api/issuer/offers/{fresh['offer_id']}/reoffer", headers=_staff(ngo)).status_code == 404


def test_a_wallet_that_lost_its_answers_asks_again_within_the_window(client: TestClient, ngo: str) -> None:  # noqa: F811
    """A crash between commit and response stranded 1 offer in 300: the used token could not be
    tried again. The very same credential request, repeated, now gets the very same answer."""
    ctx = client.app.state.issuer  # type: ignore[attr-defined]
    offer = _offer(client, ngo)
    wallet = Wallet(client)
    grant = wallet.offer(offer["link"])["grants"][PRE_AUTHORIZED_GRANT]
    meta = wallet.metadata(f"{wallet.offer(offer['link'])['credential_issuer']}")
    code = grant["pre-authorized_code"]
    token = wallet.token(meta, code, offer["pin"]).json()["access_token"]
    assert wallet.token(meta, code, offer["pin"]).status_code == 400  # the code stays single use (OID4VCI 4.1.1)
    body = {"credential_configuration_id": "SkillCertificate",
            "proofs": {"jwt": [Wallet.proof(keys.generate(), meta["credential_issuer"], wallet.nonce(meta))]}}
    first = wallet.credential(meta, token, body)
    assert first.status_code == 200
    repeat = wallet.credential(meta, token, body)  # the very same request: the very same credential
    assert repeat.status_code == 200 and repeat.json() == first.json()
    other = dict(body, proofs={"jwt": [Wallet.proof(keys.generate(), meta["credential_issuer"], wallet.nonce(meta))]})
    assert wallet.credential(meta, token, other).status_code == 401  # not a retry: a used token
    ctx.clock.offset = 61  # past the window: nothing is kept any more
    try:
        late = wallet.credential(meta, token, body)
        assert late.status_code == 401 and late.json()["error"] == "invalid_token"
        # and gone from the database, though this request was refused (its own transaction)
        assert client.portal.call(_kept_responses, ctx) == 0  # type: ignore[union-attr]
    finally:
        ctx.clock.offset = 0


async def _kept_responses(ctx: Any) -> int:
    """How many sealed credential responses the issuer's database still holds."""
    async with ctx.transaction() as session:
        found = await session.execute(select(func.count()).select_from(AccessToken)
                                      .where(AccessToken.sealed_response.is_not(None)))
    return int(found.scalar_one())
