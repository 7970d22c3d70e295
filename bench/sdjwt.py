"""``python -m bench.sdjwt``: SD-JWT issue / present / verify, ours beside the reference.

Prints per-operation times for Amana's ``core.sdjwt`` and the sd-jwt reference
implementation (sd-jwt-python on jwcrypto), measured in the same process on the same
credential, next to the raw cost of the signature operations each operation must do:

- issue: 10 selectively disclosable claims, one ES256 signature;
- present: 3 of them plus a Key Binding JWT, one ES256 signature;
- verify: issuer signature + KB-JWT signature, two ES256 verifications.

Both verifiers get the issuer key already parsed (as a verifier holding a JWKS would);
the holder key arrives in ``cnf.jwk`` and is new to the verifier every time (each
credential copy has its own), so every verify must import it. The raw bound for verify
is therefore one ES256 verify with a known key plus one with a key just imported from
its point: with OpenSSL 3 and later, a key's first use also pays a one-off export to
the provider (about 9 us here), which no caller can avoid. The bound over two known keys
is printed too, and the speed-up a verifier with no overhead at all would reach.
Targets (issue 2): our verify <= 1.3x its raw signature cost, >= 2.5x faster than the reference.
"""

from __future__ import annotations

import json
import math
import timeit
from collections.abc import Callable, Sequence
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from jwcrypto.jwk import JWK
from sd_jwt.common import SDObj
from sd_jwt.holder import SDJWTHolder
from sd_jwt.issuer import SDJWTIssuer
from sd_jwt.verifier import SDJWTVerifier

from bench import pin_to_one_core
from core import keys
from core.sdjwt import KeyBindingPolicy, issue, present, verify

AUD, NONCE, NOW = "https://verifier.example", "bench-nonce", 1_800_000_000
CLAIMS = {f"claim_{i:02d}": f"value number {i}" for i in range(10)}
SHOWN = ["claim_01", "claim_04", "claim_07"]


def per_op_us(fn: Callable[[], object], target_s: float = 0.5) -> float:
    """Microseconds per call: the best of 15 runs, each long enough to time reliably.

    The minimum, as the timeit documentation advises: on a shared machine the slower runs
    measure other processes, not the code.
    """
    return paired_per_op_us([fn], target_s)[0]


def raw_es256(message: bytes) -> list[Callable[[], object]]:
    """The bounds, ``cryptography`` called directly with its argument objects made once: an
    ES256 sign, a verify with a known key, and a verify with a key imported from its point
    (as a verifier meets a holder's key)."""
    curve, ecdsa = ec.SECP256R1(), ec.ECDSA(hashes.SHA256())
    key = ec.generate_private_key(curve)
    signature, pub = key.sign(message, ecdsa), key.public_key()
    point = pub.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return [lambda: key.sign(message, ecdsa), lambda: pub.verify(signature, message, ecdsa),
            lambda: ec.EllipticCurvePublicKey.from_encoded_point(curve, point).verify(signature, message, ecdsa)]


def paired_per_op_us(fns: Sequence[Callable[[], object]], target_s: float = 0.5) -> list[float]:
    """Microseconds per call of each of ``fns``: 15 rounds, each timing every function in turn,
    and the best round of each. This VM's speed drifts by half between runs minutes apart (issue
    15), so figures timed one after the other made their ratios drift too (verify over its raw
    signatures read 1.20x in one run, 1.97x in another); timed in turn, they drift alike."""
    timers, numbers = [timeit.Timer(fn) for fn in fns], []
    for timer in timers:
        number, elapsed = timer.autorange()
        numbers.append(max(1, int(number * target_s / max(elapsed, 1e-9) / 15)))
    best = [math.inf] * len(timers)
    for _ in range(15):
        for at, (timer, number) in enumerate(zip(timers, numbers, strict=True)):
            best[at] = min(best[at], timer.timeit(number) / number)
    return [b * 1e6 for b in best]


