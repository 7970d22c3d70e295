"""Issue 18 item 1: the issuer's metadata by the appended well-known path, as the wallets in the field
fetch it, is byte for byte the document at the inserted path the specs require (issuer/discovery.py).

How the libraries form the address, as issue 18 reports it (their sources were not re-read here):
``@sphereon/oid4vci-client`` and ``@pagopa/io-wallet-oid4vci`` take the issuer identifier and append
``/.well-known/openid-credential-issuer``, then the same for the authorization server's
``oauth-authorization-server`` (or ``openid-configuration``). ``_appended`` does exactly that.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from tests.conftest import console_app

SUFFIXES = {"openid-credential-issuer": "openid-credential-issuer",
            "oauth-authorization-server": "oauth-authorization-server",
            "openid-configuration": "oauth-authorization-server",  # OIDC discovery: the AS metadata
            "jwt-vc-issuer": "jwt-vc-issuer"}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    for c, _key in console_app(tmp_path_factory.mktemp("discovery")):
        yield c


def _appended(issuer: str, suffix: str) -> str:
    """What the libraries do: the issuer identifier, one slash, the well-known suffix."""
    return urlsplit(issuer.rstrip("/") + "/.well-known/" + suffix).path


@pytest.mark.parametrize("suffix", sorted(SUFFIXES))
def test_the_appended_path_serves_the_inserted_document_byte_for_byte(client: TestClient, suffix: str) -> None:
    inserted = client.get(f"/.well-known/{SUFFIXES[suffix]}/issuers/open-doors")
    assert inserted.status_code == 200
    issuer = inserted.json().get("credential_issuer") or inserted.json()["issuer"]
    appended = client.get(_appended(issuer, suffix))
    assert appended.status_code == 200, appended.text
    assert appended.content == inserted.content
    assert appended.headers["content-type"] == inserted.headers["content-type"] == "application/json"


def test_a_wallet_following_the_appended_links_reaches_every_endpoint(client: TestClient) -> None:
    """Sphereon's order: issuer metadata, then its authorization server's, both appended."""
    meta = client.get(_appended("https://node.amana.test/issuers/open-doors", "openid-credential-issuer")).json()
    server = meta.get("authorization_servers", [meta["credential_issuer"]])[0]
    auth = client.get(_appended(server, "oauth-authorization-server")).json()
    assert auth["issuer"] == server == meta["credential_issuer"]
    assert auth["token_endpoint"] == f"{server}/token"


@pytest.mark.parametrize("suffix", sorted(SUFFIXES))
@pytest.mark.parametrize("form", ["inserted", "appended"])
def test_an_unknown_issuer_is_404_problem_json_on_every_form(client: TestClient, suffix: str, form: str) -> None:
    path = (f"/.well-known/{suffix}/issuers/nobody" if form == "inserted"
            else f"/issuers/nobody/.well-known/{suffix}")
    r = client.get(path)  # (the inserted openid-configuration is no route at all: 404 just the same)
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "not_found" and "nobody" not in r.text



def test_a_nonce_needs_the_database_once_per_organisation_and_a_made_up_slug_is_never_remembered(
        client: TestClient) -> None:
    """issuer.discovery.org_id_or_404: the slug's id is remembered once found (organisations are
    never deleted or renamed), so later nonces touch no database; a slug that names nothing is
    looked up, and refused, every time."""
    from sqlalchemy import event

    from core.db import sync_engines

    ctx = client.app.state.issuer  # type: ignore[attr-defined]
    statements: list[str] = []

    def seen(_c: object, _cur: object, statement: str, *_rest: object) -> None:
        statements.append(statement)

    for engine in sync_engines(ctx.engine):
        event.listen(engine, "before_cursor_execute", seen)
    try:
        first = client.post("/issuers/open-doors/nonce")
        asked = len(statements)
        again = [client.post("/issuers/open-doors/nonce") for _ in range(3)]
        assert first.status_code == 200 and all(r.status_code == 200 for r in again)
        assert len({r.json()["c_nonce"] for r in [first, *again]}) == 4  # fresh each time
        assert len(statements) == asked  # no statement after the first
        for _ in range(2):
            assert client.post("/issuers/made-up/nonce").status_code == 404
        assert len(statements) > asked and "made-up" not in ctx.org_ids
    finally:
        for engine in sync_engines(ctx.engine):
            event.remove(engine, "before_cursor_execute", seen)
