"""``make demo``, the networked chapter (after server.demo's offline ones): the whole node runs
on loopback and everyone talks HTTP.

The trust operator accredits the NGO (whose issuer identity lives on this node) and
registers an employer's hiring desk; a trainer makes an offer through the staff API;
Layla's wallet (an encrypted vault on this node: wallet.holder, the same use cases as the
wallet's pages and ``amana wallet``) checks the issuer against the trust list, redeems the
offer with her PIN and keeps three unlinkable copies; the desk asks by OpenID4VP, her wallet
shows her the consent screen and answers with two claims, the desk sees the result once; the
NGO revokes the certificate and the desk's next check says so; her history lists who saw
what, by name. Everything lives in a temporary directory that is gone afterwards.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from core import db, keys
from core.credtypes import TypeRegistry
from core.settings import Settings
from core.trust.model import AccreditedIssuer, PurposeRegistration, RegisteredVerifier, parse
from core.trust.operator import new_draft, put_issuer, put_verifier_purpose, sign_draft
from issuer import store
from issuer.context import IssuerContext
from server.background import BackgroundNode, free_port
from verifier import store as verifier_store
from verifier.context import VerifierContext
from wallet import consent_hook, flows, holder, ledger, rights

HR = "https://w3id.org/dpv#HumanResourceManagement"


async def _setup(settings: Settings, skill_vct: str) -> dict[str, Any]:
    """The NGO's organisation and the employer's desk, on this node's store (what the CLI does)."""
    issuer_ctx = IssuerContext.create(settings)
    await db.upgrade(issuer_ctx.engine)
    now = issuer_ctx.now()
    async with issuer_ctx.transaction() as session:
        org, api_key = await store.create_org(session, issuer_ctx.node, slug="open-doors",
                                              names={"en": "Open Doors NGO", "ar": "منظمة الأبواب المفتوحة"},
                                              vcts=[skill_vct], keep_claims_days=None, staff_name="Trainer Amal",
                                              now=now)
        jwks = await store.published_keys(session, org.id, now)
    await issuer_ctx.engine.dispose()
    verifier_ctx = VerifierContext.create(settings)
    async with verifier_ctx.transaction() as session:
        identity = await verifier_store.identity(session, verifier_ctx.node, "Harbour Logistics", now)
        desk_key = await verifier_store.add_desk_key(session, verifier_ctx.node, "hiring desk", now)
    await verifier_ctx.engine.dispose()
    verifier_jwks = keys.jwks([identity.key.public_key(), identity.did_key.public_key()])
    return {"ngo": f"{settings.public_base_url}/issuers/open-doors", "api_key": api_key, "jwks": jwks,
            "desk_key": desk_key, "verifier_jwks": verifier_jwks}


def _publish_trust_list(settings: Settings, world: dict[str, Any], vct: str, now: int) -> None:
    governance = keys.generate("ES256")
    entry = {"id": world["ngo"], "names": {"en": "Open Doors NGO"}, "jwks": {"keys": world["jwks"]}, "vcts": [vct],
             "valid_from": now - now % 86400}
    draft = put_issuer(new_draft("https://governance.amana.test"), parse(AccreditedIssuer, entry))[0]
    registration = parse(PurposeRegistration, {
        "purpose": HR, "legal_basis": "https://w3id.org/dpv#LegalObligation",
        "credentials": [{"vct": vct, "claims": [["skill"], ["eqf_level"]]}]})
    verifier = parse(RegisteredVerifier, {"id": settings.verifier_id, "names": {"en": "Harbour Logistics"},
                                          "jwks": world["verifier_jwks"],
                                          "registrations": [registration.model_dump(mode="json")]})
    draft = put_verifier_purpose(draft, verifier, registration)[0]
    settings.trust_dir.mkdir(parents=True)
    (settings.trust_dir / "trust-list.jwt").write_text(sign_draft(draft, governance, now)[0] + "\n")
    (settings.trust_dir / "governance.jwks.json").write_text(json.dumps(keys.jwks([governance.public_key()])))


async def _employer_checks(http: httpx.AsyncClient, base: str, desk_key: str, wallet: holder.WalletContext,
                           opened: holder.Opened, say: Any) -> tuple[holder.Opened, dict[str, Any]]:
    """The employer's desk asks (OpenID4VP), Layla's wallet shows her who asks for what and answers
    with a copy no other verifier has seen; the desk reads the result once."""
    desk = {"Authorization": f"Bearer {desk_key}"}
    check = (await http.post(f"{base}/api/verifier/checks", json={"query": "skill-check"}, headers=desk)).json()
    asked = await flows.open_request(wallet, opened, http, check["link"], "en")
    for line in consent_hook.lines(asked.screen):
        say(f"  | {line}")
    opened = (await flows.give(wallet, opened, http, asked, flows.default_choice(asked.screen),
                               heeded_warning=False)).opened
    # As the desk's page does: asked again while pending. The node answers the wallet within
    # verifier_answer_wait_s and ends a slower check (a loaded machine) in the background.
    for _ in range(RESULT_ASKS):
        r = await http.post(f"{base}/api/verifier/checks/{check['id']}/result",
                            json={"result_key": check["result_key"]}, headers=desk)
        if r.status_code != 202:
            result: dict[str, Any] = r.json()
            return opened, result
        await asyncio.sleep(0.2)
    raise RuntimeError("the desk's check stayed pending")


RESULT_ASKS = 300  # 0.2 s apart: a minute, far past the fetch deadline a check can wait for


