"""A verifier desk on a real node (loopback), and credentials crafted by an accredited issuer
of the test's own, so a test can put any status ``uri`` into a credential the trust list accepts."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx

from core import keys
from core.credtypes import load_registry
from core.sdjwt.vc import issue_vc
from core.settings import REPO_ROOT, Settings
from core.trust.model import AccreditedIssuer, PurposeRegistration, RegisteredVerifier, parse
from core.trust.operator import new_draft, put_issuer, put_verifier_purpose, sign_draft
from tests.node import RunningNode
from verifier import store
from verifier.context import VerifierContext
from verifier.requests import Prefix
from wallet import present as wallet

TYPES = load_registry(Settings().specs_dir)
STATUS_VCT = "urn:amana:credential:RegistrationStatus:1"
HR = "https://w3id.org/dpv#HumanResourceManagement"
STATUS_EXAMPLE = json.loads((REPO_ROOT / "specs/credentials/RegistrationStatus/example.json").read_text())
CRAFTED_ISSUER = "https://issuer.crafted.test"


async def _init_desk(settings: Settings) -> tuple[str, dict[str, Any]]:
    """What ``amana verifier init`` does, on the node's store."""
    ctx = VerifierContext.create(settings)
    async with ctx.transaction() as session:
        identity = await store.identity(session, ctx.node, settings.verifier_name, ctx.now())
        desk_key = await store.add_desk_key(session, ctx.node, "desk", ctx.now())
    await ctx.engine.dispose()
    return desk_key, keys.jwks([identity.key.public_key(), identity.did_key.public_key()])


class Desk:
    """A running node whose trust list accredits ``issuer_key`` for RegistrationStatus."""

    def __init__(self, node: RunningNode, data_dir: Path) -> None:
        self.node, self.base, self.data_dir = node, node.base, data_dir
        self.issuer_key = keys.generate()
        self.governance = keys.generate()
        self.desk_key, verifier_jwks = asyncio.run(_init_desk(node.settings))
        draft = new_draft("https://governance.amana.test")
        draft = put_issuer(draft, parse(AccreditedIssuer, {
            "id": CRAFTED_ISSUER, "names": {"en": "Crafted"}, "jwks": keys.jwks([self.issuer_key.public_key()]),
            "vcts": [STATUS_VCT], "valid_from": 0}))[0]
        registration = parse(PurposeRegistration, {
            "purpose": HR, "legal_basis": "https://w3id.org/dpv#LegalObligation",
            "credentials": [{"vct": STATUS_VCT, "claims": [["right_to_work"], ["valid_until"]]}]})
        verifier = parse(RegisteredVerifier, {"id": node.settings.verifier_id, "names": {"en": "Employer"},
                                              "jwks": verifier_jwks, "registrations": [registration.model_dump()]})
        self.draft = put_verifier_purpose(draft, verifier, registration)[0]
        trust_dir = data_dir / "trust"
        trust_dir.mkdir(exist_ok=True)
        self.trust_list_file = trust_dir / "trust-list.jwt"
        self.trust_list_file.write_text(sign_draft(self.draft, self.governance, int(time.time()))[0])
        (trust_dir / "governance.jwks.json").write_text(json.dumps(keys.jwks([self.governance.public_key()])))

    @property
    def ctx(self) -> VerifierContext:
        ctx: VerifierContext = self.node.app.state.verifier
        return ctx

    def credential(self, status_uri: str | None, idx: int = 3) -> tuple[str, keys.PrivateKey]:
        holder = keys.generate()
        status = None if status_uri is None else {"status_list": {"uri": status_uri, "idx": idx}}
        now = self.ctx.now()  # the desk's clock, stopped or moved as a test wants it
        token = issue_vc(TYPES.require(STATUS_VCT), STATUS_EXAMPLE, issuer=CRAFTED_ISSUER, issuer_key=self.issuer_key,
                         holder_key=holder.public_key(), now=now - 60, valid_for_s=30 * 86400, status=status)
        return token, holder

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.desk_key}"}

    async def check(self, http: httpx.AsyncClient, **extra: Any) -> dict[str, Any]:
        r = await http.post(f"{self.base}/api/verifier/checks", json={"query": "right-to-work", **extra},
                            headers=self.auth)
        assert r.status_code == 201, r.text
        created: dict[str, Any] = r.json()
        return created

    async def present(self, http: httpx.AsyncClient, check: dict[str, Any],
                      credential: tuple[str, keys.PrivateKey]) -> httpx.Response:
        """The holder's wallet: fetch the request, answer it (direct_post)."""
        now = self.ctx.now()  # the phone's clock agrees with the desk's
        request = await wallet.fetch_request(http, check["link"], now=now)
        vp = wallet.vp_token(request, {"registration": credential}, now)
        return await wallet.answer(http, request, vp)

    async def result(self, http: httpx.AsyncClient, check: dict[str, Any]) -> httpx.Response:
        return await http.post(f"{self.base}/api/verifier/checks/{check['id']}/result",
                               json={"result_key": check["result_key"]}, headers=self.auth)

    async def outcome(self, http: httpx.AsyncClient, check: dict[str, Any], polls: int = 200) -> dict[str, Any]:
        """The result once the check is done; a check may finish after the wallet was answered,
        so the desk asks again while it says pending (bounded: ``polls`` times 0.1 s)."""
        for _ in range(polls):
            r = await self.result(http, check)
            if r.status_code != 202:
                assert r.status_code == 200, r.text
                body: dict[str, Any] = r.json()
                return body
            await asyncio.sleep(0.1)
        raise AssertionError("the check stayed pending")

    async def verdict(self, http: httpx.AsyncClient, credential: tuple[str, keys.PrivateKey],
                      **extra: Any) -> dict[str, Any]:
        """One check answered by ``credential``; the desk's result (the wallet's post must be taken)."""
        check = await self.check(http, **extra)
        response = await self.present(http, check, credential)
        assert response.status_code == 200, response.text
        return await self.outcome(http, check)


__all__ = ["HR", "STATUS_VCT", "Desk", "Prefix"]
