"""``python -m bench.qr``: the offline QR (issue 13) beside the plain SD-JWT VC presentation.

For 1, 3 and 6 disclosed SkillCertificate claims with holder binding (example claims, ES256
issuer, P-256 holder, the verifier's nonce), in the same run. The compact credential is the
one the node's issuer signs (``issuer.offline.issue``: its day-rounded times, its status list
named by its number in the organisation), at its largest status entry: list 1 and an index of
the top half of the 2^17-entry list, which CBOR writes in 5 bytes where a lower one takes 3
(half of all credentials; ``LOW_INDEX`` shows the other half):

- offline ``AO1``: presentation bytes (CBOR), QR text characters, QR version at level M,
  verify time (``core.offline.verify``: decode, two signatures, disclosures, window, status
  and replay callbacks answering at once);
- SD-JWT VC (``core.sdjwt``): presentation bytes with KB-JWT, QR version at M (byte mode),
  the same text after zlib + Base45 (what the EU DCC did), and verify time
  (``verify_vc``: two signatures, disclosures, type rules);
- the raw bound: two ES256 verifications with ``cryptography``, the issuer's key known and
  the holder's imported from its compressed point (what any offline verifier must do).

Acceptance (issue 13): 3 claims fit QR version 16 at M or smaller (aim 13).
"""

from __future__ import annotations

import argparse
import json
import timeit
import zlib
from collections.abc import Callable

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from bench import pin_to_one_core
from core import keys, qr
from core.credtypes import load_registry
from core.offline import (
    IssuerKey,
    base45,
    compact_kid,
    parse_credential,
    parse_disclosure,
    parse_issued,
    present,
    verify,
)
from core.offline.credential import compress_p256
from core.sdjwt import KeyBindingPolicy
from core.sdjwt import present as sd_present
from core.sdjwt.vc import issue_vc, verify_vc
from core.settings import REPO_ROOT, get_settings
from core.statuslist import reference
from issuer import offline as issuer_offline
from issuer.revocation import LIST_SIZE

AUD, NOW = "https://verifier.example", 1_800_000_000
NONCE = bytes.fromhex("0123456789abcdef")
SKILL = json.loads((REPO_ROOT / "specs/credentials/SkillCertificate/example.json").read_text())
SHOWN = {1: ["given_name"], 3: ["given_name", "family_name", "skill"],
         6: ["given_name", "family_name", "skill", "assessment_method", "issuing_organisation", "awarded_on"]}
ISSUER = "https://issuer.example/issuers/ngo"
LIST_NUMBER, HIGH_INDEX, LOW_INDEX = 1, LIST_SIZE - 1, 4242
SD_JWT_LIST = "https://issuer.example/status/" + "ab" * 16  # the SD-JWT copies name the list by its id


def per_op_us(fn: Callable[[], object], target_s: float) -> float:
    """Microseconds per call: the best of 7 runs (the minimum: slower runs measure other processes)."""
    timer = timeit.Timer(fn)
    number, elapsed = timer.autorange()
    number = max(1, int(number * target_s / max(elapsed, 1e-9) / 7))
    return min(timer.repeat(repeat=7, number=number)) / number * 1e6


def raw_bound_us(target_s: float) -> float:
    """Two ES256 verifications: one with a known key, one with a key imported from 33 bytes."""
    curve, ecdsa = ec.SECP256R1(), ec.ECDSA(hashes.SHA256())
    key, message = ec.generate_private_key(curve), b"x" * 300
    signature, pub = key.sign(message, ecdsa), key.public_key()
    point = compress_p256(keys.PublicKey.from_jwk({"kty": "EC", "crv": "P-256", **_xy(pub)}))
    known = per_op_us(lambda: pub.verify(signature, message, ecdsa), target_s)
    imported = per_op_us(
        lambda: ec.EllipticCurvePublicKey.from_encoded_point(curve, point).verify(signature, message, ecdsa), target_s)
    return known + imported


def _xy(pub: ec.EllipticCurvePublicKey) -> dict[str, str]:
    from core.encoding import b64url_encode

    numbers = pub.public_numbers()
    return {"x": b64url_encode(numbers.x.to_bytes(32, "big")), "y": b64url_encode(numbers.y.to_bytes(32, "big"))}


