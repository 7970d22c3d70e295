"""``make demo``, the networked chapter: the whole node runs on loopback and everyone talks HTTP.

The trust operator accredits the NGO (whose issuer identity lives on this node); a trainer
makes an offer through the staff API; Layla's wallet redeems it with her PIN and receives
three unlinkable copies; the employer fetches the trust list and the status list over
HTTP and checks one copy; the NGO revokes it and the employer sees that too. Everything
lives in a temporary directory that is gone afterwards.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from core import db, keys
from core.credtypes import TypeRegistry
from core.errors import AmanaError
from core.sdjwt import KeyBindingPolicy, present
from core.sdjwt.vc import VerifiedCredential, verify_vc
from core.settings import Settings
from core.statuslist import INVALID, verify_token
from core.trust import check_issuer
from core.trust import verify as verify_trust_list
from core.trust.model import AccreditedIssuer, parse
from core.trust.operator import new_draft, put_issuer, sign_draft
from issuer import store
from issuer.context import IssuerContext
from server.app import build_app
from wallet.receive import receive

EMPLOYER = "https://employer.amana.test"
STATUS_WORDS = {0: "valid", 1: "revoked", 2: "suspended"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Node:
    """``amana serve`` in a background thread, for as long as the chapter runs."""

    def __init__(self, settings: Settings, port: int) -> None:
        config = uvicorn.Config(build_app(settings), host="127.0.0.1", port=port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> _Node:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.02)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


async def _create_ngo(settings: Settings, skill_vct: str) -> tuple[str, str, list[dict[str, Any]]]:
    ctx = IssuerContext.create(settings)
    await db.upgrade(ctx.engine)
    async with ctx.transaction() as session:
        org, api_key = await store.create_org(session, ctx.node, slug="open-doors",
                                              names={"en": "Open Doors NGO", "ar": "منظمة الأبواب المفتوحة"},
                                              vcts=[skill_vct], keep_claims_days=None, staff_name="Trainer Amal",
                                              now=ctx.now())
        jwks = await store.published_keys(session, org.id, ctx.now())
    await ctx.engine.dispose()
    return f"{settings.public_base_url}/issuers/open-doors", api_key, jwks


def _publish_trust_list(trust_dir: Path, ngo_id: str, jwks: list[dict[str, Any]], vct: str,
                        now: int) -> keys.PrivateKey:
    governance = keys.generate("ES256")
    entry = {"id": ngo_id, "names": {"en": "Open Doors NGO"}, "jwks": {"keys": jwks}, "vcts": [vct],
             "valid_from": now - now % 86400}
    draft = put_issuer(new_draft("https://governance.amana.test"), parse(AccreditedIssuer, entry))[0]
    token, _ = sign_draft(draft, governance, now)
    trust_dir.mkdir(parents=True)
    (trust_dir / "trust-list.jwt").write_text(token + "\n")
    (trust_dir / "governance.jwks.json").write_text(json.dumps(keys.jwks([governance.public_key()])))
    return governance


async def _employer_checks(http: httpx.AsyncClient, base: str, shown: str, nonce: str, anchor: keys.PublicKey,
                           types: TypeRegistry) -> tuple[VerifiedCredential, int]:
    """What the employer's verifier does, by hand until the verifier service exists."""
    now = int(time.time())
    trust_list = verify_trust_list((await http.get(f"{base}/trust-list")).text, governance_keys=[anchor],
                                   now=now).require_current()
    accredited = {i.id: i.public_keys() for i in trust_list.issuers}
    result = verify_vc(shown, issuer_keys=lambda _h, p: accredited.get(str(p.get("iss")), []), now=now,
                       key_binding=KeyBindingPolicy(EMPLOYER, nonce), types=types)
    check_issuer(trust_list, iss=result.issuer, vct=result.vct, issued_at=result.issued_at, now=now)
    ref = result.claims["status"]["status_list"]
    status = verify_token((await http.get(ref["uri"])).text, keys=accredited[result.issuer], uri=ref["uri"], now=now)
    return result, status.status_list.get(ref["idx"])


async def _story(settings: Settings, types: TypeRegistry, step: Any, say: Any) -> None:
    base, skill = settings.public_base_url, types.by_name("SkillCertificate")
    step("The node starts. The NGO joins it: an organisation, a signing key made and sealed, a trainer's API key.")
    ngo_id, api_key, jwks = await _create_ngo(settings, skill.vct)
    say(f"issuer identifier: {ngo_id}")
    governance = _publish_trust_list(settings.trust_dir, ngo_id, jwks, skill.vct, int(time.time()))
    say("the trust operator accredits it for skill certificates and publishes the list at /trust-list")
    with _Node(settings, int(base.rsplit(":", 1)[1])):
        async with httpx.AsyncClient(timeout=10) as http:
            step("After Layla's forklift course, the trainer makes an offer: a QR code, and a PIN said aloud.")
            r = await http.post(f"{base}/api/issuer/offers", headers={"Authorization": f"Bearer {api_key}"},
                                json={"type": "SkillCertificate", "claims": dict(skill.example), "batch_size": 3})
            offer = r.json()
            say(f"QR: {offer['link'][:72]}…   PIN: {'•' * len(offer['pin'])} (shown once)")
            step("Layla's phone scans the QR, she types the PIN; the wallet fetches three unlinkable copies over HTTP.")
            copies = await receive(http, offer["link"], offer["pin"], copies=3, types=types)
            say(f"{len(copies)} copies, each bound to its own key and status entry; verified on receipt.")
            step("An employer checks one copy: the trust list and the status list come over HTTP too.")
            nonce = secrets.token_urlsafe(16)
            shown = present(copies[0].credential, [("skill",)], holder_key=copies[0].holder_key, audience=EMPLOYER,
                            nonce=nonce, now=int(time.time()))
            result, status = await _employer_checks(http, base, shown, nonce, governance.public_key(), types)
            skill_label = result.disclosed_claims()["skill"]["label"]
            say(f"verified: {skill_label} — accredited issuer, status {STATUS_WORDS[status]}")
            step("The certificate was issued by mistake; the NGO revokes it. The employer checks again.")
            staff = {"Authorization": f"Bearer {api_key}"}
            listed = (await http.get(f"{base}/api/issuer/credentials", headers=staff)).json()
            await http.post(f"{base}/api/issuer/credentials/{listed[0]['id']}/revoke", headers=staff)
            try:
                _, status = await _employer_checks(http, base, shown, nonce, governance.public_key(), types)
            except AmanaError as exc:  # pragma: no cover - the demo expects a status, not an error
                raise SystemExit(f"the demo expected a status answer: {exc.code}") from exc
            assert status == INVALID, "the demo expected the revocation to show"
            say("status: revoked — all three copies, since they are one certificate.")


def run(first_step: int, types: TypeRegistry, step: Any, say: Any) -> None:
    numbers = iter(range(first_step, first_step + 20))

    def numbered(text: str) -> None:
        step(next(numbers), text)

    with tempfile.TemporaryDirectory(prefix="amana-demo-") as tmp:
        settings = Settings(data_dir=Path(tmp), public_base_url=f"http://127.0.0.1:{_free_port()}")
        asyncio.run(_story(settings, types, numbered, say))