async def _story(settings: Settings, types: TypeRegistry, step: Any, say: Any) -> None:
    base, skill = settings.public_base_url, types.by_name("SkillCertificate")
    step("The node starts. The NGO joins it (an organisation, a sealed signing key, a trainer's key); an employer")
    say("sets up a hiring desk (a request-signing key and certificate, a desk key).")
    world = await _setup(settings, skill.vct)
    say(f"issuer identifier: {world['ngo']}")
    _publish_trust_list(settings, world, skill.vct, int(time.time()))
    say("the trust operator accredits the NGO for skill certificates, registers the employer for hiring")
    say("(skill and level only), and publishes the list at /trust-list")
    with BackgroundNode(settings.data_dir, port=int(base.rsplit(":", 1)[1])) as node:
        async with httpx.AsyncClient(timeout=10) as http:
            step("After Layla's forklift course, the trainer makes an offer: a QR code, and a PIN said aloud.")
            r = await http.post(f"{base}/api/issuer/offers", headers={"Authorization": f"Bearer {world['api_key']}"},
                                json={"type": "SkillCertificate", "claims": dict(skill.example), "batch_size": 3})
            offer = r.json()
            say(f"QR: {offer['link'][:72]}…   PIN: {len(offer['pin'])} digits, said to Layla, never printed")
            step("Layla makes a wallet on this node (or opens /wallet in her phone's browser): an encrypted vault.")
            wallet = await holder.WalletContext.open(settings)
            wallet_id, _code = await holder.create(wallet, "Layla's own words, 7x", "Layla")
            opened = await holder.unlock(wallet, wallet_id, "Layla's own words, 7x")
            say(f"wallet code {wallet_id}; the recovery code is shown to her once, never stored")
            step("Her wallet scans the QR: it names who offers what before she types the PIN, then fetches three")
            offered = await flows.look_at_offer(wallet, http, offer["link"], "en")
            say(f"unlinkable copies over HTTP. Offered by: {offered.issuer_name} (on the trust list)")
            opened, kept = await flows.accept_offer(wallet, opened, http, offered, offer["pin"], copies=3,
                                                    allow_unregistered=False)
            say(f"{len(kept)} copies, each bound to its own key and status entry; verified on receipt.")
            step("At the hiring desk: a QR (OpenID4VP, signed request). Layla's wallet shows her who asks and why;")
            say("the desk would like the skill and its level, and takes the skill alone; the wallet offers the")
            say("fewer facts; she agrees, and it shows the skill only. The desk sees the result once; the server keeps")
            say("no value.")
            opened, result = await _employer_checks(http, base, world["desk_key"], wallet, opened, say)
            [credential] = result["credentials"]
            assert result["accepted"], f"the demo expected the check to pass: {result}"
            say(f"verified: {credential['claims']['skill']['label']}, and nothing else — "
                f"issuer {credential['issuer_names']['en']}, status {credential['status']}")
            assert set(credential["claims"]) == {"skill"}, f"the demo expected the skill alone: {credential['claims']}"
            step("The certificate was issued by mistake; the NGO revokes it. The employer checks again.")
            staff = {"Authorization": f"Bearer {world['api_key']}"}
            listed = (await http.get(f"{base}/api/issuer/credentials", headers=staff)).json()
            await http.post(f"{base}/api/issuer/credentials/{listed[0]['id']}/revoke", headers=staff)
            node.app.state.verifier.fetcher.forget()  # past the list's ttl (15 min), say
            opened, result = await _employer_checks(http, base, world["desk_key"], wallet, opened, lambda _: None)
            assert result["reason"] == "revoked", f"the demo expected the revocation to show: {result}"
            say(f"refused ({result['reason']}): all three copies, since they are one certificate.")
            step("Layla's wallet remembers who saw what — names of claims, never their values:")
            # Receipts of a check that ended after the wallet's answer, asked again as the history page does.
            opened = await rights.refresh_waiting(wallet, opened, http)
            held_trust = flows.trust_list(wallet)
            for record in opened.contents.history:
                names = ", ".join(record.data_categories)
                given = next((r for r in (record.receipt or {}).get("receipts") or [] if r.get("event") == "given"),
                             None)
                when = record.timestamp[:16].replace("T", " ")
                said = f"{when} UTC {record.event} to {record.controller.name}: {names}"
                if given is None:  # a refused check records no consent: there is nothing to prove
                    said += " (the desk refused it: revoked; it kept nothing, so there is no receipt)"
                say(said)
                if record.receipt is not None and given is not None:  # the consent ledger's (issue 14)
                    proof = given.get("proof") or {}
                    verdict = "verifies" if ledger.check(record.receipt, held_trust) else "DOES NOT verify"
                    say(f"  receipt signed by the employer, counter-signed by Layla; consent log leaf "
                        f"{proof.get('leaf_index')} of {proof.get('tree_size')}: the proof {verdict}")
            await wallet.engine.dispose()


def run(first_step: int, types: TypeRegistry, step: Any, say: Any) -> None:
    numbers = iter(range(first_step, first_step + 20))

    def numbered(text: str) -> None:
        step(next(numbers), text)

    with tempfile.TemporaryDirectory(prefix="amana-demo-") as tmp:
        # Everything runs on this machine's loopback over plain HTTP: local mode, so the verifier may fetch
        # from it here; a real node answers on https and fetches nothing private (Settings.local_mode).
        settings = Settings(data_dir=Path(tmp), public_base_url=f"http://127.0.0.1:{free_port()}")
        asyncio.run(_story(settings, types, numbered, say))