def main() -> None:
    pinned = pin_to_one_core()
    issuer, holder = keys.generate("ES256"), keys.generate("ES256")
    issuer_pub = issuer.public_key()
    jw_issuer = JWK.from_json(json.dumps(issuer.to_jwk()))
    jw_issuer_pub = JWK.from_json(json.dumps(issuer_pub.to_jwk()))
    jw_holder = JWK.from_json(json.dumps(holder.to_jwk()))
    payload = {"iss": "https://issuer.example", "iat": NOW, "exp": NOW + 3600, **CLAIMS}
    disclosable = [(name,) for name in CLAIMS]
    expect = KeyBindingPolicy(AUD, NONCE)

    # The shared inputs: one issued credential, one presentation of three claims.
    issued = issue(payload, issuer_key=issuer, disclosable=disclosable, holder_key=holder.public_key())
    shown = present(issued, [(n,) for n in SHOWN], holder_key=holder, audience=AUD, nonce=NONCE, now=NOW)
    ref_claims: dict[Any, Any] = {"iss": payload["iss"], "iat": NOW, "exp": NOW + 3600}
    ref_claims.update({SDObj(k): v for k, v in CLAIMS.items()})

    def ours_issue() -> object:
        return issue(payload, issuer_key=issuer, disclosable=disclosable, holder_key=holder.public_key())

    def ref_issue() -> object:
        return SDJWTIssuer(ref_claims, jw_issuer, jw_holder).sd_jwt_issuance

    def ours_present() -> object:
        return present(issued, [(n,) for n in SHOWN], holder_key=holder, audience=AUD, nonce=NONCE, now=NOW)

    def ref_present() -> object:
        h = SDJWTHolder(issued)
        h.create_presentation({n: True for n in SHOWN}, NONCE, AUD, jw_holder)
        return h.sd_jwt_presentation

    def ours_verify() -> object:
        return verify(shown, issuer_keys=[issuer_pub], now=NOW, key_binding=expect).claims

    def ref_verify() -> object:
        return SDJWTVerifier(shown, lambda _i, _h: jw_issuer_pub, AUD, NONCE).get_verified_payload()

    assert ours_verify() == ref_verify(), "both verifiers must agree before they are timed"

    timed = paired_per_op_us([*raw_es256(shown.split("~")[0].encode()),
                              ours_issue, ref_issue, ours_present, ref_present, ours_verify, ref_verify])
    sign_us, verify_us, new_key_verify_us = timed[:3]
    mine = iter(timed[3:])

    rows = [
        ("issue (10 SD claims)", next(mine), next(mine), sign_us, "1 ES256 sign"),
        ("present (3 claims + KB)", next(mine), next(mine), sign_us, "1 ES256 sign"),
        ("verify (3 claims + KB)", next(mine), next(mine), verify_us + new_key_verify_us,
         "2 ES256 verify, 1 key imported"),
    ]
    print(f"SD-JWT per operation, one core ({pinned}), same credential (raw ES256: sign {sign_us:.1f} us, "
          f"verify {verify_us:.1f} us, import a key and verify {new_key_verify_us:.1f} us)\n")
    print(f"{'operation':<26}{'ours':>10}{'reference':>12}{'speed-up':>10}{'raw bound':>12}{'ours/raw':>10}  raw ops")
    results: dict[str, tuple[float, float, float]] = {}
    for name, o, r, raw, ops in rows:
        results[name] = (o, r, raw)
        print(f"{name:<26}{o:>8.1f}us{r:>10.1f}us{r / o:>9.2f}x{raw:>10.1f}us{o / raw:>9.2f}x  {ops}")
    o, r, raw = results["verify (3 claims + KB)"]
    print(f"\nverify targets: ours/raw {o / raw:.2f}x (target <= 1.30x) -> {'met' if o / raw <= 1.3 else 'NOT met'}; "
          f"speed-up {r / o:.2f}x over the reference (target >= 2.5x) -> {'met' if r / o >= 2.5 else 'NOT met'}")
    print(f"  over two known keys ({2 * verify_us:.1f} us) ours/raw is {o / (2 * verify_us):.2f}x; "
          f"a verifier doing nothing but its signature work would be {r / raw:.2f}x faster than the reference")


if __name__ == "__main__":
    main()
