"""A minimal OpenID4VCI wallet for tests: follows an offer link over HTTP, step by step.

Each step is its own method so negative tests can stop or tamper between them. It talks
to the app through Starlette's TestClient (in-process ASGI, no sockets).
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fastapi.testclient import TestClient

from core import _jose, keys
from core.credtypes import TypeRegistry
from core.oid4vc import PRE_AUTHORIZED_GRANT
from core.sdjwt.vc import VerifiedCredential, verify_vc_issued

BASE = "https://node.amana.test"


def path_of(url: str) -> str:
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == BASE, url
    return parts.path


class Wallet:
    def __init__(self, client: TestClient) -> None:
        self.client = client

    def offer(self, link: str) -> dict[str, Any]:
        """From the custom-scheme link, or the https link an offer QR carries (the same parameter)."""
        assert link.startswith(("openid-credential-offer://?", BASE + "/issuers/"))
        [offer_uri] = parse_qs(urlsplit(link).query)["credential_offer_uri"]
        r = self.client.get(path_of(offer_uri))
        assert r.status_code == 200, r.text
        offer: dict[str, Any] = r.json()
        return offer

    def metadata(self, issuer: str) -> dict[str, Any]:
        host, path = issuer[: issuer.index("/", 8)], issuer[issuer.index("/", 8):]
        assert host == BASE
        r = self.client.get("/.well-known/openid-credential-issuer" + path)
        assert r.status_code == 200, r.text
        meta: dict[str, Any] = r.json()
        as_meta = self.client.get("/.well-known/oauth-authorization-server" + path).json()
        meta["token_endpoint"] = as_meta["token_endpoint"]
        return meta

    def token(self, meta: dict[str, Any], code: str, pin: str | None, **extra: str) -> Any:
        form = {"grant_type": PRE_AUTHORIZED_GRANT, "pre-authorized_code": code, **extra}
        if pin is not None:
            form["tx_code"] = pin
        return self.client.post(path_of(meta["token_endpoint"]), data=form)

    def nonce(self, meta: dict[str, Any]) -> str:
        r = self.client.post(path_of(meta["nonce_endpoint"]))
        assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
        c_nonce: str = r.json()["c_nonce"]
        return c_nonce

    @staticmethod
    def proof(key: keys.PrivateKey, aud: str, nonce: str | None, *, typ: str = "openid4vci-proof+jwt",
              iat: int | None = None) -> str:
        claims: dict[str, Any] = {"aud": aud, "iat": iat if iat is not None else int(time.time())}
        if nonce is not None:
            claims["nonce"] = nonce
        return _jose.sign_compact({"typ": typ, "jwk": key.public_key().to_jwk()}, claims, key)

    def credential(self, meta: dict[str, Any], access_token: str, body: dict[str, Any]) -> Any:
        return self.client.post(path_of(meta["credential_endpoint"]), json=body,
                                headers={"Authorization": f"Bearer {access_token}"})

    def receive(self, link: str, pin: str, holder_keys: list[keys.PrivateKey]) -> list[str]:
        """The whole happy path; returns the credentials."""
        offer = self.offer(link)
        meta = self.metadata(offer["credential_issuer"])
        grant = offer["grants"][PRE_AUTHORIZED_GRANT]
        r = self.token(meta, grant["pre-authorized_code"], pin)
        assert r.status_code == 200, r.text
        nonce = self.nonce(meta)
        proofs = [self.proof(k, meta["credential_issuer"], nonce) for k in holder_keys]
        body = {"credential_configuration_id": offer["credential_configuration_ids"][0], "proofs": {"jwt": proofs}}
        r = self.credential(meta, r.json()["access_token"], body)
        assert r.status_code == 200, r.text
        return [c["credential"] for c in r.json()["credentials"]]

    def check(self, credential: str, issuer: str, types: TypeRegistry) -> VerifiedCredential:
        host_end = issuer.index("/", 8)
        jwks = self.client.get("/.well-known/jwt-vc-issuer" + issuer[host_end:]).json()["jwks"]["keys"]
        issuer_keys = [keys.PublicKey.from_jwk(k) for k in jwks]
        return verify_vc_issued(credential, issuer_keys=issuer_keys, now=int(time.time()), types=types)
