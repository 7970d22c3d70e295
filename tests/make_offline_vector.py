"""Write tests/vectors/offline/vector.json (and the two keys, once): ``python -m tests.make_offline_vector``.

The credential and disclosures are byte-exact from the keys and the salt seed (Ed25519 issuer
signatures are deterministic). The holder's ECDSA signature is not, so the QR text kept in
the vector is the one made when the vector was written; tests check that it verifies and that
everything except the 64 signature bytes is what ``present`` makes today.
"""

from __future__ import annotations

import json

from core import keys
from core.offline import kb_input, present
from tests.offline_kit import EXP, IAT, NONCE, NOW, SKILL, THREE, VECTOR_DIR, World

T, W = NOW - 30, 120


def main() -> None:
    VECTOR_DIR.mkdir(parents=True, exist_ok=True)
    for name, alg in (("issuer", "EdDSA"), ("holder", "ES256")):
        path = VECTOR_DIR / f"{name}.jwk"
        if not path.exists():  # keys are made once; the vector is rewritten from them
            path.write_text(json.dumps(keys.generate(alg).to_jwk(), indent=2) + "\n", encoding="utf-8")
    world = World()
    cred, disclosures = world.issue()
    shown = [disclosures[name] for name in THREE]
    qr = present(cred, shown, world.holder, T, W, NONCE)
    verified = world.verify(qr)
    vector = {
        "about": "SkillCertificate example, EdDSA issuer (issuer.jwk), P-256 holder (holder.jwk); TEST KEYS ONLY",
        "claims": SKILL, "vct": "SkillCertificate", "status": [7, 42], "iat": IAT, "exp": EXP,
        "salt_seed": "amana offline vector", "credential": cred.hex(),
        "disclosures": {name: d.hex() for name, d in disclosures.items()},
        "disclosed": list(THREE), "t": T, "w": W, "nonce": NONCE.hex(),
        "kb_input": kb_input(T, W, NONCE, cred, shown).hex(),
        "qr": qr, "now": NOW, "issuer_id": "https://issuer.amana.test/issuers/demo-ngo",
        "verified_claims": verified.claims,
    }
    (VECTOR_DIR / "vector.json").write_text(json.dumps(vector, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
