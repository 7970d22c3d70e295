"""``python -m bench.verifier``: a whole check at the desk, per step, beside its bounds.

What a desk and a holder wait for (issue 15): the desk creates a check (``POST
/api/verifier/checks``, a DCQL query of three claims), the wallet fetches the signed request
object, answers with a presentation of three claims and a KB-JWT (``direct_post``), the desk
reads the result — against the whole node (``bench.world``) on SQLite (or ``--pg URL``):

- **in process**: httpx's ASGI transport, one check after another, this process on one core;
- **HTTP**: one uvicorn worker in its own process pinned to core 1, the wallets here on core 0,
  one check after another, then ``--wallets`` at once;
- beside them a FastAPI request that does nothing (``/bench/noop``), the raw cost of the two
  signature checks a presentation needs (the issuer's ES256 signature with a known key, the
  KB-JWT's with the holder's key just imported from ``cnf``) and of the request object's one
  ES256 signature, and ``core.sdjwt.verify`` on the same presentation (the verification engine,
  no HTTP, no database);
- each step's bound counts all of its own cryptography: the signatures above (and the response's
  two ES256 signatures, the proof of check and the consent receipt), and the rest that
  ``other_crypto_us`` times (key pairs, the encrypted response's ECDH and AES-GCM, the sealed
  verdict).

The check's QR code is not in the flow: creating a check only makes sure its link fits a
version 11 code, and the code is drawn where its answer points (``qr_svg``, ``qr_png``), for a desk
that shows it rather than drawing its own from ``qr_link``; what that drawing costs is printed
beside (``qr_drawn_us``: a new link each time, as each check's is new).

The credentials are issued before the clock starts; the wallet's own work (checking the
request object, making the presentation) is untimed. Targets (issue 15): >= 300 checks/s over
HTTP; each step <= the no-op + its cryptography + 0.3 ms.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from collections.abc import Callable
from typing import Any

from bench import endtoend, world
from bench.endtoend import Phase
from bench.sdjwt import paired_per_op_us, per_op_us, raw_es256
from bench.world import CHECK_STEPS, Times, Wallets
from core import keys

TARGET = 300


async def prepare(wallets: Wallets, n: int) -> list[Any]:
    untimed = Times()
    return [(await wallets.issue(untimed, await wallets.offer(1), 1))[0] for _ in range(n)]


async def flow(wallets: Wallets, times: Times, credential: Any) -> None:
    await wallets.check(times, credential)


async def _in_process(args: Any, node: tuple[Any, int, tuple[str, str]]) -> tuple[Phase, Callable[[], object], str]:
    data_dir, port, secrets = node
    async with endtoend.in_process(data_dir, port, args.pg, secrets) as wallets:
        phase = await endtoend.one_at_a_time("in process", wallets, args.flows, prepare, flow, settle_trust_list=True)
        engine = await _engine(wallets)
        asked = world.json_body({"dcql_query": world.QUERY, "purpose": world.PURPOSE})
        made = await wallets.http.post(f"{wallets.base}/api/verifier/checks", headers={**wallets.desk, **world.JSON},
                                       content=asked)
    return phase, engine, made.json()["qr_link"]


async def _engine(wallets: Wallets) -> Callable[[], object]:
    """``core.sdjwt.verify`` on a presentation of the three claims, the issuer key already parsed."""
    from core.sdjwt import KeyBindingPolicy, present, verify

    credential, holder = (await prepare(wallets, 1))[0]
    now = int(time.time())
    shown = present(credential, [(name,) for name in world.SHOWN], holder_key=holder, audience="aud", nonce="n",
                    now=now)
    jwks = (await wallets.http.get(f"{wallets.base}/.well-known/jwt-vc-issuer/issuers/ngo")).json()
    issuer_keys = [keys.PublicKey.from_jwk(k) for k in jwks["jwks"]["keys"]]
    policy = KeyBindingPolicy("aud", "n")
    return lambda: verify(shown, issuer_keys=issuer_keys, now=now, key_binding=policy).claims


async def _over_http(args: Any, port: int, secrets: tuple[str, str], cpu: Any) -> list[Phase]:
    async with endtoend.over_http(port, secrets) as wallets:
        return [await endtoend.one_at_a_time("HTTP", wallets, args.flows, prepare, flow, cpu=cpu),
                await endtoend.at_once(f"HTTP x{args.wallets}", wallets, args.flows, args.wallets, prepare, flow,
                                       cpu=cpu)]


def raw_and_engine_us(engine: Callable[[], object]) -> list[float]:
    """ES256 sign; verify with a known key; verify with a key imported from its point; and the
    verification engine: timed in turn (``bench.sdjwt.paired_per_op_us``), so their ratio holds."""
    return paired_per_op_us([*raw_es256(b"x" * 700), engine], 0.2)


def qr_drawn_us(link: str) -> float:
    """A check's QR code drawn as the API's ``qr_svg`` draws it, for a link never drawn before (the
    codes are kept for a few links: ``core.qr.make``)."""
    from core import qr
    from verifier.checks import MAX_QR_VERSION

    links = (f"{link[:-6]}{n % 10**6:06d}" for n in itertools.count())  # as long as the check's own
    return per_op_us(lambda: qr.svg(next(links), max_version=MAX_QR_VERSION, standalone=True), 0.2)


def other_crypto_us() -> dict[str, float]:
    """Each step's cryptography besides its signatures, as the libraries do it (cryptography,
    PyNaCl, objects made once), so that the bound counts all of the step's own (issue 15):

    - check: the desk's X25519 key pair for the result; the response's P-256 key pair (HAIP's
      encrypted response, ``direct_post.jwt``), its public point for the Request Object, its
      private half sealed under the node key (AES-256-GCM);
    - response: that private half opened and loaded (its public point computed); the JWE's ECDH-ES
      (the wallet's ephemeral key imported, one exchange, the Concat KDF's hash) and its A256GCM
      decryption (2.5 KB); the verdict sealed to the desk (an X25519 sealed box, 1.5 KB). Its
      signatures, beside: the two checks of the presentation, and two ES256 signatures, the proof
      of check and the consent receipt;
    - result: the sealed box opened."""
    import hashlib
    import os

    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
    from nacl.public import PrivateKey as BoxKey
    from nacl.public import SealedBox

    curve, node, nonce = ec.SECP256R1(), AESGCM(os.urandom(32)), os.urandom(12)
    response_key, wallet_key = ec.generate_private_key(curve), ec.generate_private_key(curve)
    d = response_key.private_numbers().private_value.to_bytes(32, "big")
    sealed_d = node.encrypt(nonce, d, b"context")
    wallet_point = wallet_key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    cek = AESGCM(os.urandom(32))
    jwe_body = cek.encrypt(nonce, os.urandom(2500), b"header")
    desk = BoxKey.generate()
    verdict = SealedBox(desk.public_key).encrypt(os.urandom(1500))

    def new_response_key() -> object:
        key = ec.generate_private_key(curve)
        key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
        return node.encrypt(nonce, key.private_numbers().private_value.to_bytes(32, "big"), b"context")

    def opened_response() -> object:
        key = ec.derive_private_key(int.from_bytes(node.decrypt(nonce, sealed_d, b"context"), "big"), curve)
        shared = key.exchange(ec.ECDH(), ec.EllipticCurvePublicKey.from_encoded_point(curve, wallet_point))
        hashlib.sha256(b"\0\0\0\1" + shared + b"A256GCM").digest()
        return cek.decrypt(nonce, jwe_body, b"header")

    steps: dict[str, list[Callable[[], object]]] = {"check": [BoxKey.generate, new_response_key],
             "response": [opened_response, lambda: SealedBox(desk.public_key).encrypt(os.urandom(1500))],
             "result": [lambda: SealedBox(desk).decrypt(verdict)]}
    timed = paired_per_op_us([fn for fns in steps.values() for fn in fns], 0.2)
    sums: dict[str, float] = {}
    at = 0
    for step, fns in steps.items():
        sums[step], at = sum(timed[at:at + len(fns)]), at + len(fns)
    return sums


def main() -> None:
    args = endtoend.arguments("python -m bench.verifier", __doc__ or "")
    store = "PostgreSQL" if args.pg else "SQLite"
    print(f"bench.verifier: a whole check (3 claims) on {store}, {args.flows} checks per run; {endtoend.load_line()}")
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {max(os.sched_getaffinity(0))})
    with endtoend.node_dir(args.pg) as node:
        data_dir, port, secrets = node
        inside, engine, qr_link = asyncio.run(_in_process(args, node))
        if hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, {min(os.sched_getaffinity(0) | {0})})
        with world.served(data_dir, port, args.pg, data_dir.parent / "node.log") as (pinned, pid):
            http = asyncio.run(_over_http(args, port, secrets, lambda: world.cpu_seconds(pid)))
    sign_us, verify_us, import_verify_us, engine_us = raw_and_engine_us(engine)
    two_us = verify_us + import_verify_us
    other = other_crypto_us()
    print(f"HTTP worker {pinned}; raw ES256 sign {sign_us:.0f} us, verify {verify_us:.0f} us, import a key + "
          f"verify {import_verify_us:.0f} us; besides signatures (key pairs, ECDH, AES-GCM, sealed boxes: "
          f"bench.verifier.other_crypto_us) check {other['check']:.0f} us, response {other['response']:.0f} us, "
          f"result {other['result']:.0f} us")
    phases = [inside, *http]
    endtoend.print_steps("a check", CHECK_STEPS, phases, {
        "check": (sign_us + other["check"]) / 1000, "request": 0.0,
        "response": (two_us + 2 * sign_us + other["response"]) / 1000, "result": other["result"] / 1000})
    endtoend.print_rates("checks per second (higher is better)", phases, "checks")
    response_ms = inside.median_ms("response")
    print(f"\nverifications per second, in process: the direct_post request {1000 / response_ms:.0f}/s "
          f"({response_ms * 1000:.0f} us); core.sdjwt.verify alone {1e6 / engine_us:.0f}/s ({engine_us:.0f} us, "
          f"{engine_us / two_us:.2f}x the raw two signature checks); raw two signature checks "
          f"{1e6 / two_us:.0f}/s ({two_us:.0f} us)")
    print(f"a check's QR code, drawn only for a desk that asks for it (GET qr_svg, not in the flow): "
          f"{qr_drawn_us(qr_link):.0f} us")
    best = max(p.flows_per_s() for p in http)
    print(f"\ntarget (issue 15, {store}): a whole check over HTTP >= {TARGET}/s -> "
          f"{'met' if best >= TARGET else 'NOT met'} ({best:.0f})")


if __name__ == "__main__":
    main()
