"""``python -m bench.issuer``: the wallet's whole OpenID4VCI flow, per step, beside its bounds.

What a holder waits for (issue 15): fetch the offer, redeem the code with the PIN, fetch a
nonce, send the key proofs and get the credentials — at batch 1 and at batch 10, against the
whole node (``bench.world``) on SQLite (or ``--pg URL``):

- **in process**: httpx's ASGI transport, one flow after another (no sockets), this process
  pinned to one core;
- **HTTP**: one uvicorn worker in its own process pinned to core 1, the wallets here on core 0,
  one flow after another, then ``--wallets`` flows at once;
- beside them a FastAPI request that does nothing (``/bench/noop``, measured the same ways),
  and the flow's raw cryptography: per credential one ES256 signature (the credential) and one
  ES256 verification with a key just imported (the holder's key proof), with ``issue_vc``
  (building one credential, no HTTP, no database) as the cost of the credential's own work;
  and each step's cryptography besides its signatures (``STEP_CRYPTO``: the node key's digests
  and seals, the credential's salts and digests), which its bound counts too.

Making the offer (the staff API) is setup and untimed; so is the wallet's own computing (its
keys, its proofs). Targets (issue 15): >= 300 flows/s at batch 1 over HTTP; >= 1,000
credentials/s at batch 10; each step <= the no-op + its cryptography + 0.3 ms.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from typing import Any, NamedTuple

from bench import endtoend, world
from bench.endtoend import Phase
from bench.sdjwt import paired_per_op_us, per_op_us, raw_es256
from bench.world import ISSUE_STEPS, Times, Wallets
from core import keys
from core.credtypes import load_registry
from core.settings import Settings
from core.statuslist import reference

TARGET_FLOWS, TARGET_CREDS = 300, 1000


def _issuance(batch: int) -> tuple[endtoend.Prepare, endtoend.Flow]:
    async def prepare(wallets: Wallets, n: int) -> list[Any]:
        return [await wallets.offer(batch) for _ in range(n)]

    async def flow(wallets: Wallets, times: Times, offer: Any) -> None:
        await wallets.issue(times, offer, batch)

    return prepare, flow


async def _in_process(args: Any, node: tuple[Any, int, tuple[str, str]]) -> list[Phase]:
    data_dir, port, secrets = node
    phases = []
    async with endtoend.in_process(data_dir, port, args.pg, secrets) as wallets:
        for batch in (1, 10):
            n = args.flows if batch == 1 else max(1, args.flows // 10)
            phases.append(await endtoend.one_at_a_time(f"in process b{batch}", wallets, n, *_issuance(batch)))
    return phases


async def _over_http(args: Any, port: int, secrets: tuple[str, str], cpu: Any) -> list[Phase]:
    phases = []
    async with endtoend.over_http(port, secrets) as wallets:
        for batch in (1, 10):
            n = args.flows if batch == 1 else max(1, args.flows // 10)
            phases.append(await endtoend.one_at_a_time(f"HTTP b{batch}", wallets, n, *_issuance(batch), cpu=cpu))
            phases.append(await endtoend.at_once(f"HTTP b{batch} x{args.wallets}", wallets, n, args.wallets,
                                                 *_issuance(batch), cpu=cpu))
    return phases


class StepCrypto(NamedTuple):
    """A step's cryptography besides its signatures: calls of ``core.sealing.NodeKey`` (keyed
    digests; seals and opens under the node key; keys derived from a bearer secret, for
    ``seal_for``/``open_for``, each also a digest) per flow; per credential the SD-JWT's salts and
    digests (a decoy's included) and the holder key's RFC 7638 thumbprint (a SHA-256). Not priced:
    the random draws of bearer secrets and ids (``secrets``, about 1 us each)."""

    digests: int = 0
    opens: int = 0
    seals: int = 0
    secret_keys: int = 0
    salts_per_credential: int = 0
    sd_digests_per_credential: int = 0
    thumbprints_per_credential: int = 0


# What the flow does, counted on the real one by tests/test_bench_issuer_crypto.py (so a change in
# the issuer that this misses fails there): the offer looked up by its id's digest; the token finds
# the offer by its code's digest, checks the PIN's, opens the offer's claims (twice: the access
# token's copy and the refresh family's) and seals each under its bearer token, whose digests it
# stores; the nonce is a keyed tag; the credential looks up its token and spends the nonce by
# digests, opens the token's claims, tells the holder keys apart by their thumbprints, builds the
# SD-JWT (7 salted Disclosures and a decoy digest for the SkillCertificate) and keeps its response
# sealed for a retry.
STEP_CRYPTO = {
    "offer fetch": StepCrypto(digests=1),
    "token": StepCrypto(digests=7, opens=2, seals=2, secret_keys=2),
    "nonce": StepCrypto(digests=1),
    "credential": StepCrypto(digests=4, opens=1, seals=1, salts_per_credential=7, sd_digests_per_credential=8,
                             thumbprints_per_credential=1),
}
SEALED_BYTES = 320  # an offer's claims, as sealed (the token's seals and opens, the credential's open)
RESPONSE_BYTES = 1900  # a credential response, per credential (sealed whole for a retry)
PROOF_BYTES = 750  # a key proof in the request, which is hashed whole (the retry's request digest)


def other_crypto_us(batch: int) -> dict[str, float]:
    """``STEP_CRYPTO`` priced with the primitives as the node calls them (one ``NodeKey``, the
    standard library's HMAC and SHA-256, cryptography's AES-GCM): microseconds per flow, per step."""
    import hashlib
    import secrets

    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from core.encoding import b64url_encode, json_dumps_compact
    from core.sealing import NodeKey

    node = NodeKey(os.urandom(32))
    claims, response = os.urandom(SEALED_BYTES), os.urandom(RESPONSE_BYTES * batch)
    sealed = node.seal(claims, "offer:x")
    request = os.urandom(PROOF_BYTES * batch)
    disclosure = b64url_encode(os.urandom(90)).encode()
    members = json_dumps_compact(keys.generate().public_key().to_jwk()).encode()  # as RFC 7638 hashes them
    fns: list[Callable[[], object]] = [
        lambda: node.digest("code", "x" * 43), lambda: node.open(sealed, "offer:x"),
        lambda: node.seal(claims, "offer:x"), lambda: AESGCM(bytes.fromhex(node.digest("key", "x" * 43))),
        lambda: b64url_encode(secrets.token_bytes(16)), lambda: b64url_encode(hashlib.sha256(disclosure).digest()),
        lambda: node.seal(response, "credential-response:x"), lambda: hashlib.sha256(request).hexdigest(),
        lambda: b64url_encode(hashlib.sha256(members).digest())]
    (digest, open_, seal, secret_key, salt, sd_digest, seal_response, request_digest,
     thumbprint) = paired_per_op_us(fns, 0.1)
    out = {}
    for step, c in STEP_CRYPTO.items():
        # The secret keys' digests are among ``digests``; the credential's one seal is its response.
        seals = seal_response if step == "credential" else c.seals * seal
        out[step] = (c.digests * digest + c.opens * open_ + seals + c.secret_keys * (secret_key - digest)
                     + batch * (c.salts_per_credential * salt + c.sd_digests_per_credential * sd_digest
                                + c.thumbprints_per_credential * thumbprint)
                     + (request_digest if step == "credential" else 0.0))
    return out


def raw_crypto_us() -> tuple[float, float, float]:
    """One ES256 sign, one ES256 verify with a key imported from its point, and ``issue_vc``."""
    from core.sdjwt.vc import issue_vc

    sign, _, import_and_verify = raw_es256(b"x" * 700)
    sign_us, verify_us = per_op_us(sign, 0.2), per_op_us(import_and_verify, 0.2)
    ctype = load_registry(Settings().specs_dir).by_name("SkillCertificate")
    issuer_key, holder = keys.generate(), keys.generate().public_key()
    status = reference("https://bench.amana.test/status/x", 12345)
    build_us = per_op_us(lambda: issue_vc(ctype, dict(world.SKILL), issuer="https://bench.amana.test",
                                          issuer_key=issuer_key, holder_key=holder, now=1_800_000_000,
                                          valid_for_s=86400, status=status), 0.2)
    return sign_us, verify_us, build_us


def main() -> None:
    args = endtoend.arguments("python -m bench.issuer", __doc__ or "")
    store = "PostgreSQL" if args.pg else "SQLite"
    print(f"bench.issuer: the wallet's whole issuance flow on {store}, {args.flows} flows at batch 1, "
          f"{max(1, args.flows // 10)} at batch 10; {endtoend.load_line()}")
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {max(os.sched_getaffinity(0))})  # in process: one core, the worker's
    with endtoend.node_dir(args.pg) as node:
        data_dir, port, secrets = node
        inside = asyncio.run(_in_process(args, node))
        if hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, {min(os.sched_getaffinity(0) | {0})})  # the client, off the worker's core
        with world.served(data_dir, port, args.pg, data_dir.parent / "node.log") as (pinned, pid):
            http = asyncio.run(_over_http(args, port, secrets, lambda: world.cpu_seconds(pid)))
    sign_us, verify_us, build_us = raw_crypto_us()
    per_credential_ms = (sign_us + verify_us) / 1000
    other = {batch: other_crypto_us(batch) for batch in (1, 10)}
    print(f"HTTP worker {pinned}; raw ES256 sign {sign_us:.0f} us, import a key + verify {verify_us:.0f} us; "
          f"issue_vc (one credential built, schema check included) {build_us:.0f} us; besides signatures "
          f"(the node key's digests and seals, salts, digests: bench.issuer.STEP_CRYPTO), batch 1: "
          + ", ".join(f"{step} {us:.0f} us" for step, us in other[1].items()))
    by_batch = {1: [inside[0], *http[0:2]], 10: [inside[1], *http[2:4]]}
    for batch, phases in by_batch.items():
        crypto_ms = {step: us / 1000 for step, us in other[batch].items()}
        crypto_ms["credential"] += batch * per_credential_ms
        endtoend.print_steps(f"batch {batch}", ISSUE_STEPS, phases, crypto_ms)
    endtoend.print_rates("flows per second (higher is better)", [*by_batch[1], *by_batch[10]], "flows")
    raw_flows = 1000 / per_credential_ms
    print(f"  raw bound, batch 1 (1 sign + 1 import-and-verify per flow){raw_flows:>10.0f} flows/s")
    b1 = max(p.flows_per_s() for p in by_batch[1][1:])
    b10 = max(p.flows_per_s() for p in by_batch[10][1:]) * 10
    print(f"\ntargets (issue 15, {store}): batch 1 over HTTP >= {TARGET_FLOWS} flows/s -> "
          f"{'met' if b1 >= TARGET_FLOWS else 'NOT met'} ({b1:.0f}); batch 10 >= {TARGET_CREDS} credentials/s -> "
          f"{'met' if b10 >= TARGET_CREDS else 'NOT met'} ({b10:.0f})")


if __name__ == "__main__":
    main()