def _real_issuer_copy(vct: str, issuer: keys.PrivateKey, holder: keys.PrivateKey, iat: int,
                      idx: int) -> tuple[bytes, dict[str, bytes]]:
    """What the node's issuer hands out (issuer.offline.issue), read back as a wallet does."""
    issued = issuer_offline.issue(vct, SKILL, issuer_key=issuer, holder_key=holder.public_key(), issued_at=iat,
                                  expires_at=iat + 365 * 86400, list_number=LIST_NUMBER, status_idx=idx)
    cred, disclosures = parse_issued(issued)
    ctype = parse_credential(cred).ctype
    return cred, {parse_disclosure(d, ctype)[0]: d for d in disclosures}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target-s", type=float, default=0.5, help="seconds of timing per figure")
    args = parser.parse_args(argv)
    pinned = pin_to_one_core()
    types = load_registry(get_settings().specs_dir)
    ctype = types.by_name("SkillCertificate")
    issuer, holder = keys.generate("ES256"), keys.generate("ES256")
    issuer_pub = issuer.public_key()
    iat = NOW // 86400 * 86400
    cred, disclosures = _real_issuer_copy(ctype.vct, issuer, holder, iat, HIGH_INDEX)
    low_cred, low_disclosures = _real_issuer_copy(ctype.vct, issuer, holder, iat, LOW_INDEX)
    candidates = {compact_kid(issuer_pub): [IssuerKey(issuer_pub, ISSUER)]}
    sd_jwt = issue_vc(ctype, SKILL, issuer=ISSUER, issuer_key=issuer, holder_key=holder.public_key(), now=iat,
                      valid_for_s=365 * 86400, status=reference(SD_JWT_LIST, HIGH_INDEX))
    nonce_text = NONCE.hex()
    policy = KeyBindingPolicy(AUD, nonce_text)
    bound = raw_bound_us(args.target_s)

    print(f"Offline QR vs SD-JWT VC presentation, SkillCertificate with holder binding and nonce; one core "
          f"({pinned}); raw bound (2 ES256 verify, 1 key imported) {bound:.1f} us\n")
    print(f"{'claims':<8}{'AO1 bytes':>10}{'chars':>7}{'QR M':>6}{'verify':>11}{'/raw':>7}   "
          f"{'SD-JWT bytes':>12}{'QR M':>6}{'zlib+b45':>10}{'QR M':>6}{'verify':>11}")
    for count, names in SHOWN.items():
        text = present(cred, [disclosures[n] for n in names], holder, NOW, 120, NONCE)

        def offline_verify(text: str = text) -> object:
            return verify(text, resolve_issuer_key=lambda kid: candidates.get(kid, []),
                          check_accredited=lambda *_: None, status_of=lambda *_: "valid",
                          seen=lambda *_: False, nonce_expected=NONCE, now=NOW)

        shown = sd_present(sd_jwt, [(n,) for n in names], holder_key=holder, audience=AUD, nonce=nonce_text, now=NOW)

        def sd_verify(shown: str = shown) -> object:
            return verify_vc(shown, issuer_keys=[issuer_pub], now=NOW, key_binding=policy, types=types)

        packed = "HC1:" + base45.encode(zlib.compress(shown.encode(), 9))
        ours, theirs = per_op_us(offline_verify, args.target_s), per_op_us(sd_verify, args.target_s)
        print(f"{count:<8}{len(base45.decode(text[4:])):>10}{len(text):>7}{qr.version(text):>6}{ours:>9.1f}us"
              f"{ours / bound:>6.2f}x   {len(shown):>12}{qr.version(shown):>6}{len(packed):>10}"
              f"{qr.version(packed):>6}{theirs:>9.1f}us")
    three = present(cred, [disclosures[n] for n in SHOWN[3]], holder, NOW, 120, NONCE)
    version = qr.version(three)
    low = present(low_cred, [low_disclosures[n] for n in SHOWN[3]], holder, NOW, 120, NONCE)
    print(f"\nwith a status index below 2^16 (half of all credentials), 3 claims: {len(low)} chars, "
          f"version {qr.version(low)}")
    aim = "" if version <= 13 else " (aim 13 not reached: see the spec, §8)"
    print(f"\ntarget: 3 claims with binding at QR version <= 16 at M (aim 13): version {version} -> "
          f"{'met' if version <= 16 else 'NOT met'}{aim}")


if __name__ == "__main__":
    main()
