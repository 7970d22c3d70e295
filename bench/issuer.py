"""``python -m bench.issuer``: credentials per second of one issuer worker, beside its bounds.

One process, one event loop (what one uvicorn worker is), the embedded SQLite store. The
app is driven in-process through httpx's ASGI transport, so HTTP parsing, routing,
validation, the database and signing are all measured, and sockets are not.

- **ours, end to end**: the wallet's part (offer fetch, token with PIN, nonce, 10 key
  proofs signed) is prepared before the clock starts; timed is what the server does for
  each batch of 10: the token request, and the credential request with 10 proofs
  (10 proof verifications, 10 status allocations, 10 SD-JWT VCs, one transaction);
- **ours, credential building only**: ``issue_vc`` per credential (no HTTP, no database);
- **reference**: the sd-jwt reference library issuing the same credential;
- **raw bound**: one ES256 signature plus one ES256 verification (the proof) per credential.

Target (issue 4): >= 500 credentials per second per worker.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from jwcrypto.jwk import JWK
from sd_jwt.common import SDObj
from sd_jwt.issuer import SDJWTIssuer

from bench import pin_to_one_core
from bench.sdjwt import per_op_us
from core import _jose, keys
from core.credtypes import load_registry
from core.oid4vc import PRE_AUTHORIZED_GRANT, PROOF_TYP
from core.settings import Settings
from core.statuslist import reference
from issuer import store
from issuer.app import build_app
from issuer.staff_api import OfferCreate, create_offer
from issuer.tables import Staff

BASE = "https://bench.amana.test"
BATCH = 10
ROUNDS = 40


async def _prepare(client: httpx.AsyncClient, ctx: Any, example: dict[str, Any]) -> list[dict[str, Any]]:
    async with ctx.transaction() as session:
        org, _key = await store.create_org(session, ctx.node, slug="bench", names={"en": "Bench"},
                                           vcts=["urn:amana:credential:SkillCertificate:1"], keep_claims_days=None,
                                           staff_name="bench", now=ctx.now())
    staff = Staff(id="bench", org_id=org.id, name="bench")
    issuer = f"{BASE}/issuers/bench"
    jobs = []
    for _ in range(ROUNDS):
        offer = await create_offer(ctx, staff, org, OfferCreate(type="SkillCertificate", claims=example,
                                                                batch_size=BATCH))
        grant = (await client.get(offer.offer_uri)).json()["grants"][PRE_AUTHORIZED_GRANT]
        nonce = (await client.post(f"{issuer}/nonce")).json()["c_nonce"]
        holder_keys = [keys.generate() for _ in range(BATCH)]
        now = int(time.time())
        proofs = [_jose.sign_compact({"typ": PROOF_TYP, "jwk": k.public_key().to_jwk()},
                                     {"aud": issuer, "iat": now, "nonce": nonce}, k) for k in holder_keys]
        jobs.append({"code": grant["pre-authorized_code"], "pin": offer.pin, "proofs": proofs})
    return jobs


async def _end_to_end(data_dir: Path, example: dict[str, Any]) -> float:
    # One client address sends everything here: the per-address limit would measure itself.
    app = build_app(Settings(data_dir=data_dir, public_base_url=BASE, rate_limit_per_s=1e9))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
            jobs = await _prepare(client, app.state.issuer, example)
            issuer = f"{BASE}/issuers/bench"
            started = time.perf_counter()
            for job in jobs:
                form = {"grant_type": PRE_AUTHORIZED_GRANT, "pre-authorized_code": job["code"], "tx_code": job["pin"]}
                token = (await client.post(f"{issuer}/token", data=form)).json()
                headers = {"Authorization": f"Bearer {token['access_token']}"}
                body = {"credential_configuration_id": "SkillCertificate", "proofs": {"jwt": job["proofs"]}}
                r = await client.post(f"{issuer}/credential", headers=headers, json=body)
                assert r.status_code == 200 and len(r.json()["credentials"]) == BATCH, r.text
            elapsed = time.perf_counter() - started
    return ROUNDS * BATCH / elapsed


def main() -> None:
    pinned = pin_to_one_core()
    types = load_registry(Settings().specs_dir)
    ctype = types.by_name("SkillCertificate")
    example = dict(ctype.example)
    with tempfile.TemporaryDirectory() as tmp:
        ours_http = asyncio.run(_end_to_end(Path(tmp), example))

    from core.sdjwt.vc import issue_vc

    issuer_key, holder = keys.generate(), keys.generate().public_key()
    status = reference(f"{BASE}/status/x", 12345)
    build_us = per_op_us(lambda: issue_vc(ctype, example, issuer=BASE, issuer_key=issuer_key, holder_key=holder,
                                          now=1_800_000_000, valid_for_s=86400, status=status))
    jw_issuer = JWK.from_json(json.dumps(issuer_key.to_jwk()))
    jw_holder = JWK.from_json(json.dumps(keys.generate().to_jwk()))
    ref_claims: dict[Any, Any] = {"iss": BASE, "iat": 1_800_000_000, "vct": ctype.vct, "status": status}
    ref_claims.update({SDObj(k): v for k, v in example.items()})
    ref_us = per_op_us(lambda: SDJWTIssuer(ref_claims, jw_issuer, jw_holder).sd_jwt_issuance)
    raw_key = ec.generate_private_key(ec.SECP256R1())
    message = b"x" * 700
    signature = raw_key.sign(message, ec.ECDSA(hashes.SHA256()))
    sign_us = per_op_us(lambda: raw_key.sign(message, ec.ECDSA(hashes.SHA256())))
    verify_us = per_op_us(lambda: raw_key.public_key().verify(signature, message, ec.ECDSA(hashes.SHA256())))
    raw_per_s = 1e6 / (sign_us + verify_us)

    print(f"Issuer, one worker, one core, {pinned} (credentials per second; higher is better)\n")
    print(f"{'what':<62}{'creds/s':>10}")
    print(f"{'ours, end to end (HTTP in-process, SQLite, batches of 10)':<62}{ours_http:>10.0f}")
    print(f"{'ours, credential building only (issue_vc, schema check incl.)':<62}{1e6 / build_us:>10.0f}")
    print(f"{'reference sd-jwt library, credential building only':<62}{1e6 / ref_us:>10.0f}")
    print(f"{'raw bound: 1 ES256 sign + 1 ES256 verify per credential':<62}{raw_per_s:>10.0f}")
    verdict = "met" if ours_http >= 500 else "NOT met"
    share = ours_http / raw_per_s
    print(f"\ntarget: >= 500 credentials/s per worker end to end -> {verdict} ({share:.0%} of the raw bound)")


if __name__ == "__main__":
    main()
